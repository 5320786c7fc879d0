"""Tests of citebot.index: one folder per subpackage, and here the top-level modules (gaps,
corpus_warnings, file_guard)."""
