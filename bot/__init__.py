"""citebot.bot: the adapters over `citebot.index`: the CLI (`cli`) and the Discord bot (`discord`),
with the settings (`settings`, `settings_table`, `collections_config`) both read."""
