"""The SQL other modules need on the index file: the side tables and the listings.

The policy stays where it was -- which weight a document gets (`source_weights`), which times a
document keeps (`source_times`), which vectors are embedded (`semantic`), which files changed
(`refresh`), what `citebot sources` shows (`source_list`); here are only the statements, so
the file's layout is known in one package.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the index file at `db_path`, closed after the block."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        yield conn


@contextlib.contextmanager
def unpublished(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-write connection to a new index file not swapped in yet (a build's temporary
    file), committed when the block ends without error, closed in any case."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        yield conn
        conn.commit()


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta"))


def set_meta(conn: sqlite3.Connection, values: Mapping[str, str], drop: Sequence[str] = ()) -> None:
    """Write `values` into `meta`, after removing the entries `drop` names."""
    conn.executemany("DELETE FROM meta WHERE key = ?", ((k,) for k in drop))
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(values.items()))


# ---------------------------------------------------------------------------------------------
# documents.weight (`source_weights`)


def document_weights(conn: sqlite3.Connection) -> list[tuple[int, str, str, float]]:
    """(id, path, kind, weight) of every document."""
    return conn.execute("SELECT id, path, kind, weight FROM documents").fetchall()


def set_document_weights(conn: sqlite3.Connection, updates: Iterable[tuple[float, int]]) -> None:
    """(weight, document id) pairs."""
    conn.executemany("UPDATE documents SET weight = ? WHERE id = ?", updates)


def reset_document_weights(conn: sqlite3.Connection) -> None:
    """Every document weighs 1."""
    conn.execute("UPDATE documents SET weight = 1.0 WHERE weight != 1.0")


def passage_counts_and_weights(conn: sqlite3.Connection) -> list[tuple[int, float]]:
    """(passages, weight) of every document, in build order (their passages' BM25 positions)."""
    return conn.execute("SELECT n_passages, weight FROM documents ORDER BY ord").fetchall()


# ---------------------------------------------------------------------------------------------
# source_times (`source_times`)

SOURCE_TIMES_TABLE = """CREATE TABLE IF NOT EXISTS source_times (
    path TEXT PRIMARY KEY, hash TEXT NOT NULL, changed_at REAL NOT NULL, checked_at REAL NOT NULL)"""


def source_time_rows(conn: sqlite3.Connection) -> list[tuple[str, str, float, float]]:
    """(path, hash, changed_at, checked_at) rows; none when the index has no such table
    (it was built before there was one)."""
    try:
        return conn.execute("SELECT path, hash, changed_at, checked_at FROM source_times").fetchall()
    except sqlite3.OperationalError:
        return []


def previous_source_time_rows(db_path: Path) -> list[tuple[str, str, float, float]]:
    """`source_time_rows` of the index at `db_path`; none when there is no readable one."""
    if not db_path.exists():
        return []
    with contextlib.suppress(sqlite3.Error):
        with read_only(db_path) as conn:
            return source_time_rows(conn)
    return []


def document_paths_and_hashes(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return conn.execute("SELECT path, hash FROM documents").fetchall()


def replace_source_times(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, float, float]]) -> None:
    """The `source_times` table (made if absent) holds exactly `rows`."""
    conn.execute(SOURCE_TIMES_TABLE)
    conn.execute("DELETE FROM source_times")
    conn.executemany("INSERT INTO source_times VALUES (?, ?, ?, ?)", rows)


# ---------------------------------------------------------------------------------------------
# Listings (`source_list`, `refresh`)


def document_listing(
    db_path: Path,
) -> tuple[list[tuple[str, str, str, str | None, int]], list[tuple[str, str, float, float]]]:
    """(kind, title, path, url, passages) of every document in build order, and the
    `source_time_rows`, read from one file."""
    with read_only(db_path) as conn:
        rows = conn.execute("SELECT kind, title, path, url, n_passages FROM documents ORDER BY ord").fetchall()
        return rows, source_time_rows(conn)


def recorded_sources(db_path: Path) -> tuple[dict[str, str], dict[str, tuple[int, int, str]], list[str]]:
    """The meta, the file states (path -> size, mtime_ns, document hash) and every document's
    path, of the index at `db_path` (sqlite3.Error when it cannot be read)."""
    with read_only(db_path) as conn:
        meta = read_meta(conn)
        files = {
            p: (size, mtime, h)
            for p, size, mtime, h in conn.execute("SELECT path, size, mtime_ns, doc_hash FROM files")
        }
        paths = [p for (p,) in conn.execute("SELECT path FROM documents")]
    return meta, files, paths


# ---------------------------------------------------------------------------------------------
# passage_vectors (`semantic`)

PASSAGE_VECTORS_TABLE = "CREATE TABLE IF NOT EXISTS passage_vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL)"
PASSAGE_VECTORS_QUERY = "SELECT hash, vector FROM passage_vectors"  # for `IndexReader.passage_vectors_sync`


def passage_texts(conn: sqlite3.Connection) -> list[str]:
    """Every passage's text, in row order."""
    return [row[0] for row in conn.execute("SELECT text FROM passages ORDER BY idx")]


def drop_passage_vectors(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS passage_vectors")


def ensure_passage_vectors(conn: sqlite3.Connection, clear: bool = False) -> None:
    """The `passage_vectors` table exists (emptied when `clear`: another model's vectors)."""
    conn.execute(PASSAGE_VECTORS_TABLE)
    if clear:
        conn.execute("DELETE FROM passage_vectors")


def vector_keys(conn: sqlite3.Connection) -> set[str]:
    return {key for (key,) in conn.execute("SELECT hash FROM passage_vectors")}


def delete_vectors(conn: sqlite3.Connection, keys: Iterable[str]) -> None:
    conn.executemany("DELETE FROM passage_vectors WHERE hash = ?", ((k,) for k in keys))


def insert_vectors(conn: sqlite3.Connection, rows: Iterable[tuple[str, bytes]]) -> None:
    conn.executemany("INSERT INTO passage_vectors VALUES (?, ?)", rows)


def meta_value(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def vectors_of(conn: sqlite3.Connection, keys: Sequence[str]) -> list[tuple[str, bytes]]:
    """The (key, vector) rows `conn`'s index holds of these keys."""
    return conn.execute(
        f"SELECT hash, vector FROM passage_vectors WHERE hash IN ({','.join('?' * len(keys))})", list(keys)
    ).fetchall()


WEIGHTED_META_KEY = "weighted_documents"  # how many documents weigh other than 1 (`source_weights`)


def load_weights(conn: sqlite3.Connection, meta: dict[str, str], n_passages: int) -> np.ndarray | None:
    """Each BM25 position's weight (its document's), or None when every document weighs 1.

    Documents hold consecutive positions in build order (`documents.ord`), as every build
    writes them. ValueError when the documents do not account for `n_passages` positions."""
    if meta.get(WEIGHTED_META_KEY, "0") == "0":
        return None
    rows = passage_counts_and_weights(conn)
    counts = np.array([n for n, _ in rows], dtype=np.int64)
    if int(counts.sum()) != n_passages:
        raise ValueError(f"the documents hold {int(counts.sum())} passages but BM25 has {n_passages}")
    return np.repeat(np.array([w for _, w in rows], dtype=np.float64), counts)
