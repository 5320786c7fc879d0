"""Tests of citebot.index.ranking."""
