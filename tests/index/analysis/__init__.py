"""Tests of citebot.index.analysis."""
