"""Tests of citebot.index.build."""
