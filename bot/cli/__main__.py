"""`python -m citebot.bot.cli`: the `citebot` command without its installed script."""

import sys

from .main import main

sys.exit(main())
