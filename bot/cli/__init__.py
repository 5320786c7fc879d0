"""The `citebot` command (`main`), and what it shares with `citebot run`: building and opening
the configured index with progress on the terminal (`building`), and text rendering."""
