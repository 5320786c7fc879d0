"""Tests of citebot.index.indexfile."""
