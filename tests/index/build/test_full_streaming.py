"""`citebot index` builds the file in worker processes and streams it to SQLite; the file must
hold what the reference build (`build.reference.build_reference`, plain sequential code scored
by rank_bm25 with Lucene's IDF) gives for the same corpus, whatever the workers and chunking."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import citebot.index.build.full as filebuild
import citebot.index.indexfile.array_rows as array_rows
import citebot.index.indexfile.writer as writer
from citebot.index.analysis import Analyzer
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import WarningKind
from citebot.index.indexfile import IndexReader, content_digest
from tests.support.corpora import assert_same_as_full_build, awkward_corpus
from tests.support.helpers import assert_matches_reference


@pytest.mark.parametrize(("context_weight", "parallel"), [(1, False), (1, True), (0, False), (2, True)])
def test_streamed_file_equals_the_reference_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, context_weight: int, parallel: bool
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    awkward_corpus(corpus)
    if parallel:
        monkeypatch.setattr(filebuild, "PARALLEL_ABOVE_CHARS", 0)
        monkeypatch.setattr(filebuild, "_TASK_FILES", 2)
    params = IndexParams(context_weight=context_weight)
    streamed = tmp_path / "streamed.sqlite3"
    result = rebuild_sync([corpus], streamed, params)
    assert not result.incremental

    reference = assert_matches_reference(streamed, [corpus], params)
    assert reference.acronyms.pairs, "the corpus defines acronyms"
    _, read_warnings = load_corpus([corpus], params.max_file_bytes, rules=params.sources)
    assert sorted(result.warnings) == sorted(read_warnings)
    assert_stored_terms_are_the_analysers(streamed)
    kinds = {w.kind for w in result.warnings}
    assert {WarningKind.DUPLICATE, WarningKind.BINARY, WarningKind.EMPTY} <= kinds
    assert any("same text as" in str(w) for w in result.warnings)


def assert_stored_terms_are_the_analysers(db: Path) -> None:
    """What the Answerer reads instead of analysing: each sentence's and the context's terms."""
    analyzer = Analyzer()

    async def check() -> None:
        reader = await IndexReader.open(db)
        try:
            for sp in await reader.passages(range(reader.bm25.n_docs)):
                text = sp.passage.text
                assert sp.sentence_terms == tuple(tuple(analyzer.terms(text[a:b])) for a, b in sp.sentences)
                assert sp.context_terms == tuple(analyzer.terms(sp.passage.context))
        finally:
            await reader.close()

    asyncio.run(check())


_REAL_READ_BATCH = filebuild._read_batch


def _dies_on_notes_4(paths: list[Path]) -> list:
    """A worker's task that kills its process, as the kernel's OOM killer would."""
    if any(p.name == "notes-4.md" for p in paths):
        os._exit(9)
    return _REAL_READ_BATCH(paths)


def test_a_worker_that_dies_leaves_the_build_to_finish_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    awkward_corpus(corpus)
    monkeypatch.setattr(filebuild, "PARALLEL_ABOVE_CHARS", 0)
    monkeypatch.setattr(filebuild, "_TASK_FILES", 2)
    monkeypatch.setattr(filebuild, "_read_batch", _dies_on_notes_4)
    db = tmp_path / "index.sqlite3"
    rebuild_sync([corpus], db, IndexParams())
    assert "index workers failed" in caplog.text
    monkeypatch.setattr(filebuild, "_read_batch", _REAL_READ_BATCH)
    expected = tmp_path / "expected.sqlite3"
    rebuild_sync([corpus], expected, IndexParams())
    assert content_digest(db) == content_digest(expected)


def test_large_arrays_are_written_piece_by_piece_and_read_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrays over `array_rows.WRITE_CHUNK` go through a zeroblob and incremental writes (no whole copy
    in SQLite's memory); the stored bytes, and the index built that way, are the same."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    awkward_corpus(corpus)
    whole = tmp_path / "whole.sqlite3"
    rebuild_sync([corpus], whole, IndexParams())

    monkeypatch.setattr(array_rows, "WRITE_CHUNK", 64)
    with sqlite3.connect(tmp_path / "arrays.sqlite3") as db:
        db.executescript(writer.SCHEMA)
        values = np.arange(1001, dtype=np.uint32) * 7  # 4004 bytes: 62 pieces and a short one
        array_rows.insert_array(db, "big", values)
        array_rows.insert_array(db, "small", values[:3])
        stored = {
            name: np.frombuffer(data, dtype=np.dtype(dtype))
            for name, dtype, data in db.execute("SELECT name, dtype, data FROM bm25_arrays")
        }
    assert np.array_equal(stored["big"], values) and np.array_equal(stored["small"], values[:3])

    pieces = tmp_path / "pieces.sqlite3"
    rebuild_sync([corpus], pieces, IndexParams())
    assert_same_as_full_build(pieces, whole)


def test_passages_are_indexed_once_every_row_is_in(tmp_path: Path) -> None:
    """The passages' indexes are made at the end of a build, on another thread; the file must
    still have them (lookups by id and by document use them), and a duplicate passage id must
    still fail the build rather than make a file with two passages of one id."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    awkward_corpus(corpus)
    db_path = tmp_path / "index.sqlite3"
    rebuild_sync([corpus], db_path, IndexParams())
    with sqlite3.connect(db_path) as db:
        plan_by_id = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT * FROM passages WHERE id = 'x'"))
        plan_by_doc = " ".join(
            r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT idx FROM passages WHERE doc_id = 1 ORDER BY ordinal")
        )
    assert "passages_id" in plan_by_id and "passages_doc" in plan_by_doc

    row = ("same-id", 1, 0, "text", None, 1, 1, 0, 4, "[[0, 4]]", "text", "", None, None)
    with writer.IndexFileWriter(tmp_path / "dup.sqlite3") as w:
        w.add_passages([(0, *row), (1, *row)])
        w.index_passages()
        with pytest.raises(sqlite3.IntegrityError, match="passages.id"):
            w.finish({}, np.arange(2), [], [], {})
