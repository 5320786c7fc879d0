"""The index file's schema and its self-description (`meta`): what a file of this version holds.

The reader refuses a file whose `PRAGMA user_version` or `application_id` differ (see
`reader._check_header`); the incremental build refuses to patch one whose shaping entries differ
(`shaping_meta`).
"""

from __future__ import annotations

import time

SCHEMA_VERSION = 9  # 2: sentence_terms; 3: files, per-document build facts, passage_rows; 4: no analysis_cache;
# 5: context_terms; 6: no documents.text (never read: 0.7 GB of 2.4 at a million passages);
# 7: documents.encoding; 8: passages.page_first, page_last; 9: documents.weight
APPLICATION_ID = 0x43495445  # "CITE": marks the file as ours in the SQLite header

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, path TEXT NOT NULL, title TEXT NOT NULL,
    author TEXT, author_bio TEXT, url TEXT, date TEXT, kind TEXT NOT NULL,
    encoding TEXT,  -- what the file or page was read in ("utf-8", "cp1252", ...); NULL: not read from bytes
    -- What an incremental reindex needs to reuse the document without reading it again: its
    -- place in the build order, how many passages it has, the acronym definitions it holds
    -- (JSON), its expanded body terms and its sentences (for avg_sentence_terms).
    ord INTEGER NOT NULL, n_passages INTEGER NOT NULL, definitions TEXT, body_terms INTEGER,
    n_sentences INTEGER,
    -- corpus.weights: multiplies the scores of the document's passages (`source_weights`);
    -- set after the rows are in, so a change of weights rewrites only this column.
    weight REAL NOT NULL DEFAULT 1.0
);
-- The corpus files as last read (stat before reading), so a reindex can tell unchanged ones.
CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                    doc_hash TEXT NOT NULL);
CREATE TABLE passages (
    idx INTEGER PRIMARY KEY, id TEXT NOT NULL, doc_id INTEGER NOT NULL REFERENCES documents(id),
    ordinal INTEGER NOT NULL, text TEXT NOT NULL, section TEXT, para_first INTEGER NOT NULL,
    para_last INTEGER NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    sentences TEXT NOT NULL, sentence_terms TEXT,
    context_terms TEXT,  -- the context's terms (title, section), space-separated, as the re-rank needs them
    page_first INTEGER, page_last INTEGER  -- the pages it is printed on (a PDF's); NULL: no pages
);
CREATE TABLE acronyms (short TEXT PRIMARY KEY, long TEXT NOT NULL);
CREATE TABLE bm25_arrays (name TEXT PRIMARY KEY, dtype TEXT NOT NULL, data BLOB NOT NULL);
"""

# The passages' lookup indexes (by id; by document, for the reindex and /source), made once
# every row is in (`IndexFileWriter.index_passages`): one sorted build instead of a random
# B-tree insert per row (passage ids are hashes), 2 s of the build's busiest process at a
# million passages.
PASSAGE_INDEXES = """
CREATE UNIQUE INDEX passages_id ON passages (id);
CREATE INDEX passages_doc ON passages (doc_id, ordinal);
"""

DOCUMENT_COLUMNS = 15  # the columns a build writes per row (`weight` is set after, by source_weights)
DOCUMENT_INSERT = (
    "INSERT INTO documents (id, hash, path, title, author, author_bio, url, date, kind, encoding, ord, "
    f"n_passages, definitions, body_terms, n_sentences) VALUES ({','.join('?' * DOCUMENT_COLUMNS)})"
)
PASSAGE_COLUMNS = 15


def shaping_meta(params, analyzer_version: str, code_fingerprint: str) -> dict[str, str]:
    """The `meta` entries for everything that shapes an index's content: an index whose
    entries all equal these can be updated in place of a rebuild (`incremental`)."""
    return {
        "analyzer_version": analyzer_version,
        "code_fingerprint": code_fingerprint,
        "k1": repr(params.bm25.k1),
        "b": repr(params.bm25.b),
        "max_words": str(params.passages.max_words),
        "join_below": str(params.passages.join_below),
        "context_weight": str(params.context_weight),
    }


def index_meta(
    params,
    analyzer_version: str,
    code_fingerprint: str,
    fingerprint: str,
    generation: int,
    documents: int,
    passages: int,
    terms: int,
    seconds: float,
    avg_sentence_terms: float,
) -> dict[str, str]:
    """The `meta` table: what the file describes itself with (see reader._check_header)."""
    return {
        "schema_version": str(SCHEMA_VERSION),
        **shaping_meta(params, analyzer_version, code_fingerprint),
        "fingerprint": fingerprint,
        "built_at": repr(time.time()),
        "generation": str(generation),
        "documents": str(documents),
        "passages": str(passages),
        "terms": str(terms),
        "build_seconds": f"{seconds:.3f}",
        "avg_sentence_terms": repr(avg_sentence_terms),
    }
