"""Building the index file (being filled in)."""
