"""The incremental build's access to the index file: what it reads of the previous file, and
the patched copy it writes (`IndexFilePatch`). The policy (what changed, what to keep) stays
in `build.incremental`; every statement on the file is here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .array_rows import insert_array, insert_bytes, join_rows, read_array
from .schema import DOCUMENT_INSERT, PASSAGE_COLUMNS, SCHEMA_VERSION


@dataclass
class StoredDocument:
    """A document row of an index file, with what reusing it without reading it again needs."""

    id: int
    hash: str
    path: str
    order: int
    n_passages: int
    definitions: list[tuple[str, str]]
    body_terms: int
    n_sentences: int
    encoding: str | None


@dataclass(frozen=True)
class PreviousIndex:
    """What the incremental build reads of the index it would patch."""

    meta: dict[str, str]
    documents: dict[str, StoredDocument]  # by content hash
    files: dict[str, tuple[int, int, str]]  # path -> (size, mtime_ns, document hash)


def read_previous(db_path: Path, shaping: Mapping[str, str]) -> PreviousIndex | None:
    """The index at `db_path` as the incremental build needs it, or None when it cannot be
    reused: missing, damaged, another schema, meta entries other than `shaping`
    (`schema.shaping_meta` of this build), or written without the facts an update needs."""
    if not db_path.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                return None
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            if any(meta.get(k) != v for k, v in shaping.items()):
                return None
            docs: dict[str, StoredDocument] = {}
            for row in conn.execute(
                "SELECT id, hash, path, ord, n_passages, definitions, body_terms, n_sentences, encoding FROM documents"
            ):
                if row[5] is None or row[6] is None or row[7] is None:
                    return None  # written by a build that did not record them
                docs[row[1]] = StoredDocument(
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    [tuple(d) for d in json.loads(row[5])],
                    row[6],
                    row[7],
                    row[8],
                )
            files = {
                path: (size, mtime, h)
                for path, size, mtime, h in conn.execute("SELECT path, size, mtime_ns, doc_hash FROM files")
            }
    except (sqlite3.Error, ValueError, TypeError):
        return None
    return PreviousIndex(meta, docs, files)


def read_acronym_rows(db_path: Path) -> list[tuple[str, str]]:
    """The (short, long) rows of the index at `db_path`."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT short, long FROM acronyms").fetchall()


class IndexFilePatch:
    """A private copy of an index file, patched in place, committed by `commit`. Use as a
    context manager: the connection is closed whatever happens (the caller's `swap.replacing`
    removes the file if the update fails)."""

    def __init__(self, previous: Path, tmp: Path) -> None:
        shutil.copyfile(previous, tmp)
        os.chmod(tmp, 0o600)
        self.path = tmp
        self.db = sqlite3.connect(tmp)
        self.db.execute("PRAGMA journal_mode = OFF")  # a private copy, swapped in only when complete
        self.db.execute("PRAGMA synchronous = OFF")

    def __enter__(self) -> IndexFilePatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def arrays(self) -> dict[str, tuple[str, bytes]]:
        """The stored BM25 arrays: name -> (dtype, bytes), undecoded, an array's pieces joined."""
        return join_rows(self.db.execute("SELECT name, dtype, data FROM bm25_arrays"))

    def passage_rows(self) -> np.ndarray:
        """The stored BM25 position -> passages.idx map."""
        stored = read_array(self.db, "passage_rows")
        if stored is None:
            raise ValueError("the index has no passage_rows array")
        dtype, data = stored
        return np.frombuffer(data, dtype=np.dtype(dtype)).astype(np.int64)

    def remove_documents(self, doc_ids: Iterable[int]) -> None:
        """Delete these documents and their passages."""
        for doc_id in doc_ids:
            self.db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    def next_ids(self) -> tuple[int, int]:
        """The next free document id and passages.idx."""
        next_doc = (self.db.execute("SELECT MAX(id) FROM documents").fetchone()[0] or 0) + 1
        # COALESCE, not `or`: a kept index of one passage has MAX(idx) = 0, which `or` took for none.
        next_row = self.db.execute("SELECT COALESCE(MAX(idx), -1) FROM passages").fetchone()[0] + 1
        return next_doc, next_row

    def add_document(self, row: Sequence, passages: Sequence[Sequence]) -> None:
        """One `documents` row (`schema.DOCUMENT_COLUMNS` values) and its `passages` rows."""
        self.db.execute(DOCUMENT_INSERT, row)
        self.db.executemany(f"INSERT INTO passages VALUES ({','.join('?' * PASSAGE_COLUMNS)})", passages)

    def set_orders(self, orders: Iterable[tuple[int, int]]) -> None:
        """(build order, document id) pairs."""
        self.db.executemany("UPDATE documents SET ord = ? WHERE id = ?", orders)

    def replace_files(self, states: Iterable[tuple[str, int, int, str]]) -> None:
        """The file states, all of them anew."""
        self.db.execute("DELETE FROM files")
        self.db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)", states)

    def replace_arrays(self, arrays: Mapping[str, np.ndarray | tuple[str, bytes]]) -> None:
        """The BM25 arrays, all of them anew: numpy arrays, or (dtype, bytes) kept as stored."""
        self.db.execute("DELETE FROM bm25_arrays")
        for name, value in arrays.items():
            if isinstance(value, np.ndarray):
                insert_array(self.db, name, value)
            else:
                insert_bytes(self.db, name, *value)

    def set_meta(self, entries: Mapping[str, str]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(entries.items()))

    def commit(self) -> None:
        self.db.commit()
