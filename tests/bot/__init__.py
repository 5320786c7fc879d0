"""Tests of citebot.bot: the settings (settings, settings_table, collections_config, collection_routing);
cli/, discord/ and state/ below mirror the subpackages."""
