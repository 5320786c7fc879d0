"""The Discord side: the client (`client.build_bot`), `citebot run` (`runner`), the cogs, and what
they need: rendering within Discord's limits, conversations, cooldowns, live collections and
the refresh loop. Everything here is a thin adapter over `citebot.index`."""
