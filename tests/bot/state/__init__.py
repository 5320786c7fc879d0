"""Tests of citebot.bot.state: the question log and feedback store."""
