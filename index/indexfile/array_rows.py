"""How one named BM25 array is stored in `bm25_arrays`: one row, or several rows ("pieces").

SQLite refuses a value over SQLITE_LIMIT_LENGTH (1,000,000,000 bytes by default). The posting
ids alone are ~257 bytes a passage of typical text, so one row per array capped an index file
near 4 million passages. An array longer than `ROW_BYTES` is therefore stored as consecutive
rows named `name`, `name#1`, `name#2`, ... (same dtype; every piece but the last holds exactly
`ROW_BYTES` rounded down to whole elements). An array that fits stays one row under its own
name, as every earlier file has it, so those read unchanged.

Readers that want the whole array join the pieces (`join_rows`); `postings.BlobPostings` reads
the posting pieces in place, mapping a posting range to the pieces it spans (their rowids from `grouped_rows`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TypeVar

import numpy as np

from ..errors import IndexWriteError

# The most bytes one row of an array holds. 256 MB keeps a row far under SQLite's 1 GB cap
# (the row's other columns count too), and keeps each piece a modest overflow chain.
ROW_BYTES = 256 << 20

# Rows larger than this are written into a zeroblob chunk by chunk: SQLite copies a bound blob
# whole before writing it, which at a million passages put 240 MB on the build's peak.
WRITE_CHUNK = 16 << 20

_SEPARATOR = "#"

T = TypeVar("T")


def piece_name(name: str, piece: int) -> str:
    """The row name of piece `piece` of array `name` (piece 0 is the array's own name)."""
    return name if piece == 0 else f"{name}{_SEPARATOR}{piece}"


def split_name(stored: str) -> tuple[str, int]:
    """(array name, piece number) of a stored row name: "doc_ids#2" -> ("doc_ids", 2)."""
    name, sep, number = stored.rpartition(_SEPARATOR)
    if sep and number.isdigit() and name:
        return name, int(number)
    return stored, 0


def encode_array(value: np.ndarray) -> tuple[str, memoryview]:
    """(dtype, bytes) of a numeric array as `bm25_arrays` stores it; the bytes are a view of
    the array (SQLite copies them once; `tobytes` would add a second copy, 240 MB of
    postings at a million passages)."""
    return value.dtype.str, np.ascontiguousarray(value).data.cast("B")


def row_bytes(db: sqlite3.Connection, itemsize: int) -> int:
    """Bytes per piece for elements of `itemsize` bytes: `ROW_BYTES`, or half this connection's
    SQLITE_LIMIT_LENGTH if that is lower, rounded down to whole elements."""
    cap = min(ROW_BYTES, db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) // 2)
    return max(itemsize, cap // itemsize * itemsize)


def insert_array(db: sqlite3.Connection, name: str, value: np.ndarray) -> None:
    """Store one numeric array in `bm25_arrays`, in as many pieces as it needs."""
    insert_bytes(db, name, *encode_array(value))


def insert_bytes(db: sqlite3.Connection, name: str, dtype: str, data: memoryview | bytes) -> None:
    """Store an array's bytes (as `encode_array` gives them, or as read back by `join_rows`;
    dtype "json" for the UTF-8 JSON of a string array) under `name`, split into pieces of whole
    elements."""
    data = memoryview(data).cast("B")
    step = row_bytes(db, 1 if dtype == "json" else np.dtype(dtype).itemsize)
    for piece, at in enumerate(range(0, max(len(data), 1), step)):
        _insert_row(db, piece_name(name, piece), dtype, data[at : at + step])


def _insert_row(db: sqlite3.Connection, name: str, dtype: str, data: memoryview) -> None:
    try:
        if len(data) <= WRITE_CHUNK:
            db.execute("INSERT INTO bm25_arrays VALUES (?, ?, ?)", (name, dtype, data))
            return
        row = db.execute("INSERT INTO bm25_arrays VALUES (?, ?, zeroblob(?))", (name, dtype, len(data))).lastrowid
    except sqlite3.DataError as exc:  # pieces are sized under the limit; a guard, not a path
        limit = db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
        raise IndexWriteError(
            f"the index's {name!r} row is {len(data):,} bytes, over SQLite's limit of {limit:,} bytes for one value"
        ) from exc
    if row is None:  # (sqlite3 sets it after every INSERT; None only if no row was made)
        raise sqlite3.DatabaseError(f"bm25_arrays: no row written for {name!r}")
    with db.blobopen("bm25_arrays", "data", row) as blob:
        for at in range(0, len(data), WRITE_CHUNK):
            blob.write(data[at : at + WRITE_CHUNK])


def grouped_rows(rows: Iterable[tuple[str, str, T]]) -> dict[str, tuple[str, list[T]]]:
    """(stored name, dtype, payload) rows -> {array name: (dtype, payloads in piece order)}; the
    payload is a rowid (`postings.BlobPostings` opens the pieces) or the data (`join_rows`).

    Raises ValueError when an array's pieces are not numbered 0..n-1 or differ in dtype
    (a damaged file)."""
    found: dict[str, dict[int, tuple[str, T]]] = {}
    for stored, dtype, payload in rows:
        name, piece = split_name(stored)
        found.setdefault(name, {})[piece] = (dtype, payload)
    out: dict[str, tuple[str, list[T]]] = {}
    for name, pieces in found.items():
        if sorted(pieces) != list(range(len(pieces))):
            raise ValueError(f"array {name!r} has pieces {sorted(pieces)}")
        dtypes = {dtype for dtype, _ in pieces.values()}
        if len(dtypes) != 1:
            raise ValueError(f"array {name!r} has pieces of dtypes {sorted(dtypes)}")
        out[name] = (dtypes.pop(), [pieces[i][1] for i in range(len(pieces))])
    return out


def rows_of(names: Iterable[str]) -> str:
    """An SQL condition on `bm25_arrays.name` true for the rows of these arrays, pieces too
    (the names are this code's constants, not user input)."""
    names = list(names)
    if not all(n.isidentifier() for n in names):
        raise ValueError(f"not array names: {names}")
    quoted = ", ".join(f"'{n}'" for n in names)
    globs = " OR ".join(f"name GLOB '{n}{_SEPARATOR}*'" for n in names)
    return f"(name IN ({quoted}) OR {globs})"


def read_array(db: sqlite3.Connection, name: str) -> tuple[str, bytes] | None:
    """(dtype, data) of the one array `name`, its pieces joined; None if it is not stored."""
    return join_rows(db.execute(f"SELECT name, dtype, data FROM bm25_arrays WHERE {rows_of((name,))}")).get(name)


def join_rows(rows: Iterable[tuple[str, str, bytes]]) -> dict[str, tuple[str, bytes]]:
    """(stored name, dtype, data) rows -> {array name: (dtype, data)}, pieces joined in order
    (an array of one row is passed through, not copied). ValueError as `grouped_rows`."""
    return {
        name: (dtype, parts[0] if len(parts) == 1 else b"".join(parts))
        for name, (dtype, parts) in grouped_rows(rows).items()
    }
