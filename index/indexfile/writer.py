"""Writing an index file: a new one row by row (`IndexFileWriter`), or a copy patched (`IndexFilePatch`).

The full build (`build.full`) writes each document's rows as soon as a worker has analysed
it, so a million passages never sit in memory; the incremental build (`build.incremental`)
patches a copy of the previous file. Either file is a private temporary one: no journal, no
fsync until `swap.install` moves it into place.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .array_rows import insert_array, insert_bytes
from .schema import APPLICATION_ID, DOCUMENT_INSERT, PASSAGE_COLUMNS, PASSAGE_INDEXES, SCHEMA, SCHEMA_VERSION

# SQLite's largest page. The BM25 posting BLOBs (hundreds of MB at a million passages) are chains
# of overflow pages that a reader walks once at open (`postings.BlobPostings.warm`); 64 KB pages
# make that chain 16 times shorter than the 4 KB default.
PAGE_SIZE = 65536


class IndexFileWriter:
    """A new, private index file being written. Use as a context manager: the connection is
    closed whatever happens; the caller removes the file if the build fails."""

    def __init__(self, path: Path) -> None:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.path = path
        # (`index_passages` may run on another thread; never two statements at once)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -65536")
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self.db.executescript(SCHEMA)
        self.db.execute("BEGIN")
        self._indexing: threading.Thread | None = None
        self._indexing_error: BaseException | None = None

    def __enter__(self) -> IndexFileWriter:
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
        self._indexing = self._start_indexing()

    def _start_indexing(self) -> threading.Thread:
        """The started thread of `index_passages`."""

        def run() -> None:
            try:
                for statement in PASSAGE_INDEXES.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
            except BaseException as exc:  # handed to `finish`, which raises it
                self._indexing_error = exc

        thread = threading.Thread(target=run, name="index-passages", daemon=True)
        thread.start()
        return thread

    def _wait_for_indexes(self) -> None:
        indexing = self._indexing
        if indexing is None:
            indexing = self._indexing = self._start_indexing()
        indexing.join()
        if self._indexing_error is not None:
            raise self._indexing_error

    def finish(
        self,
        arrays: Mapping[str, np.ndarray],
        passage_rows: np.ndarray,
        acronyms: Iterable[tuple[str, str]],
        files: Iterable[tuple[str, int, int, str]],
        meta: Mapping[str, str],
    ) -> None:
        """Write the BM25 arrays, the position -> row map, acronyms, file states and meta; commit."""
        self._wait_for_indexes()
        for name, value in arrays.items():
            if value.dtype.kind in "OUS":
                insert_bytes(self.db, name, "json", json.dumps(value.tolist()).encode())
            else:
                insert_array(self.db, name, value)
        insert_array(self.db, "passage_rows", passage_rows.astype(np.uint32))
        self.db.executemany("INSERT INTO acronyms VALUES (?, ?)", acronyms)
        self.db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)", files)
        self.db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        self.db.commit()
