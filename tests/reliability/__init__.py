"""Cross-cutting end-to-end suites (issue 5): each drives the whole product (the CLI, the index file,
the question log and the bot together), so it belongs to no one module."""
