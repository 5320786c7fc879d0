"""index.ranking.maxscore: the C kernels' contract on their own (test_bm25 checks the rankings
they give against rank_bm25): bit-identical exact scores, the true largest impact, a candidate
set holding the exact top k, and clear errors instead of reads out of bounds."""

from __future__ import annotations

import numpy as np
import pytest

from citebot.index.ranking.maxscore import exact_scores, max_impact, maxscore_candidates

K1P1 = 2.2


def random_lists(rng: np.random.Generator, n_docs: int, m: int, tf_dtype: type) -> tuple[list, list]:
    docs = [
        np.sort(rng.choice(n_docs, size=int(rng.integers(1, n_docs)), replace=False)).astype(np.uint32)
        for _ in range(m)
    ]
    tfs = [rng.integers(1, 9, size=d.size).astype(tf_dtype) for d in docs]
    return docs, tfs


def numpy_exact(docs, tfs, norm, idfs, slots, cand) -> np.ndarray:
    contrib = []
    for d, t, idf in zip(docs, tfs, idfs):
        cv = np.zeros(cand.size)
        hit = np.isin(cand, d)
        tf = t[np.searchsorted(d, cand[hit])].astype(np.float64)
        cv[hit] = idf * ((tf * K1P1) / (tf + norm[cand[hit]]))
        contrib.append(cv)
    out = np.zeros(cand.size)
    for s in slots:
        out += contrib[s]
    return out


@pytest.mark.parametrize("tf_dtype", [np.uint16, np.uint32])
def test_exact_scores_are_bit_identical_to_rank_bm25s_expression(tf_dtype: type) -> None:
    rng = np.random.default_rng(7)
    norm = rng.uniform(0.3, 3.0, size=400)
    docs, tfs = random_lists(rng, 400, 4, tf_dtype)
    idfs = rng.uniform(0.1, 5.0, size=4)
    slots = np.array([2, 0, 2, 3, 1], dtype=np.int64)
    cand = np.unique(np.concatenate(docs)).astype(np.int64)
    got = exact_scores(docs, tfs, norm, idfs, slots, cand, K1P1)
    assert np.array_equal(got, numpy_exact(docs, tfs, norm, idfs, slots, cand))


def test_max_impact_is_the_largest_impact_of_the_list() -> None:
    rng = np.random.default_rng(3)
    norm = rng.uniform(0.3, 3.0, size=300)
    (docs,), (tfs,) = random_lists(rng, 300, 1, np.uint16)
    tf = tfs.astype(np.float64)
    assert max_impact(docs, tfs, norm, K1P1) == float(np.max((tf * K1P1) / (tf + norm[docs])))
    assert max_impact(docs[:0], tfs[:0], norm, K1P1) == 0.0


@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_candidates_hold_the_exact_top_k(k: int) -> None:
    rng = np.random.default_rng(k)
    norm = rng.uniform(0.3, 3.0, size=2000)
    docs, tfs = random_lists(rng, 2000, 5, np.uint16)
    idfs = rng.uniform(0.1, 5.0, size=5)
    tops = np.array([max_impact(d, t, norm, K1P1) for d, t in zip(docs, tfs)])
    bounds = idfs * tops
    order = np.argsort(bounds, kind="stable")
    cand = maxscore_candidates(
        [docs[i] for i in order], [tfs[i] for i in order], norm, K1P1, idfs[order], bounds[order], k, 1e-5
    )
    every = np.unique(np.concatenate(docs)).astype(np.int64)
    scores = numpy_exact(docs, tfs, norm, idfs, np.arange(5), every)
    kth = np.sort(scores)[::-1][min(k, every.size) - 1]
    assert set(every[scores >= kth].tolist()) <= set(cand.tolist())
    # and pruning kept it small: nothing far below the k-th best
    assert len(cand) < every.size


def test_bad_input_raises_instead_of_reading_out_of_bounds() -> None:
    norm = np.ones(10)
    docs = np.array([1, 4, 12], dtype=np.uint32)  # 12 >= len(norm)
    tfs = np.ones(3, dtype=np.uint16)
    with pytest.raises(ValueError, match="out of range"):
        max_impact(docs, tfs, norm, K1P1)
    with pytest.raises(ValueError, match="posting list"):
        max_impact(docs, tfs[:2], norm, K1P1)
    with pytest.raises(TypeError, match="float64"):
        max_impact(docs[:2], tfs[:2], norm.astype(np.float32), K1P1)
    ok_docs, ok_tfs = docs[:2], tfs[:2]
    one = np.ones(1)
    with pytest.raises(ValueError, match="out of range"):
        maxscore_candidates([docs], [tfs], norm, K1P1, one, one, 3, 1e-5)
    with pytest.raises(ValueError, match="one value per posting list"):
        maxscore_candidates([ok_docs], [ok_tfs], norm, K1P1, np.ones(2), one, 3, 1e-5)
    with pytest.raises(ValueError, match="k must be positive"):
        maxscore_candidates([ok_docs], [ok_tfs], norm, K1P1, one, one, 0, 1e-5)
    slots = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="ascending"):
        exact_scores([ok_docs], [ok_tfs], norm, one, slots, np.array([4, 1], dtype=np.int64), K1P1)
    with pytest.raises(ValueError, match="token slot"):
        exact_scores([ok_docs], [ok_tfs], norm, one, np.array([1], dtype=np.int64), np.array([1]), K1P1)
