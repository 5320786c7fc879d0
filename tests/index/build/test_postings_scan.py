"""The compiled postings builder (`build.postings_scan`) gives exactly the numpy one's (`build.postings`) arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import citebot.index.build.full as filebuild
from citebot.index.build.params import IndexParams
from citebot.index.build.postings import csr_from_id_chunks_twice
from citebot.index.build.postings_scan import csr_from_id_chunks_compiled
from citebot.index.build.reindex import rebuild_sync
from tests.support.corpora import assert_same_as_full_build, awkward_corpus


def random_chunks(rng: np.random.Generator, n_terms: int, n_chunks: int, shuffled: bool) -> list[tuple]:
    """Chunks of Zipf-ish token ids by passage (empty passages and empty chunks included);
    `shuffled` chunks give their tokens in any order with each token's passage."""
    chunks = []
    for _ in range(n_chunks):
        lens = rng.integers(0, 12, size=int(rng.integers(0, 9)))
        lens[rng.random(lens.size) < 0.2] = 0
        tids = np.minimum(rng.zipf(1.3, size=int(lens.sum())) - 1, n_terms - 1).astype(np.int32)
        if shuffled:
            local = np.repeat(np.arange(lens.size), lens)
            order = rng.permutation(tids.size)
            chunks.append((tids[order], lens, local[order]))
        else:
            chunks.append((tids, lens))
    return chunks


@pytest.mark.parametrize("shuffled", [False, True])
def test_compiled_csr_equals_the_numpy_csr(shuffled: bool) -> None:
    rng = np.random.default_rng(7)
    for case in range(300):
        n_terms = int(rng.integers(1, 40))
        chunks = random_chunks(rng, n_terms, int(rng.integers(0, 6)), shuffled)
        if case % 50 == 0 and chunks:  # a tf past 65535 switches tfs to uint32
            chunks.append((np.zeros(70_000, dtype=np.int32), np.array([70_000])))
        vocab = range(n_terms)
        want = csr_from_id_chunks_twice(lambda chunks=chunks: iter(chunks), vocab)
        got = csr_from_id_chunks_compiled(lambda chunks=chunks: iter(chunks), vocab)
        assert want.keys() == got.keys()
        for key in want:
            assert want[key].dtype == got[key].dtype, (case, key)
            assert np.array_equal(want[key], got[key]), (case, key)


def test_compiled_csr_refuses_ids_outside_the_vocabulary() -> None:
    chunks = [(np.array([0, 3], dtype=np.int32), np.array([2]))]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        csr_from_id_chunks_compiled(lambda: iter(chunks), range(3))


def test_a_build_over_the_threshold_writes_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    awkward_corpus(corpus)
    numpy_built, compiled_built = tmp_path / "numpy.sqlite3", tmp_path / "compiled.sqlite3"
    rebuild_sync([corpus], numpy_built, IndexParams())
    monkeypatch.setattr(filebuild, "COMPILED_CSR_ABOVE_PASSAGES", 0)
    rebuild_sync([corpus], compiled_built, IndexParams())
    assert_same_as_full_build(compiled_built, numpy_built)


def test_a_large_parallel_build_loads_the_kernels_while_the_workers_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the workers have forked, a corpus big enough for the compiled path starts loading
    the kernels in a thread; the file is the same as a build without it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    awkward_corpus(corpus)
    plain = tmp_path / "plain.sqlite3"
    rebuild_sync([corpus], plain, IndexParams())

    started: list[str] = []
    real_start = filebuild.threading.Thread.start

    def recording_start(thread) -> None:  # noqa: ANN001
        started.append(thread.name)
        real_start(thread)

    monkeypatch.setattr(filebuild.threading.Thread, "start", recording_start)
    monkeypatch.setattr(filebuild, "PARALLEL_ABOVE_CHARS", 0)
    monkeypatch.setattr(filebuild, "_TASK_FILES", 2)
    monkeypatch.setattr(filebuild, "COMPILED_CSR_ABOVE_PASSAGES", 0)
    warmed = tmp_path / "warmed.sqlite3"
    rebuild_sync([corpus], warmed, IndexParams())
    assert "csr-warm-up" in started
    assert_same_as_full_build(warmed, plain)
