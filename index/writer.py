"""Writing a new index file: the schema, rows as a build produces them, arrays and meta last.

Both builds use it: the streaming build of `citebot index` (`filebuild.py`), which writes each
document's rows as soon as a worker has analysed it so a million passages never sit in memory,
and `store.write_index`, which writes an index already built in memory. The file is a private
temporary one: no journal, no fsync until `store.install` moves it into place.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

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
DOCUMENT_INSERT = ("INSERT INTO documents (id, hash, path, title, author, author_bio, url, date, kind, encoding, ord, "
                   f"n_passages, definitions, body_terms, n_sentences) VALUES ({','.join('?' * DOCUMENT_COLUMNS)})")
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


def index_meta(params, analyzer_version: str, code_fingerprint: str, fingerprint: str, generation: int,
               documents: int, passages: int, terms: int, seconds: float, avg_sentence_terms: float) -> dict[str, str]:
    """The `meta` table: what the file describes itself with (see store._check_header)."""
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


def encode_array(value: np.ndarray) -> tuple[str, memoryview]:
    """(dtype, bytes) of a numeric array as `bm25_arrays` stores it; the bytes are a view of
    the array (SQLite copies them once; `tobytes` would add a second copy, 240 MB of
    postings at a million passages)."""
    return value.dtype.str, memoryview(np.ascontiguousarray(value)).cast("B")


# Arrays larger than this are written into a zeroblob piece by piece: SQLite copies a bound
# blob whole before writing it, which at a million passages put 240 MB on the build's peak.
_BLOB_PIECE = 16 << 20


def insert_array(db: sqlite3.Connection, name: str, value: np.ndarray) -> None:
    """Store one numeric array in `bm25_arrays` (see `encode_array`)."""
    dtype, data = encode_array(value)
    if len(data) <= _BLOB_PIECE:
        db.execute("INSERT INTO bm25_arrays VALUES (?, ?, ?)", (name, dtype, data))
        return
    row = db.execute("INSERT INTO bm25_arrays VALUES (?, ?, zeroblob(?))", (name, dtype, len(data))).lastrowid
    with db.blobopen("bm25_arrays", "data", row) as blob:
        for at in range(0, len(data), _BLOB_PIECE):
            blob.write(data[at:at + _BLOB_PIECE])


class IndexFileWriter:
    """A new, private index file being written. Use as a context manager: the connection is
    closed whatever happens; the caller removes the file if the build fails."""

    def __init__(self, path: Path) -> None:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.path = path
        # (`index_passages` may run on another thread; never two statements at once)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -65536")
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self.db.executescript(SCHEMA)
        self.db.execute("BEGIN")
        self._indexing: threading.Thread | None = None
        self._indexing_error: BaseException | None = None

    def __enter__(self) -> "IndexFileWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._indexing is not None:
            self._indexing.join()  # (closing under a running statement would fail it)
        self.db.close()

    def add_documents(self, rows: Iterable[Sequence]) -> None:
        """`documents` rows (DOCUMENT_COLUMNS values each)."""
        self.db.executemany(DOCUMENT_INSERT, rows)

    def add_passages(self, rows: Iterable[Sequence]) -> None:
        """`passages` rows (PASSAGE_COLUMNS values each)."""
        self.db.executemany(f"INSERT INTO passages VALUES ({','.join('?' * PASSAGE_COLUMNS)})", rows)

    def set_body_terms(self, rows: Iterable[tuple[int, int]]) -> None:
        """(body_terms, document id) pairs, known only once acronyms are learned."""
        self._wait_for_indexes()
        self.db.executemany("UPDATE documents SET body_terms = ? WHERE id = ?", rows)

    def index_passages(self) -> None:
        """Start making the passages' indexes on another thread, once every passage is in:
        SQLite works without the GIL, so this overlaps with the BM25 arrays being computed.
        No other call may use the writer until `finish`, which waits for it."""
        def run() -> None:
            try:
                for statement in PASSAGE_INDEXES.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
            except BaseException as exc:  # handed to `finish`, which raises it
                self._indexing_error = exc

        self._indexing = threading.Thread(target=run, name="index-passages", daemon=True)
        self._indexing.start()

    def _wait_for_indexes(self) -> None:
        if self._indexing is None:
            self.index_passages()
        self._indexing.join()  # type: ignore[union-attr]
        if self._indexing_error is not None:
            raise self._indexing_error

    def finish(self, arrays: Mapping[str, np.ndarray], passage_rows: np.ndarray, acronyms: Iterable[tuple[str, str]],
               files: Iterable[tuple[str, int, int, str]], meta: Mapping[str, str]) -> None:
        """Write the BM25 arrays, the position -> row map, acronyms, file states and meta; commit."""
        self._wait_for_indexes()
        for name, value in arrays.items():
            if value.dtype.kind in "OUS":
                self.db.execute("INSERT INTO bm25_arrays VALUES (?, ?, ?)",
                                (name, "json", json.dumps(value.tolist()).encode()))
            else:
                insert_array(self.db, name, value)
        insert_array(self.db, "passage_rows", passage_rows.astype(np.uint32))
        self.db.executemany("INSERT INTO acronyms VALUES (?, ?)", acronyms)
        self.db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)", files)
        self.db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        self.db.commit()
