"""Tests of citebot.bot.discord: the product's bot against the loopback Discord server
(tests/support/discord_server/)."""
