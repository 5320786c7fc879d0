"""Compiled inner loop of `BM25Index.top_k` for large corpora: MaxScore dynamic pruning.

At a million passages a typical question's terms have ~250k postings over ~220k distinct
passages (SQuAD questions mix rare words with common ones), and scoring all of them with numpy
(gather, `bincount` into a dense array, `unique`) took ~1.9 ms. MaxScore (Turtle and Flood,
1995) scores documents in id order and skips those that cannot reach the current k-th best
score: with the terms sorted by their largest possible contribution, the cheapest terms whose
bounds together stay below that score are "non-essential" -- a document found only in their
lists cannot enter the top k, so only the essential (rarer) lists are walked, and the others
are probed by a forward search for the documents walked.

This computes the same *approximate* scores as the numpy pass (float32 impacts times a float64
weight, summed in float64) and returns the same candidate set rule: every document whose
approximate score is within the relative `margin` of the approximate k-th best. A skipped
document's bound is below the k-th best at that moment times (1 - margin), which only rises,
so it could never have been a candidate. `BM25Index` then rescores the candidates exactly in
float64 (see its docstring for why that gives the exact top k, ties included).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _forward(doc_ids: np.ndarray, lo: int, hi: int, d: int) -> int:
    """First position in doc_ids[lo:hi] (ascending) holding a doc id >= d: galloping, then
    binary search (successive probes of one list move forward, usually a short way)."""
    step = 1
    bound = lo
    while bound < hi and doc_ids[bound] < d:
        lo = bound + 1
        bound = lo + step
        step *= 2
    if bound > hi:
        bound = hi
    while lo < bound:
        mid = (lo + bound) // 2
        if doc_ids[mid] < d:
            lo = mid + 1
        else:
            bound = mid
    return lo


@njit(cache=True, nogil=True)
def _push(heap: np.ndarray, size: int, value: float) -> int:
    """Insert into a min-heap of capacity len(heap), keeping the largest values."""
    cap = heap.shape[0]
    if size < cap:
        i = size
        heap[i] = value
        while i > 0:
            parent = (i - 1) // 2
            if heap[parent] <= heap[i]:
                break
            heap[parent], heap[i] = heap[i], heap[parent]
            i = parent
        return size + 1
    if value <= heap[0]:
        return size
    heap[0] = value
    i = 0
    while True:
        left = 2 * i + 1
        if left >= cap:
            break
        small = left
        if left + 1 < cap and heap[left + 1] < heap[left]:
            small = left + 1
        if heap[i] <= heap[small]:
            break
        heap[i], heap[small] = heap[small], heap[i]
        i = small
    return size


@njit(cache=True, nogil=True)
def maxscore_candidates(
    doc_ids: np.ndarray,
    impacts: np.ndarray,
    los: np.ndarray,
    his: np.ndarray,
    weights: np.ndarray,
    bounds: np.ndarray,
    k: int,
    margin: float,
) -> np.ndarray:
    """Sorted doc ids whose approximate score is within `margin` of the approximate k-th best.

    Terms (posting ranges [los[j], his[j]) of `doc_ids`/`impacts`, weight idf x multiplicity)
    must be ordered by `bounds` ascending, bounds[j] >= weights[j] * max impact of term j.
    """
    m = los.shape[0]
    ptr = los.copy()
    # prefix[j] = upper bound of a document's score from terms 0..j-1 (rounded up a hair,
    # as float sums in another order may differ in the last bit).
    prefix = np.zeros(m + 1)
    for j in range(m):
        prefix[j + 1] = (prefix[j] + bounds[j]) * (1.0 + 1e-12)
    heap = np.empty(k)
    size = 0
    prune = 0.0  # documents that cannot reach this are skipped
    essential = 0  # terms [essential, m) are walked; [0, essential) only probed
    cap = 1024
    cand_docs = np.empty(cap, dtype=np.int64)
    cand_scores = np.empty(cap)
    n_cand = 0
    sentinel = np.iinfo(np.int64).max
    while True:
        while essential < m and prefix[essential + 1] < prune:
            essential += 1
        if essential == m:
            break
        d = sentinel
        for j in range(essential, m):
            if ptr[j] < his[j] and doc_ids[ptr[j]] < d:
                d = doc_ids[ptr[j]]
        if d == sentinel:
            break
        score = 0.0
        for j in range(m - 1, essential - 1, -1):
            if ptr[j] < his[j] and doc_ids[ptr[j]] == d:
                score += weights[j] * np.float64(impacts[ptr[j]])
                ptr[j] += 1
        for j in range(essential - 1, -1, -1):
            if score + prefix[j + 1] < prune:
                score = -1.0
                break
            ptr[j] = _forward(doc_ids, ptr[j], his[j], d)
            if ptr[j] < his[j] and doc_ids[ptr[j]] == d:
                score += weights[j] * np.float64(impacts[ptr[j]])
        if score < prune or score <= 0.0:
            continue
        if n_cand == cap:
            cap *= 2
            grown_docs = np.empty(cap, dtype=np.int64)
            grown_scores = np.empty(cap)
            grown_docs[:n_cand] = cand_docs[:n_cand]
            grown_scores[:n_cand] = cand_scores[:n_cand]
            cand_docs, cand_scores = grown_docs, grown_scores
        cand_docs[n_cand] = d
        cand_scores[n_cand] = score
        n_cand += 1
        size = _push(heap, size, score)
        if size == k:
            prune = heap[0] * (1.0 - margin)
    final = heap[0] * (1.0 - margin) if size == k else 0.0
    out = np.empty(n_cand, dtype=np.int64)
    n_out = 0
    for i in range(n_cand):
        if cand_scores[i] >= final:
            out[n_out] = cand_docs[i]
            n_out += 1
    return out[:n_out]


@njit(cache=True, nogil=True)
def exact_scores(
    doc_ids: np.ndarray,
    tfs: np.ndarray,
    norm: np.ndarray,
    los: np.ndarray,
    his: np.ndarray,
    idfs: np.ndarray,
    token_slots: np.ndarray,
    cand: np.ndarray,
    k1p1: float,
) -> np.ndarray:
    """Exact float64 BM25 scores of the sorted doc ids `cand`: per unique term j (postings
    [los[j], his[j])), idf * ((tf * (k1 + 1)) / (tf + norm[d])), then summed over the query's
    tokens in order (`token_slots[i]` is token i's term) -- rank_bm25's operations in its
    order, so the scores are bit-identical to `BM25Index._exact_scores`."""
    m = los.shape[0]
    n = cand.shape[0]
    contrib = np.zeros((m, n))
    for j in range(m):
        lo = los[j]
        hi = his[j]
        for i in range(n):
            d = cand[i]
            lo = _forward(doc_ids, lo, hi, d)
            if lo < hi and doc_ids[lo] == d:
                tf = np.float64(tfs[lo])
                contrib[j, i] = idfs[j] * ((tf * k1p1) / (tf + norm[d]))
    out = np.zeros(n)
    for slot in token_slots:
        for i in range(n):
            out[i] += contrib[slot, i]
    return out
