"""Tests of citebot.index.answering."""
