"""indexfile.array_rows: an array longer than one row may be is stored as several rows and read
back whole; an index whose postings span many pieces reads, ranks and updates exactly as one whose
postings are one row each; a missing or mis-sized piece is refused at open.

At ~4 million passages the posting ids passed SQLite's 1 GB cap on one value; the pieces are what
let one file hold 10 million. The tests shrink the row size instead of building that much."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

import citebot.index.indexfile.array_rows as array_rows
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.errors import CorruptIndexError
from citebot.index.indexfile import IndexReader, content_digest
from citebot.index.indexfile.postings import BlobPostings
from citebot.index.indexfile.writer import SCHEMA
from tests.support.corpora import assert_same_as_full_build, corpus_documents

# Bytes per row in the pieced builds: 1,024 posting ids or 2,048 term frequencies a row.
SMALL_ROWS = 4096


def stored(db: sqlite3.Connection) -> dict[str, int]:
    return dict(db.execute("SELECT name, length(data) FROM bm25_arrays ORDER BY rowid"))


@pytest.mark.parametrize("chunk", [array_rows.WRITE_CHUNK, 64], ids=["bound", "zeroblob"])
def test_an_array_over_sqlites_value_limit_is_stored_in_pieces_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """With SQLite's limit lowered to 4,000 bytes a 4,004-byte array used to fail the build; it is
    now three rows of whole elements, each at most half the limit, joined back exactly."""
    monkeypatch.setattr(array_rows, "WRITE_CHUNK", chunk)
    values = np.arange(1001, dtype=np.uint32) * 7
    words = np.array([f"word{i}" for i in range(700)])
    with sqlite3.connect(tmp_path / "arrays.sqlite3") as db:
        db.executescript(SCHEMA)
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 4000)
        array_rows.insert_array(db, "big", values)
        array_rows.insert_array(db, "small", values[:3])
        array_rows.insert_array(db, "empty", values[:0])
        text = json.dumps(words.tolist()).encode()
        array_rows.insert_bytes(db, "words", "json", text)
        rows = stored(db)
        joined = array_rows.join_rows(db.execute("SELECT name, dtype, data FROM bm25_arrays"))
        alone = array_rows.read_array(db, "big")
    assert list(rows)[:4] == ["big", "big#1", "big#2", "small"]
    assert rows["big"] == rows["big#1"] == 2000 and rows["big#2"] == 4 and rows["empty"] == 0
    assert len(text) > 4000 and rows["words"] == 2000 and max(rows.values()) <= 2000
    assert np.array_equal(np.frombuffer(joined["big"][1], dtype="<u4"), values) and joined["big"][0] == "<u4"
    assert np.array_equal(np.frombuffer(joined["small"][1], dtype="<u4"), values[:3])
    assert json.loads(joined["words"][1]) == words.tolist() and joined["words"][0] == "json"
    assert alone == joined["big"] and set(joined) == {"big", "small", "empty", "words"}


def test_pieces_out_of_order_or_of_two_dtypes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"pieces \[0, 2\]"):
        array_rows.join_rows([("a", "<u4", b"1234"), ("a#2", "<u4", b"1234")])
    with pytest.raises(ValueError, match="dtypes"):
        array_rows.join_rows([("a", "<u4", b"1234"), ("a#1", "<u2", b"12")])
    # A name that merely contains '#' is an array of its own, not a piece.
    assert array_rows.split_name("a#b") == ("a#b", 0) and array_rows.split_name("doc_ids#12") == ("doc_ids", 12)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(corpus folder, index with one row per array, index with 4 KB rows) of the same corpus."""
    folder = tmp_path_factory.mktemp("pieces")
    corpus = folder / "corpus"
    corpus.mkdir()
    corpus_documents(corpus, n_extra=8)
    whole = folder / "whole.sqlite3"
    rebuild_sync([corpus], whole, IndexParams())
    pieced = folder / "pieced.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(array_rows, "ROW_BYTES", SMALL_ROWS)
        rebuild_sync([corpus], pieced, IndexParams())
    return corpus, whole, pieced


def test_an_index_with_postings_in_many_pieces_reads_as_one_row_each(builds: tuple[Path, Path, Path]) -> None:
    _, whole, pieced = builds
    with sqlite3.connect(pieced) as db:
        rows = stored(db)
        grouped = array_rows.grouped_rows(db.execute("SELECT name, dtype, rowid FROM bm25_arrays"))
    assert sum(name.startswith("doc_ids#") for name in rows) >= 3 and max(rows.values()) <= SMALL_ROWS
    assert content_digest(pieced) == content_digest(whole)
    assert_same_as_full_build(pieced, whole)

    # Every term's list read in place equals the slice of the whole arrays, lists that straddle
    # a piece boundary among them.
    async def whole_arrays() -> dict[str, np.ndarray]:
        reader = await IndexReader.open(whole)
        try:
            return reader.bm25.to_arrays()
        finally:
            await reader.close()

    expected = asyncio.run(whole_arrays())
    offsets = expected["term_offsets"]
    per_piece = SMALL_ROWS // 4
    straddling = 0
    conn = sqlite3.connect(f"file:{pieced}?mode=ro", uri=True)
    store = BlobPostings(conn, threading.Lock(), pieced, grouped, expected["doc_len"].size, cache_bytes=0)
    try:
        assert store.size == int(offsets[-1])
        for lo, hi in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
            docs, tfs = store.read(lo, hi)
            assert np.array_equal(docs, expected["doc_ids"][lo:hi]) and np.array_equal(tfs, expected["tfs"][lo:hi])
            straddling += lo // per_piece != (hi - 1) // per_piece
    finally:
        store.close()
        conn.close()
    assert straddling >= 2


def test_an_incremental_update_of_a_pieced_index_equals_a_full_build(
    builds: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The incremental build joins the old pieces, patches the arrays and writes them in pieces
    again: the result is what a full build of the changed corpus gives."""
    source, _, pieced = builds
    corpus = tmp_path / "corpus"
    shutil.copytree(source, corpus)
    db = tmp_path / "index.sqlite3"
    shutil.copy(pieced, db)
    changed = sorted(corpus.glob("notes-*"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA zebra observatory opened.\n", encoding="utf-8")
    (corpus / "added.txt").write_text("Okapi sightings rose near the lunar station.\n", encoding="utf-8")
    monkeypatch.setattr(array_rows, "ROW_BYTES", SMALL_ROWS)
    result = rebuild_sync([corpus], db, IndexParams())
    assert result.incremental and result.info.generation == 2
    full = tmp_path / "full.sqlite3"
    rebuild_sync([corpus], full, IndexParams())
    with sqlite3.connect(db) as conn:
        assert any(name.startswith("doc_ids#") for name in stored(conn))
    assert content_digest(db) == content_digest(full)
    assert_same_as_full_build(db, full)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("DELETE FROM bm25_arrays WHERE name = 'doc_ids#1'", r"pieces \[0, 2"),
        ("UPDATE bm25_arrays SET data = substr(data, 1, 100) WHERE name = 'doc_ids#1'", "unequal lengths"),
        ("UPDATE bm25_arrays SET dtype = '<u2' WHERE name = 'doc_ids#2'", "dtypes"),
    ],
    ids=["missing", "short", "dtype"],
)
def test_a_damaged_piece_is_refused_at_open(
    builds: tuple[Path, Path, Path], tmp_path: Path, damage: str, message: str
) -> None:
    db = tmp_path / "damaged.sqlite3"
    shutil.copy(builds[2], db)
    with sqlite3.connect(db) as conn:
        conn.execute(damage)
    with pytest.raises(CorruptIndexError, match=message) as caught:
        asyncio.run(IndexReader.open(db))
    assert "run 'citebot index' to rebuild it" in str(caught.value)
