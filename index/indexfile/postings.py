"""BM25 posting lists read from the index file on demand (`BlobPostings`).

A serving process used to copy the `doc_ids` and `tfs` BLOBs into memory when it opened the index:
at a million passages 420 MB, most of its resident memory and most of its start-up. A question
reads the lists of its few terms only, so they are read from the file when asked for, through
SQLite's incremental BLOB I/O, and the most recently used ones are kept (`CACHE_BYTES`).

The file stays one SQLite file, replaced whole by each build (`swap`); the open BLOB handles pin
the file this reader opened, as the reader's connection already did.

A BLOB larger than a page is a chain of overflow pages, and SQLite finds an offset in it by
walking the chain, which it then remembers for the handle's lifetime. `warm` walks every chain
once (reading the last posting of each), at open, so no question pays for it: at a million
passages 0.12-0.25 s with SQLite's default 4 KB pages, 0.05 s with the 64 KB pages index files are
written with (`writer.PAGE_SIZE`).

An array over 256 MB is stored as several rows (`array_rows`: one SQLite value holds at most
1 GB), each opened as a handle of its own (`_PiecedBlob`); a list that spans two pieces is read in
two parts and joined, one copy of a few KB for the rare list that does.

Every list is validated as it is read (`ranking.postings.check_list`) before the compiled
MaxScore walks it; a damaged one raises `CorruptIndexError` with the usual advice to reindex.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import CorruptIndexError
from ..ranking.postings import check_list

# Bytes of posting lists kept after a question read them (least recently used dropped first).
# A common term's list at a million passages is ~2-3 MB; 32 MB keeps the frequent ones.
CACHE_BYTES = 32 << 20

_DOC_DTYPE = np.dtype("<u4")
_TF_DTYPES = (np.dtype("<u2"), np.dtype("<u4"))


class BlobPostings:
    """The `doc_ids` and `tfs` arrays of an index file's `bm25_arrays`, read per term on demand.

    Reads go through `conn` under `lock` (the reader's connection and lock: one SQLite
    connection is never used by two threads at once). Implements `ranking.postings.PostingLists`.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.Lock,
        path: Path,
        stored: dict[str, tuple[str, list[int]]],
        n_docs: int,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        """`stored` maps "doc_ids" and "tfs" to their (dtype, rowids of their pieces in order)
        in `bm25_arrays` (`array_rows.grouped_rows`)."""
        self._lock = lock
        self._path = path
        self._n_docs = n_docs
        self._cache: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0
        try:
            (doc_dtype, doc_rows), (tf_dtype, tf_rows) = stored["doc_ids"], stored["tfs"]
        except KeyError as exc:
            raise self._damaged(f"no {exc.args[0]} array") from None
        if doc_dtype != _DOC_DTYPE.str or tf_dtype not in {d.str for d in _TF_DTYPES}:
            raise self._damaged(f"postings stored as {doc_dtype} and {tf_dtype}")
        self._tf_dtype = np.dtype(tf_dtype)
        self._docs = _PiecedBlob(conn, doc_rows, _DOC_DTYPE.itemsize)
        try:
            self._tfs = _PiecedBlob(conn, tf_rows, self._tf_dtype.itemsize)
        except BaseException:
            self._docs.close()
            raise
        self._size = self._docs.size
        problem = self._docs.problem or self._tfs.problem
        if problem is None and self._tfs.size != self._size:
            problem = f"{self._size:,} doc ids but {self._tfs.size:,} term frequencies"
        if problem is not None:
            self.close()
            raise self._damaged(problem)

    @property
    def size(self) -> int:
        return self._size

    def _damaged(self, what: str) -> CorruptIndexError:
        return CorruptIndexError(f"{self._path} is damaged (BM25 postings: {what}); run 'citebot index' to rebuild it")

    def _read_locked(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Postings [lo, hi) straight from the file; the caller holds the lock."""
        if not 0 <= lo <= hi <= self._size:
            raise self._damaged(f"postings {lo}-{hi} asked of {self._size}")
        try:
            docs = self._docs.read(lo, hi)
            tfs = self._tfs.read(lo, hi)
        except sqlite3.ProgrammingError as exc:  # the handles were closed: a use after close
            raise RuntimeError(f"the index {self._path} was closed") from exc
        except sqlite3.Error as exc:
            raise self._damaged(str(exc)) from exc
        return np.frombuffer(docs, dtype=_DOC_DTYPE), np.frombuffer(tfs, dtype=self._tf_dtype)

    def read(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """One term's (doc_ids, tfs), from the cache or the file; checked when read from the file."""
        key = (lo, hi)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            docs, tfs = self._read_locked(lo, hi)
        problem = check_list(docs, tfs, self._n_docs)
        if problem is not None:
            raise self._damaged(f"postings {lo}-{hi}: {problem}")
        size = docs.nbytes + tfs.nbytes
        if size <= self._cache_bytes:
            with self._lock:
                if key not in self._cache:
                    self._cache[key] = (docs, tfs)
                    self._cached += size
                while self._cached > self._cache_bytes:
                    _, (old_docs, old_tfs) = self._cache.popitem(last=False)
                    self._cached -= old_docs.nbytes + old_tfs.nbytes
        return docs, tfs

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        """Both arrays entire, unchecked (saving or comparing an index; not on the question path)."""
        with self._lock:
            return self._read_locked(0, self._size)

    def warm(self) -> None:
        """Walk both arrays' overflow chains once (read the last posting of every piece), so that
        reading any list later seeks straight to it."""
        with self._lock:
            try:
                self._docs.warm()
                self._tfs.warm()
            except sqlite3.Error as exc:
                raise self._damaged(str(exc)) from exc

    def close(self) -> None:
        """Close the BLOB handles (before the connection is closed); idempotent."""
        self._docs.close()
        self._tfs.close()
        self._cache.clear()
        self._cached = 0


class _PiecedBlob:
    """One array stored as one or more `bm25_arrays` rows (`array_rows`), read as one: every
    piece but the last holds the same whole number of elements, so element `i` is in piece
    `i // per_piece`. A range within one piece (nearly every posting list) is one read."""

    def __init__(self, conn: sqlite3.Connection, rowids: list[int], itemsize: int) -> None:
        self._itemsize = itemsize
        self._blobs: list[sqlite3.Blob] = []
        try:
            for rowid in rowids:
                self._blobs.append(conn.blobopen("bm25_arrays", "data", rowid, readonly=True))
        except BaseException:
            self.close()
            raise
        lengths = [len(b) for b in self._blobs] or [0]
        self._per_piece = max(lengths[0] // itemsize, 1)
        self.size = sum(lengths) // itemsize
        # Why the file cannot be read as postings, or None; `BlobPostings` raises it.
        self.problem: str | None = None
        if any(n % itemsize for n in lengths):
            self.problem = f"pieces of {lengths} bytes, not whole {itemsize}-byte elements"
        elif any(n != self._per_piece * itemsize for n in lengths[:-1]) or lengths[-1] > self._per_piece * itemsize:
            self.problem = f"pieces of unequal lengths {lengths}"

    def read(self, lo: int, hi: int) -> bytes:
        """The bytes of elements [lo, hi), 0 <= lo <= hi <= size."""
        size, per = self._itemsize, self._per_piece
        parts = []
        while lo < hi:
            piece, at = divmod(lo, per)
            n = min(hi - lo, per - at)
            blob = self._blobs[piece]
            blob.seek(at * size)
            parts.append(blob.read(n * size))
            lo += n
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def warm(self) -> None:
        """Read the last element of every piece (each piece's handle then knows its chain)."""
        for blob in self._blobs:
            if len(blob) >= self._itemsize:
                blob.seek(len(blob) - self._itemsize)
                blob.read(self._itemsize)

    def close(self) -> None:
        for blob in self._blobs:
            blob.close()
