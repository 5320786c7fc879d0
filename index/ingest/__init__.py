"""Ingestion: files, web pages and whole sites into `Document`s, and documents into passages.

- `loading.load_document`: one corpus file (.txt, .md, .html, .pdf, .docx) into a Document;
  `documents` (plain text and the layout rules: title, byline, sections, numbered blocks),
  `markdown`, `html` (main-content extraction, `comment_sections`), `pdf`, `docx` are the readers;
  `files`, `textdecode` and `normalize` read bytes into normalised text; `blocks` are what they
  produce.
- `fetch` (single URLs, politely, never the inside network), `crawl` and `sitemaps` (whole sites).
- `passages.split_document`: a document into the passages that are ranked, shown and cited.
- `source_rules` (corpus.exclude and corpus.weights), `source_names` (how a file is named to
  people), `corpus_warnings` (what a build could not use, as typed records).
"""

from __future__ import annotations

import importlib
from typing import Any

# Each name is imported from its module on first use (PEP 562), not here: a process that only
# serves answers needs `passages`, and importing the readers and the crawler with it (markdown-it,
# the HTTP client) cost ~0.1 s of every start-up.
_HOMES = {
    "CorpusWarning": "..corpus_warnings",
    "WarningKind": "..corpus_warnings",
    "Block": ".blocks",
    "CrawlLimits": ".crawl",
    "CrawlResult": ".crawl",
    "SiteSource": ".crawl",
    "crawl_sources": ".crawl",
    "Document": ".documents",
    "discover_files": ".documents",
    "parse_document": ".documents",
    "FetchOptions": ".fetch",
    "WebSource": ".fetch",
    "is_url": ".fetch",
    "UnreadableDocument": ".files",
    "load_document": ".loading",
    "Citation": ".passages",
    "Passage": ".passages",
    "PassageParams": ".passages",
    "split_document": ".passages",
    "SourceRules": ".source_rules",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = sorted(_HOMES)
