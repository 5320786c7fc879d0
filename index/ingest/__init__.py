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

from ..corpus_warnings import CorpusWarning, WarningKind
from .blocks import Block
from .crawl import CrawlLimits, CrawlResult, SiteSource, crawl_sources
from .documents import Document, discover_files, parse_document
from .fetch import FetchOptions, WebSource, is_url
from .files import UnreadableDocument
from .loading import load_document
from .passages import Citation, Passage, PassageParams, split_document
from .source_rules import SourceRules

__all__ = [
    "Block",
    "Citation",
    "CorpusWarning",
    "CrawlLimits",
    "CrawlResult",
    "Document",
    "FetchOptions",
    "Passage",
    "PassageParams",
    "SiteSource",
    "SourceRules",
    "UnreadableDocument",
    "WarningKind",
    "WebSource",
    "crawl_sources",
    "discover_files",
    "is_url",
    "load_document",
    "parse_document",
    "split_document",
]
