"""Tests of citebot.index.ingest."""
