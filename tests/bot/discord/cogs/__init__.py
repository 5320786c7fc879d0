"""Tests of citebot.bot.discord.cogs, through the running bot."""
