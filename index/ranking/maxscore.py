"""The compiled inner loops of `BM25Index.top_k` for large corpora: MaxScore dynamic pruning
and exact rescoring (C, `_maxscore.c`).

At a million passages a typical question's terms have ~250k postings over ~220k distinct
passages (SQuAD questions mix rare words with common ones), and scoring all of them with numpy
(gather, `bincount` into a dense array, `unique`) took ~1.9 ms. MaxScore (Turtle and Flood,
1995) scores documents in id order and skips those that cannot reach the current k-th best
score: with the terms sorted by their largest possible contribution, the cheapest terms whose
bounds together stay below that score are "non-essential" -- a document found only in their
lists cannot enter the top k, so only the essential (rarer) lists are walked, and the others
are probed by a forward search for the documents walked.

The approximate score of a document is the sum over the query's unique terms of
weight (idf x multiplicity) x impact, the impact being tf*(k1+1)/(tf+norm[d]) in float64,
computed from the posting on the fly (nothing per posting is kept in memory besides the doc id
and tf). The candidate rule is the numpy pass's: every document whose approximate score is
within the relative `margin` of the approximate k-th best. A skipped document's bound is below
the k-th best at that moment times (1 - margin), which only rises, so it could never have been
a candidate. `BM25Index` then rescores the candidates exactly (`exact_scores`) and orders them
by its tie rule.

The loops were compiled with numba until a serving process's memory was measured: importing
numba and loading the cached kernels cost ~125 MB of resident memory and ~0.35 s of start-up
for these two loops, so they are C now, built at install like `analysis/_termscan.c`.

Each posting list is passed as two buffers (ascending uint32 doc ids; uint16 or uint32 tfs),
so a list may be a slice of an in-memory array or a block read from the index file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._maxscore import exact_scores as _exact_scores
from ._maxscore import max_impact as _max_impact
from ._maxscore import maxscore_candidates as _maxscore_candidates

__all__ = ["max_impact", "maxscore_candidates", "exact_scores"]


def max_impact(doc_ids: np.ndarray, tfs: np.ndarray, norm: np.ndarray, k1p1: float) -> float:
    """The largest impact tf*(k1+1)/(tf+norm[d]) of one posting list (0.0 when empty): the
    list's MaxScore bound, before its weight."""
    return float(_max_impact(doc_ids, tfs, norm, k1p1))


def maxscore_candidates(
    doc_lists: Sequence[np.ndarray],
    tf_lists: Sequence[np.ndarray],
    norm: np.ndarray,
    k1p1: float,
    weights: np.ndarray,
    bounds: np.ndarray,
    k: int,
    margin: float,
) -> np.ndarray:
    """Doc ids (int64, in no order) whose approximate score is within `margin` of the
    approximate k-th best.

    The lists must be ordered by `bounds` ascending, bounds[j] >= weights[j] x the largest impact
    of list j (`max_impact`); `weights` and `bounds` are float64 arrays, one value per list.
    """
    return np.frombuffer(
        _maxscore_candidates(doc_lists, tf_lists, norm, k1p1, weights, bounds, k, margin), dtype=np.int64
    )


def exact_scores(
    doc_lists: Sequence[np.ndarray],
    tf_lists: Sequence[np.ndarray],
    norm: np.ndarray,
    idfs: np.ndarray,
    token_slots: np.ndarray,
    cand: np.ndarray,
    k1p1: float,
) -> np.ndarray:
    """Exact float64 BM25 scores of the ascending int64 doc ids `cand`: per unique term j,
    idf * ((tf * (k1 + 1)) / (tf + norm[d])), then summed over the query's tokens in order
    (`token_slots[i]`, int64, is token i's term): rank_bm25's operations in its order, so the
    scores are bit-identical to `reference.LuceneBM25`'s."""
    return np.frombuffer(_exact_scores(doc_lists, tf_lists, norm, idfs, token_slots, cand, k1p1))
