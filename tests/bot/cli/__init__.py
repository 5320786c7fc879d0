"""Tests of citebot.bot.cli: the `citebot` command (test_main*.py: one file per kind of source or
command), `citebot chat`."""
