"""indexfile.postings: posting lists read from the index file on demand. The reader ranks exactly
as the arrays loaded whole do, a damaged list is refused with the advice to reindex when a
question first reads it, the cache keeps to its bound, and a closed reader says so."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from citebot.index.errors import CorruptIndexError
from citebot.index.indexfile import IndexReader
from citebot.index.indexfile.array_rows import grouped_rows
from citebot.index.indexfile.postings import BlobPostings
from citebot.index.ranking.bm25 import BM25Index
from tests.support.corpora import corpus_documents
from tests.support.helpers import build_index_file_for


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("postings")
    return build_index_file_for(corpus_documents(folder, n_extra=8), folder)


def loaded_whole(db: Path) -> BM25Index:
    """The index with every array read into memory, as the reader did before."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name, dtype, data FROM bm25_arrays WHERE dtype != 'json'").fetchall()
    return BM25Index.from_arrays({name: np.frombuffer(data, dtype=np.dtype(dtype)) for name, dtype, data in rows})


def stored_rows(db: Path) -> dict[str, tuple[str, list[int]]]:
    with sqlite3.connect(db) as conn:
        return grouped_rows(conn.execute("SELECT name, dtype, rowid FROM bm25_arrays"))


def test_on_demand_lists_rank_exactly_as_the_arrays_loaded_whole(built: Path) -> None:
    whole = loaded_whole(built)
    terms, df = whole.vocabulary()
    rng = np.random.default_rng(5)
    queries = [[terms[i] for i in rng.choice(len(terms), size=4, replace=False)] for _ in range(60)]
    queries += [[terms[int(np.argmax(df))], terms[int(np.argmin(df))]]]

    async def ranked() -> list[list[tuple[int, float]]]:
        reader = await IndexReader.open(built)
        try:
            return [[(h.index, h.score) for h in reader.bm25.top_k(q, 10)] for q in queries]
        finally:
            await reader.close()

    assert asyncio.run(ranked()) == [[(h.index, h.score) for h in whole.top_k(q, 10)] for q in queries]


def damage_one_list(db: Path) -> str:
    """Reverse the doc ids of the first term with two or more postings, in place; that term."""
    whole = loaded_whole(db)
    terms, df = whole.vocabulary()
    tid = int(np.flatnonzero(df >= 2)[0])
    offsets = whole.to_arrays()["term_offsets"]
    lo, hi = int(offsets[tid]), int(offsets[tid + 1])
    with sqlite3.connect(db) as conn:
        rowid = conn.execute("SELECT rowid FROM bm25_arrays WHERE name = 'doc_ids'").fetchone()[0]
        with conn.blobopen("bm25_arrays", "data", rowid) as blob:
            blob.seek(lo * 4)
            ids = np.frombuffer(blob.read((hi - lo) * 4), dtype=np.uint32)
            blob.seek(lo * 4)
            blob.write(ids[::-1].tobytes())
        conn.commit()
    return terms[tid]


def test_a_damaged_list_is_refused_when_a_question_reads_it(built: Path, tmp_path: Path) -> None:
    db = tmp_path / "damaged.sqlite3"
    db.write_bytes(built.read_bytes())
    term = damage_one_list(db)

    async def ask() -> None:
        reader = await IndexReader.open(db)  # opening reads no list, so it succeeds
        try:
            with pytest.raises(CorruptIndexError, match="not strictly ascending.*run 'citebot index'"):
                reader.bm25.top_k([term], 5)
        finally:
            await reader.close()

    asyncio.run(ask())


def test_postings_stored_with_another_dtype_are_refused_at_open(built: Path, tmp_path: Path) -> None:
    db = tmp_path / "dtype.sqlite3"
    db.write_bytes(built.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE bm25_arrays SET dtype = '<f4' WHERE name = 'doc_ids'")
    with pytest.raises(CorruptIndexError, match="postings stored as <f4"):
        asyncio.run(IndexReader.open(db))


def test_the_cache_keeps_to_its_bound_and_serves_repeated_lists(built: Path) -> None:
    whole = loaded_whole(built)
    offsets = whole.to_arrays()["term_offsets"]
    conn = sqlite3.connect(f"file:{built}?mode=ro", uri=True)
    store = BlobPostings(conn, threading.Lock(), built, stored_rows(built), whole.n_docs, cache_bytes=4096)
    try:
        assert store.size == int(offsets[-1])
        ranges = [(int(offsets[t]), int(offsets[t + 1])) for t in range(offsets.size - 1)]
        expected = whole.to_arrays()
        first = store.read(*ranges[0])[0]
        assert store.read(*ranges[0])[0] is first  # read again at once: from the cache
        for lo, hi in ranges:
            docs, tfs = store.read(lo, hi)
            assert np.array_equal(docs, expected["doc_ids"][lo:hi]) and np.array_equal(tfs, expected["tfs"][lo:hi])
            assert sum(d.nbytes + t.nbytes for d, t in store._cache.values()) <= 4096
        assert expected["doc_ids"].nbytes > 4096  # so the first list was dropped meanwhile
        assert store.read(*ranges[0])[0] is not first
    finally:
        store.close()
        conn.close()


def test_a_closed_reader_says_it_was_closed(built: Path) -> None:
    async def after_close() -> None:
        reader = await IndexReader.open(built)
        terms, _ = reader.bm25.vocabulary()
        await reader.close()
        with pytest.raises(RuntimeError, match="was closed"):
            reader.bm25.top_k([terms[0]], 3)

    asyncio.run(after_close())
