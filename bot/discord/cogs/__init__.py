"""Discord extensions, each loaded by `CitebotBot.setup_hook` through its `setup(bot)`."""
