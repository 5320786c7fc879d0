"""Compiled construction of the BM25 arrays for large builds: one linear pass per direction.

`postings.csr_from_id_chunks_twice` turns each chunk of token ids into postings by sorting
(term, passage) keys, twice over (once to count, once to write): at a million passages that is
~18 s of a build's serial tail, after the workers are done. Tokens arrive grouped by passage and
passages in order, so the postings need no sort at all: walking the tokens once, a term seen for
the first time in the current passage opens a posting (the next free slot of that term's list,
which fills in passage order) and every later sighting adds one to its tf. Two such walks -- one
to count each term's passages, one to write -- give exactly the arrays the numpy path gives
(`tests/index/build/test_postings_scan.py` compares them), in ~1/5 of the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized

import numpy as np
from numba import njit

from .postings import UINT32_MAX, IdChunk, csr_layout


@njit(cache=True, nogil=True)
def _grouped(tids: np.ndarray, local: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The token ids regrouped by passage (`local`), in their order within each passage: a
    counting sort (acronym short forms are appended after the chunk's tokens)."""
    fill = np.zeros(lens.size, dtype=np.int64)
    total = 0
    for p in range(lens.size):
        fill[p] = total
        total += lens[p]
    out = np.empty_like(tids)
    for i in range(tids.size):
        p = local[i]
        out[fill[p]] = tids[i]
        fill[p] += 1
    return out


@njit(cache=True, nogil=True)
def _count(tids: np.ndarray, lens: np.ndarray, first: int, last: np.ndarray, tf_now: np.ndarray, df: np.ndarray) -> int:
    """Add each term's number of passages in this chunk to `df`; the largest tf seen. `last`
    holds, per term, the last passage that held it (passages `first`, `first` + 1, ...)."""
    pos = 0
    max_tf = 0
    for p in range(lens.size):
        d = first + p
        for _ in range(lens[p]):
            t = tids[pos]
            pos += 1
            if last[t] != d:
                last[t] = d
                df[t] += 1
                tf_now[t] = 1
            else:
                tf_now[t] += 1
            if tf_now[t] > max_tf:
                max_tf = tf_now[t]
    return max_tf


@njit(cache=True, nogil=True)
def _write(
    tids: np.ndarray,
    lens: np.ndarray,
    first: int,
    last: np.ndarray,
    slot: np.ndarray,
    fill: np.ndarray,
    doc_ids: np.ndarray,
    tfs: np.ndarray,
) -> None:
    """Write this chunk's postings into each term's next free slots (passage order)."""
    pos = 0
    for p in range(lens.size):
        d = first + p
        for _ in range(lens[p]):
            t = tids[pos]
            pos += 1
            if last[t] != d:
                last[t] = d
                s = fill[t]
                fill[t] = s + 1
                slot[t] = s
                doc_ids[s] = d
                tfs[s] = 1
            else:
                tfs[slot[t]] += 1


def _in_passage_order(chunk: IdChunk, n_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """(token ids grouped by passage, tokens per passage) of one chunk, checked against the
    vocabulary size (the kernels index arrays with the ids unchecked)."""
    tids, lens, *local = chunk
    lens = lens.astype(np.int64, copy=False)
    if int(lens.sum()) != tids.size:
        raise ValueError("a chunk's passage lengths do not add up to its tokens")
    if tids.size and (int(tids.min()) < 0 or int(tids.max()) >= n_terms):
        raise ValueError("a token id lies outside the vocabulary")
    if local:
        return _grouped(tids, local[0].astype(np.int64, copy=False), lens), lens
    return tids, lens


def csr_from_id_chunks_compiled(
    make_chunks: Callable[[], Iterable[IdChunk]], vocabulary: Sized
) -> dict[str, np.ndarray]:
    """`postings.csr_from_id_chunks_twice`, computed by the kernels above (same arguments, same
    arrays: every term's passages ascending, tfs in the same dtype)."""
    n_terms = len(vocabulary)
    last = np.full(n_terms, -1, dtype=np.int64)
    scratch = np.zeros(n_terms, dtype=np.int64)
    df = np.zeros(n_terms, dtype=np.int64)
    len_parts: list[np.ndarray] = []
    max_tf = 0
    n_docs = 0
    for chunk in make_chunks():
        tids, lens = _in_passage_order(chunk, n_terms)
        if n_docs + lens.size > UINT32_MAX:
            raise ValueError("BM25Index supports at most 2**32 - 1 documents")
        if lens.size and int(lens.max()) > UINT32_MAX:
            raise ValueError("a document longer than 2**32 - 1 tokens is not supported")
        max_tf = max(max_tf, _count(tids, lens, n_docs, last, scratch, df))
        len_parts.append(lens.astype(np.uint32))
        n_docs += lens.size
    term_offsets, doc_ids, tfs, fill = csr_layout(df, max_tf)
    del df
    last.fill(-1)
    n_docs = 0
    for chunk in make_chunks():
        tids, lens = _in_passage_order(chunk, n_terms)
        _write(tids, lens, n_docs, last, scratch, fill, doc_ids, tfs)
        n_docs += lens.size
    doc_len = np.concatenate(len_parts) if len_parts else np.empty(0, dtype=np.uint32)
    return {"doc_len": doc_len, "term_offsets": term_offsets, "doc_ids": doc_ids, "tfs": tfs}


def warm_up() -> None:
    """Load (or, the first time on a machine, compile) the kernels for the build's array types,
    so a large build can do it in the background instead of in its serial tail."""
    ids = np.array([0, 1, 1], dtype=np.int32)
    lens = np.array([2, 1], dtype=np.int64)
    chunks = [(ids, lens), (ids, lens, np.array([0, 1, 0]))]
    csr_from_id_chunks_compiled(lambda: iter(chunks), range(2))
