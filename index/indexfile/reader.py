"""Reading the index file: its self-description (`read_info`), and an open index (`IndexReader`).

The file is replaced whole by each build (`swap`); a reader keeps the file it opened until it
reopens. The file describes itself (a `meta` table and `PRAGMA user_version`), so an index written by an
incompatible citebot is refused with a message to reindex instead of answering wrongly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiosqlite
import numpy as np
from numpy.typing import ArrayLike

from ..analysis import ANALYZER_VERSION, AcronymMap, decode_sentence_terms
from ..errors import CorruptIndexError, IncompatibleIndexError, IndexMissingError
from ..file_guard import describe, read_header
from ..ingest.passages import Citation, Passage
from ..ingest.source_names import META_KEY as ROOTS_META_KEY
from ..ingest.source_names import decode_roots, shown_name
from ..ranking.bm25 import BM25Index
from . import tables
from .array_rows import grouped_rows, join_rows, rows_of
from .postings import BlobPostings
from .schema import APPLICATION_ID, SCHEMA_VERSION
from .tables import load_weights


@dataclass(frozen=True)
class StoredPassage:
    """A passage read back from the index, with the sentence spans used for answering."""

    index: int
    passage: Passage
    sentences: tuple[tuple[int, int], ...]
    # Each sentence's terms before acronym expansion, as analysed at index time (None: unknown).
    sentence_terms: tuple[tuple[str, ...], ...] | None = None
    # The context's (title, section) terms before acronym expansion, likewise.
    context_terms: tuple[str, ...] | None = None


@dataclass(frozen=True)
class IndexInfo:
    """What `meta` says about an index; shown by `citebot index` and `/stats`."""

    path: Path
    documents: int
    passages: int
    terms: int
    generation: int
    built_at: float
    fingerprint: str
    analyzer_version: str
    k1: float
    b: float
    meta: dict[str, str]


def read_generation(db_path: Path) -> int:
    """The generation of the index at `db_path`, or 0 when there is none readable."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            return int(row[0]) if row else 0
    except (sqlite3.Error, ValueError):
        return 0


def _decode_arrays(rows: Sequence[tuple[str, str, bytes]]) -> dict[str, ArrayLike]:
    """The `bm25_arrays` rows by array name (pieces joined): numeric arrays in place, the others as the JSON lists
    `IndexFileWriter.finish` stored (`BM25Index.from_arrays` takes either)."""
    return {
        name: json.loads(data) if dtype == "json" else np.frombuffer(data, dtype=np.dtype(dtype))
        for name, (dtype, data) in join_rows(rows).items()
    }


async def _fetchall(db: aiosqlite.Connection, sql: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
    """`db.execute_fetchall`, typed as what it returns: aiosqlite annotates it Iterable[Row], but
    it returns cursor.fetchall()'s list, of plain tuples (the connection sets no row_factory)."""
    return cast(list[tuple[Any, ...]], await db.execute_fetchall(sql, parameters))


# ---------------------------------------------------------------------------------------------
# Reading


def _check_header(conn: sqlite3.Connection, db_path: Path) -> dict[str, str]:
    """Refuse files that are not our index or come from another schema or analyser version."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        if app != APPLICATION_ID:
            raise CorruptIndexError(
                f"{db_path} is not a citebot index; point --db or index.db at an index file, or build one "
                f"at a new path with 'citebot index --db NEW_PATH'"
            )
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise CorruptIndexError(
            f"{db_path} is damaged or not a citebot index ({exc}); run 'citebot index' to rebuild it"
        ) from exc
    if version != SCHEMA_VERSION or meta.get("analyzer_version") != ANALYZER_VERSION:
        raise IncompatibleIndexError(
            f"{db_path} was built by an incompatible citebot (schema {version}, analyser "
            f"{meta.get('analyzer_version')!r}; this one needs schema {SCHEMA_VERSION}, analyser "
            f"{ANALYZER_VERSION!r}); run 'citebot index' to rebuild it"
        )
    return meta


def _connect_ro(db_path: Path) -> sqlite3.Connection:
    if not db_path.exists():
        raise IndexMissingError(f"no index at {db_path}; run 'citebot index' to build one")
    header = read_header(db_path)
    if header.empty:
        raise IndexMissingError(f"no index at {db_path} (the file is empty); run 'citebot index' to build one")
    if not (header.is_sqlite and header.application_id == APPLICATION_ID):
        # Not ours: never suggest 'rebuild it', which would mean replacing somebody's file.
        raise CorruptIndexError(
            f"{db_path} is not a citebot index ({describe(db_path, header)}); point --db or index.db at an "
            f"index file, or build one at a new path with 'citebot index --db NEW_PATH'"
        )
    if header.truncated:
        raise CorruptIndexError(
            f"{db_path} is damaged (cut short: {header.size:,} of {header.declared_bytes:,} "
            f"bytes); run 'citebot index' to rebuild it"
        )
    try:
        return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise CorruptIndexError(f"cannot open {db_path} ({exc}); run 'citebot index' to rebuild it") from exc


def read_info(db_path: Path) -> IndexInfo:
    """The index's self-description, after checking it is compatible."""
    with contextlib.closing(_connect_ro(db_path)) as conn:
        meta = _check_header(conn, db_path)
    return _info(db_path, meta)


def _info(db_path: Path, meta: dict[str, str]) -> IndexInfo:
    return IndexInfo(
        path=db_path,
        documents=int(meta["documents"]),
        passages=int(meta["passages"]),
        terms=int(meta["terms"]),
        generation=int(meta["generation"]),
        built_at=float(meta["built_at"]),
        fingerprint=meta["fingerprint"],
        analyzer_version=meta["analyzer_version"],
        k1=float(meta["k1"]),
        b=float(meta["b"]),
        meta=meta,
    )


class IndexReader:
    """An open index: the ranking structures in memory, passage text fetched on demand.

    Passage text stays on disk because at a million passages it would dominate memory; a
    question only ever needs the few passages it shows.
    """

    def __init__(
        self,
        db_path: Path,
        db: aiosqlite.Connection,
        info: IndexInfo,
        bm25: BM25Index,
        acronyms: AcronymMap,
        identity: tuple[int, int, int],
        sync_conn: sqlite3.Connection | None = None,
        passage_rows: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        sync_lock: threading.Lock | None = None,
        postings: BlobPostings | None = None,
    ) -> None:
        self.path = db_path
        # Each BM25 position's source weight (corpus.weights), None when every source weighs 1.
        self.weights = weights
        # BM25 position -> passages.idx (None: the identity, as a full build writes it).
        self._rows = passage_rows
        self._positions: np.ndarray | None = None  # the inverse, built on first use
        self.info = info
        self.bm25 = bm25
        self.acronyms = acronyms
        self.identity = identity
        self._db = db
        # The connection the BM25 arrays were read through (so it is the same file even if a
        # reindex swapped the path since), for `passages_sync`; used under a lock, which the
        # posting lists read through the same connection on demand (`postings`) share.
        self._sync = sync_conn
        self._sync_lock = sync_lock or threading.Lock()
        self._postings = postings
        self._roots = decode_roots(info.meta.get(ROOTS_META_KEY))  # for naming files in citations

    @classmethod
    async def open(cls, db_path: Path) -> IndexReader:
        """Open and validate an index. Raises IndexMissingError, CorruptIndexError, IncompatibleIndexError.

        The posting lists stay in the file (`postings.BlobPostings`); the rest is read in a
        worker thread (a fraction of a second at a million passages), so a bot reloading after
        `citebot index` keeps serving meanwhile.
        """
        loaded = await asyncio.to_thread(_load, db_path)
        conn, meta, bm25, acronyms, rows, identity, weights, lock, postings = loaded
        try:
            db = await aiosqlite.connect(f"file:{db_path}?mode=ro", uri=True)
        except BaseException:
            _close(postings, conn)
            raise
        # `conn` stays open: it pins the file the arrays came from, for `passages_sync` and the
        # posting lists.
        return cls(
            db_path,
            db,
            _info(db_path, meta),
            bm25,
            acronyms,
            identity,
            sync_conn=conn,
            passage_rows=rows,
            weights=weights,
            sync_lock=lock,
            postings=postings,
        )

    async def close(self) -> None:
        await self._db.close()
        with self._sync_lock:
            if self._postings is not None:
                self._postings.close()
                self._postings = None
            if self._sync is not None:
                self._sync.close()
                self._sync = None

    def passages_sync(self, indices: Sequence[int]) -> list[StoredPassage]:
        """`passages`, blocking, for code already running in a worker thread (one read-only
        SQLite connection per thread; saves the hops to aiosqlite's thread and back)."""
        if not indices:
            return []
        try:
            with self._sync_lock:
                if self._sync is None:
                    self._sync = _connect_ro(self.path)
                row_ids = self._row_ids(indices)
                rows = self._sync.execute(_passages_sql(len(indices)), row_ids).fetchall()
        except sqlite3.DatabaseError as exc:
            raise CorruptIndexError(f"{self.path} is damaged ({exc}); run 'citebot index' to rebuild it") from exc
        return _in_order(rows, indices, row_ids, self._roots)

    def passage_vectors_sync(self) -> dict[str, bytes]:
        """The semantic re-rank's stored vectors by passage key (`ranking.semantic.passage_key`),
        read from the file this reader opened (the one its BM25 arrays came from, even if a
        reindex has swapped the path since); blocking. Only for an index whose meta names a model."""
        try:
            with self._sync_lock:
                if self._sync is None:
                    self._sync = _connect_ro(self.path)
                return dict(self._sync.execute(tables.PASSAGE_VECTORS_QUERY).fetchall())
        except sqlite3.DatabaseError as exc:
            raise CorruptIndexError(f"{self.path} is damaged ({exc}); run 'citebot index' to rebuild it") from exc

    def _row_ids(self, positions: Sequence[int]) -> list[int]:
        """passages.idx of these BM25 positions (out-of-range positions match no row)."""
        if self._rows is None:
            return [int(i) for i in positions]
        n = self._rows.size
        return [int(self._rows[i]) if 0 <= int(i) < n else -1 for i in positions]

    def _position(self, row_id: int) -> int:
        """The BM25 position of passages.idx `row_id` (-1 when no position holds it)."""
        if self._rows is None:
            return row_id
        if self._positions is None:
            inverse = np.full(int(self._rows.max(initial=0)) + 1, -1, dtype=np.int64)
            inverse[self._rows] = np.arange(self._rows.size)
            self._positions = inverse
        return int(self._positions[row_id]) if 0 <= row_id < self._positions.size else -1

    async def passages(self, indices: Sequence[int]) -> list[StoredPassage]:
        """The passages at these BM25 positions, in the order asked."""
        if not indices:
            return []
        row_ids = self._row_ids(indices)
        try:
            rows = await _fetchall(self._db, _passages_sql(len(indices)), row_ids)
        except sqlite3.DatabaseError as exc:
            raise CorruptIndexError(f"{self.path} is damaged ({exc}); run 'citebot index' to rebuild it") from exc
        return _in_order(rows, indices, row_ids, self._roots)

    async def passage_by_id(self, passage_id: str) -> StoredPassage | None:
        rows = await _fetchall(self._db, "SELECT idx FROM passages WHERE id = ?", (passage_id,))
        if not rows:
            return None
        position = self._position(int(rows[0][0]))
        found = await self.passages([position]) if position >= 0 else []
        return found[0] if found else None

    async def source(self, passage_id: str) -> tuple[StoredPassage, StoredPassage | None, StoredPassage | None] | None:
        """The passage with this id and its neighbours (before, after), as `/source` and
        `citebot show` present it; None when no passage has the id."""
        stored = await self.passage_by_id(passage_id)
        if stored is None:
            return None
        before, after = await self.neighbours(stored)
        return stored, before, after

    async def neighbours(self, stored: StoredPassage) -> tuple[StoredPassage | None, StoredPassage | None]:
        """The passages just before and after this one in its document."""
        before = await self.passages([stored.index - 1]) if stored.index > 0 else []
        after = await self.passages([stored.index + 1])
        same = lambda s: s.passage.doc_hash == stored.passage.doc_hash  # noqa: E731
        return (before[0] if before and same(before[0]) else None, after[0] if after and same(after[0]) else None)

    def changed_on_disk(self) -> bool:
        """Whether the file at our path is no longer the one we opened (a reindex swapped it)."""
        try:
            st = self.path.stat()
        except OSError:
            return False
        return (st.st_dev, st.st_ino, st.st_mtime_ns) != self.identity


def _passages_sql(n: int) -> str:
    return f"""SELECT p.idx, p.id, p.ordinal, p.text, p.section, p.para_first, p.para_last, p.char_start,
                      p.char_end, p.sentences, p.sentence_terms, p.context_terms, p.page_first, p.page_last, d.hash,
                      d.title, d.path, d.author, d.url, d.kind
               FROM passages p JOIN documents d ON d.id = p.doc_id WHERE p.idx IN ({",".join("?" * n)})"""


def _load(
    db_path: Path,
) -> tuple[
    sqlite3.Connection,
    dict[str, str],
    BM25Index,
    AcronymMap,
    np.ndarray | None,
    tuple[int, int, int],
    np.ndarray | None,
    threading.Lock,
    BlobPostings,
]:
    """Everything `IndexReader.open` reads, blocking: the checked header, the BM25 index (its
    posting lists read on demand through `conn` under the returned lock), acronyms, the
    position -> row map, the file's identity (taken first: if a reindex swaps the file in
    between, the reader reloads once more rather than miss the new index), and the positions'
    source weights (`tables.load_weights`)."""
    try:
        st = db_path.stat()
    except FileNotFoundError as exc:
        raise IndexMissingError(f"no index at {db_path}; run 'citebot index' to build one") from exc
    conn = _connect_ro(db_path)
    lock = threading.Lock()
    postings: BlobPostings | None = None
    try:
        meta = _check_header(conn, db_path)
        arrays = _decode_arrays(
            conn.execute(f"SELECT name, dtype, data FROM bm25_arrays WHERE NOT {_ON_DEMAND}").fetchall()
        )
        stored = grouped_rows(conn.execute(f"SELECT name, dtype, rowid FROM bm25_arrays WHERE {_ON_DEMAND}"))
        acronyms = AcronymMap.from_rows(conn.execute("SELECT short, long FROM acronyms").fetchall())
        rows = _passage_rows(arrays.pop("passage_rows", None))
        n_docs = np.asarray(arrays.get("doc_len", ())).size
        postings = BlobPostings(conn, lock, db_path, stored, n_docs)
        bm25 = BM25Index.over_postings(arrays, postings)
        if rows is not None and rows.size != bm25.n_docs:
            raise ValueError(f"{rows.size} passage rows for {bm25.n_docs} BM25 documents")
        weights = load_weights(conn, meta, bm25.n_docs)
        postings.warm()
    except (sqlite3.DatabaseError, KeyError, ValueError, TypeError) as exc:
        _close(postings, conn)
        # TypeError: a truncated file can hand back NULL where a blob should be.
        raise CorruptIndexError(f"{db_path} is damaged ({exc}); run 'citebot index' to rebuild it") from exc
    except BaseException:
        _close(postings, conn)
        raise
    identity = (st.st_dev, st.st_ino, st.st_mtime_ns)
    return conn, meta, bm25, acronyms, rows, identity, weights, lock, postings


# The `bm25_arrays` read on demand rather than at open (`postings.BlobPostings`).
_ON_DEMAND = rows_of(("doc_ids", "tfs"))


def _close(postings: BlobPostings | None, conn: sqlite3.Connection) -> None:
    """Close what `_load` opened, BLOB handles first."""
    if postings is not None:
        postings.close()
    conn.close()


def _in_order(
    rows: Sequence[tuple], positions: Sequence[int], row_ids: Sequence[int], roots: Sequence[tuple[str, str]]
) -> list[StoredPassage]:
    """The fetched rows as passages at `positions` (whose rows are `row_ids`), in that order;
    positions that hold no row are left out. `roots` name the files (`source_names`)."""
    by_row = {row[0]: row for row in rows}
    return [
        _stored(by_row[row_id], int(position), roots)
        for position, row_id in zip(positions, row_ids)
        if row_id in by_row
    ]


def _passage_rows(value: object) -> np.ndarray | None:
    """The stored position -> row map, checked; None when absent (an identity map)."""
    if value is None:
        return None
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu" or value.ndim != 1:
        raise ValueError("passage_rows is not an integer array")
    return value.astype(np.int64)


def _stored(row: tuple, position: int, roots: Sequence[tuple[str, str]]) -> StoredPassage:
    (
        _row_id,
        pid,
        ordinal,
        text,
        section,
        first,
        last,
        start,
        end,
        sentences,
        sentence_terms,
        context_terms,
        page_first,
        page_last,
        doc_hash,
        title,
        path,
        author,
        url,
        kind,
    ) = row
    citation = Citation(
        document=title,
        path=path,
        paragraphs=(first, last),
        start=start,
        end=end,
        section=section,
        author=author,
        url=url,
        kind=kind,
        name=shown_name(path, roots),
        pages=None if page_first is None else (page_first, page_last),
    )
    spans = tuple(tuple(s) for s in json.loads(sentences))
    terms = None if sentence_terms is None else decode_sentence_terms(sentence_terms, len(spans))
    return StoredPassage(
        position,
        Passage(pid, doc_hash, ordinal, text, citation),
        spans,
        None if terms is None else tuple(map(tuple, terms)),
        None if context_terms is None else tuple(context_terms.split()),
    )
