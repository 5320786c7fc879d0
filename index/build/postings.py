"""The BM25 postings arrays (CSR: per term its passages and tfs) built from chunks of term ids.

The build hands over each passage's term ids in chunks (`full._id_chunks`); this module turns
them into the arrays `ranking.BM25Index.from_arrays` reads: `doc_len`, `term_offsets`,
`doc_ids`, `tfs`. `csr_from_id_chunks_twice` sorts (term, passage) keys with numpy, in two
passes over the chunks (count, then write straight into the final arrays). From
`full.COMPILED_CSR_ABOVE_PASSAGES` passages on the build uses `postings_scan` instead, which
gives the same arrays by linear scans compiled with numba; below that, importing numba would
cost more than it saves (measured: 1.6 s in a fresh process, against 0.06 s for the whole
numpy build of the bundled corpus). `csr_layout` is the layout both share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized

import numpy as np

UINT16_MAX = np.iinfo(np.uint16).max
UINT32_MAX = np.iinfo(np.uint32).max

# Term ids counted densely per chunk (a _HOT_TERMS x chunk-docs int64 count matrix, 16 MB;
# measured best among 128/256/512).
_HOT_TERMS = 256


def _chunk_postings(
    tids: np.ndarray, lens: np.ndarray, local: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Postings (term ids, chunk-local doc ids, tfs) of one chunk of documents,
    ordered by term then doc, from the chunk's token ids in document order (or in
    any order, with ``local`` giving each token's chunk-local document).

    The ``_HOT_TERMS`` lowest term ids (ids are handed out in order of first
    appearance, so these are mostly the most frequent terms, ~2/3 of Zipfian
    tokens) are counted with a dense ``bincount`` over (term, doc) cells,
    which is ~3x cheaper than sorting them; the rest are sorted as packed
    ``term << 32 | doc`` keys, equal keys being one posting.
    """
    n_docs = lens.size
    if local is None:
        local = np.repeat(np.arange(n_docs, dtype=np.int64), lens)
    # Dense part: cold tokens are clamped into a dummy row _HOT_TERMS, dropped.
    cell = np.minimum(tids, _HOT_TERMS)
    cell *= n_docs
    cell += local
    counts = np.bincount(cell, minlength=(_HOT_TERMS + 1) * n_docs)[: _HOT_TERMS * n_docs]
    del cell
    cells = np.flatnonzero(counts)
    h_term = cells // n_docs
    h_doc = cells - h_term * n_docs
    h_tf = counts[cells]
    del counts, cells
    # Sorted part.
    key = tids << 32
    key |= local
    key = key[tids >= _HOT_TERMS]
    del local
    key.sort()
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    if key.size == 0:
        starts = starts[:0]
    ukey = key[starts]
    c_tf = np.diff(np.append(starts, key.size))
    return (
        np.concatenate((h_term, ukey >> 32)),
        np.concatenate((h_doc, ukey & np.int64(UINT32_MAX))),
        np.concatenate((h_tf, c_tf)),
    )


IdChunk = tuple[np.ndarray, ...]
"""(token ids in document order, tokens per document), or (token ids, tokens per document,
each token's chunk-local document) for tokens in any order."""


def _postings_parts(chunks: Iterable[IdChunk]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per chunk: its postings (term ids, global doc ids, tfs; by term then doc, see
    ``_chunk_postings``) and its document lengths."""
    n_docs = 0
    for tids, lens, *local in chunks:
        if n_docs + lens.size > UINT32_MAX:
            raise ValueError("BM25Index supports at most 2**32 - 1 documents")
        if lens.size and int(lens.max()) > UINT32_MAX:
            raise ValueError("a document longer than 2**32 - 1 tokens is not supported")
        if tids.size:
            t_ids, d_ids, tf = _chunk_postings(
                tids.astype(np.int64, copy=False), lens.astype(np.int64, copy=False), local[0] if local else None
            )
            d_ids += n_docs
            yield t_ids.astype(np.int32), d_ids.astype(np.uint32), tf, lens.astype(np.uint32)
        else:
            empty = np.empty(0, dtype=np.int32)
            yield empty, empty.astype(np.uint32), empty.astype(np.int64), lens.astype(np.uint32)
        n_docs += lens.size
        del tids


def _tf_dtype(max_tf: int) -> type:
    return np.uint16 if max_tf <= UINT16_MAX else np.uint32


def csr_layout(df: np.ndarray, max_tf: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Empty CSR arrays for these document frequencies, and each term's next free slot."""
    term_offsets = np.zeros(df.size + 1, dtype=np.int64)
    np.cumsum(df, out=term_offsets[1:])
    n_post = int(term_offsets[-1])
    return (
        term_offsets,
        np.empty(n_post, dtype=np.uint32),
        np.empty(n_post, dtype=_tf_dtype(max_tf)),
        term_offsets[:-1].copy(),
    )


def _scatter(
    t_ids: np.ndarray, d_ids: np.ndarray, tf: np.ndarray, fill: np.ndarray, doc_ids: np.ndarray, tfs: np.ndarray
) -> None:
    """Write one chunk's postings (by term, then doc) after what earlier chunks wrote."""
    n = t_ids.size
    if not n:
        return
    run_start = np.flatnonzero(np.concatenate(([True], t_ids[1:] != t_ids[:-1])))
    run_term = t_ids[run_start]
    run_len = np.diff(np.append(run_start, n))
    pos = np.repeat(fill[run_term] - run_start, run_len)
    pos += np.arange(n, dtype=np.int64)
    doc_ids[pos] = d_ids
    tfs[pos] = tf
    fill[run_term] += run_len


def csr_from_id_chunks_twice(make_chunks: Callable[[], Iterable[IdChunk]], vocabulary: Sized) -> dict[str, np.ndarray]:
    """The CSR arrays (``doc_len``, ``term_offsets``, ``doc_ids``, ``tfs``) of documents given
    as chunks (see ``IdChunk``), for chunks that can be produced twice (``make_chunks()`` must
    give the same chunks each time): a first pass counts, the second writes each chunk's
    postings straight into the final arrays, so no per-chunk copy of all postings is kept
    (~10 bytes per posting less at peak: 600 MB at a million passages)."""
    len_parts: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    max_tf = 0
    for t_ids, _, tf, lens in _postings_parts(make_chunks()):
        len_parts.append(lens)
        if tf.size:
            max_tf = max(max_tf, int(tf.max()))
        counts.append(np.bincount(t_ids))
    df = np.zeros(len(vocabulary), dtype=np.int64)
    for bc in counts:
        df[: bc.size] += bc
    del counts
    term_offsets, doc_ids, tfs, fill = csr_layout(df, max_tf)
    for t_ids, d_ids, tf, _ in _postings_parts(make_chunks()):
        _scatter(t_ids, d_ids, tf, fill, doc_ids, tfs)
    doc_len = np.concatenate(len_parts) if len_parts else np.empty(0, dtype=np.uint32)
    return {"doc_len": doc_len, "term_offsets": term_offsets, "doc_ids": doc_ids, "tfs": tfs}
