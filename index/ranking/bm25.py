"""Exact Okapi BM25 ranking (Lucene IDF) that stays fast at a million documents.

Scoring
-------
score(q, d) = sum over the query tokens t, in query order and counting repeats
(as ``rank_bm25.BM25Okapi.get_scores`` does), of

    idf(t) * (tf(t, d) * (k1 + 1)) / (tf(t, d) + k1 * ((1 - b) + b * |d| / avgdl))

with Lucene's IDF ``idf(t) = log(1 + (N - df + 0.5) / (df + 0.5))``, which is
positive even for a term in every document (the Robertson/Okapi IDF of
rank_bm25 is <= 0 there and gets patched with an "epsilon" floor).  A token
absent from the corpus, or from a document, contributes exactly 0.

The float64 operations are performed in the same order as rank_bm25's numpy
expression, so every score returned here is *bit-identical* to
:class:`LuceneBM25` (rank_bm25 with Lucene IDF): ties in the reference are ties
here, and the tie rule below decides them the same way.

Tie rule (the project's documented ranking order): documents are ordered by
score descending, and documents with *equal* float64 scores by their index
(position in the build order) ascending.  Only documents with score > 0, i.e.
containing at least one query term, are ever returned.

Approach (chosen by measurement, see ``benchmarks/bm25_micro.py``)
-------------------------------------------------------------------
Small indexes are scored in numpy alone (nothing to compile); large ones with
the compiled MaxScore below.  The index is a CSR inverted file: per term
id its postings (ascending doc ids + term frequencies).  The *impact* of a
posting, ``tf*(k1+1)/(tf+norm[d])`` (the score factor without the idf), is
computed from them when a question needs it, never stored.  ``top_k``:

1. Approximate pass: the impacts of all postings of the query terms, times
   ``idf * multiplicity``, are summed per document with one
   ``np.bincount(doc_ids, weights, minlength=N)`` (numpy's only fast
   scatter-add; ``np.add.at`` is ~10x slower).  Its dense float64 output is
   allocated zeroed (~0.1 ms at 1M docs) but never scanned: values are only
   gathered at the matched documents (no O(N) argpartition, which costs
   ~170 ms at 1M).
2. Candidates: a lower bound of the k-th best approximate score is the k-th
   best among the documents of the shortest posting list with >= k documents;
   matched documents below it are dropped, the k-th best approximate score of
   the rest is found by ``np.partition``, and only documents within a relative
   1e-5 of it are kept (the rounding error is < 1e-14, see ``_MARGIN`` for the
   proof that no document of the exact top k, ties included, is lost).  This
   is usually k documents plus exact ties.
3. Exact pass: candidates are rescored in float64 from their tf (looked up by
   binary search in each term's list) and document length, summing in
   query-token order exactly as rank_bm25, then ordered by (-score, index).

The query path keeps no shared scratch state, so ``top_k`` is thread-safe.
Cost is O(matched postings) plus the zeroed O(N) accumulator (8 bytes per
document per query, ~0.1 ms at 1M); for corpora far beyond 1M documents that
term grows and dynamic pruning would be worth revisiting.

From ``KERNEL_ABOVE_DOCS`` documents on, steps 1-3 run instead as document-at-a-
time MaxScore in C (``maxscore.py``, ``_maxscore.c``): same approximate
scores, same candidate rule, but documents that cannot reach the running k-th
best are skipped.  On the 1M-passage scale benchmark (SQuAD questions, whose
terms match ~220k passages at the median) the BM25 stage went from p50 1.4 ms
to 0.7 ms, identical results for every question.  A term-at-a-time MaxScore in
numpy (``searchsorted`` probes) had been measured earlier and rejected: p50
2.4 ms, p99 16 ms, numpy call overhead per probe.

The numpy pass, before MaxScore was added (the table below; the compiled path's
figures on real questions are in ``benchmarks/scale.py``'s output and the README).
Measured on the 2-core development VM (``benchmarks/bm25_micro.py``, seeded
Zipf(1.17) vocabulary of 500k terms, log-normal lengths with mean ~100 tokens,
~61 unique terms/doc; queries: 5-10 content terms of a random document with
the 100 most frequent terms treated as stopwords, sometimes plus an
off-document term, an unknown term or a repeated term; k = 10):

=================================  ==============  ======================
figure                             100,000 docs    1,000,000 docs
=================================  ==============  ======================
postings / vocabulary              6.1M / 309k     60.9M / 498k
build from token lists             1.7-1.9 s       17-21 s (*)
build peak RSS above the corpus    ~170 MB         ~1.2 GB
top_k p50 (200 queries)            0.20-0.21 ms    0.68-0.78 ms
top_k p90 / p99                    0.28 / 0.42 ms  1.1-1.3 / 2.2-3.5 ms
serialised (8 arrays)              42 MB           363 MB
reload in a fresh process:         0.06 + 0.25 s   0.8-1.7 + 1.1-1.6 s
SQLite read + from_blobs
RSS of that process after queries  194 MB          722 MB
rank_bm25 reference p50            243-337 ms      2.1-2.6 s
top-10 identical to reference      200/200         30/30 (each run)
max relative score difference      0 (bitwise)     0 (bitwise)
=================================  ==============  ======================

Ranges are over 2-4 runs; the upper ends were measured while other jobs kept
the load average at 4-5 (one build then took 30 s wall).  The reload and RSS
rows are of the in-memory layout of that time (float32 impacts, a dict of
terms); an index file is now opened without reading its postings
(``indexfile.postings``), see ``benchmarks/peers.py`` for today's figures.

(*) ~55% of the build is the Python dict lookup that maps each of the 100M
tokens to a term id (~105 ns/token, one hash lookup per token that no numpy
formulation avoids); the rest
is numpy (dense counting of the 256 hottest term ids, a sort of the others,
one scatter into the CSR arrays).

Serialisation
-------------
:meth:`BM25Index.to_arrays` returns a flat ``dict[str, numpy.ndarray]`` (all
C-contiguous, little-endian native on x86/ARM), :meth:`BM25Index.from_arrays`
rebuilds the index without copying arrays whose dtype already matches (arrays
from ``numpy.frombuffer`` over SQLite BLOBs are used in place).
:meth:`BM25Index.to_blobs` / :meth:`BM25Index.from_blobs` wrap each array as a
standard ``.npy`` file image (self-describing dtype and shape), one BLOB per
key, parsed zero-copy on load.

==================  =========================  ================================
key                 dtype, shape               meaning
==================  =========================  ================================
``format_version``  int64, (1,)                currently 1
``params``          float64, (2,)              [k1, b]
``doc_len``         uint32, (N,)               token count of each document
``term_offsets``    int64, (V + 1,)            CSR: postings of term id t are
                                               ``[term_offsets[t], term_offsets[t+1])``
``doc_ids``         uint32, (P,)               posting doc ids, ascending within
                                               each term
``tfs``             uint16 (uint32 if any tf   term frequency of each posting,
                    > 65535), (P,)             never clipped
``terms_utf8``      uint8, (B,)                all terms, UTF-8, concatenated in
                                               term id order
``terms_offsets``   int64, (V + 1,)            byte offsets of each term in
                                               ``terms_utf8``
==================  =========================  ================================

Every term listed has df >= 1 (so ``term_offsets`` is strictly increasing).
Byte order is the machine's (little-endian on x86 and ARM); ``.npy`` blobs
record it.  ``from_arrays`` validates dtypes, shapes, offsets, id bounds,
tf >= 1, sortedness of each posting list and term uniqueness (~0.1 s at 1M
docs); it raises ``ValueError`` on anything inconsistent.

Terms may contain any character (no separator is reserved).  At 1M documents
the postings dominate: P ~ 61M -> 244 MB ``doc_ids`` + 122 MB ``tfs`` (367 MB
serialised), which is why a serving process reads them per term from the file
(``over_postings``) instead of holding them.  Note
SQLite's default maximum BLOB size is 1e9 bytes, i.e. ``doc_ids`` up to ~250M
postings.
"""

from __future__ import annotations

import io
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .postings import ArrayPostings, PostingLists
from .vocabulary import Vocabulary

__all__ = [
    "BM25Params",
    "Hit",
    "BM25Index",
    "lucene_idf",
    "FORMAT_VERSION",
]

#: Version of the :meth:`BM25Index.to_arrays` layout.
FORMAT_VERSION = 1

# Candidate margin of the approximate pass.  The approximate score sums, per
# unique query term, (idf * multiplicity) * impact in float64, where the exact
# score adds idf * impact once per query token; both use the same float64
# impact, so they differ only by the roundings of the scaling and of the sums
# of positive terms: a relative eps < 64 * 2**-53 ~ 7e-15 for queries of up to
# a few dozen tokens (an earlier revision stored float32 impacts, eps < 4e-7).
# With theta_a the k-th best approximate score (<= (1 + eps) * exact k-th):
# a document of the exact top k has a(d) >= (1 - eps) * exact k-th >=
# theta_a * (1 - 2 eps), and a document with a(d) < theta_a * (1 - _MARGIN) has
# s(d) < exact k-th * (1 + eps) * (1 - _MARGIN) / (1 - eps) < exact k-th, so it
# can neither enter the top k nor tie with it.  1e-5 > 2 eps by a factor > 10.
_MARGIN = 1e-5

# From this many documents on, ``top_k`` runs as compiled MaxScore (``maxscore``, C);
# below it, the numpy pass is as fast.  Both give the same results (the test suite runs
# every ranking test on each).
KERNEL_ABOVE_DOCS = 50_000

# Terms whose largest impact ``top_k`` keeps (~100 bytes each): far more than the distinct
# terms of a day's questions, far fewer than a million-passage index's 1.9M terms.
_MAX_IMPACTS_KEPT = 1 << 18

# Postings per block when checking that lists are sorted (bounds the
# temporaries to ~4M entries, 32 MB each).
_BLOCK_POSTINGS = 1 << 22


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25 free parameters.

    ``k1`` controls term-frequency saturation (0 = binary: only presence
    counts), ``b`` length normalisation (0 = none, 1 = full).  Values outside
    ``k1 >= 0`` and ``0 <= b <= 1`` make the formula meaningless (negative or
    NaN contributions), so they are rejected at construction.
    """

    k1: float = 1.2
    b: float = 0.75

    def __post_init__(self) -> None:
        for name in ("k1", "b"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"BM25Params.{name} must be a real number, got {value!r}")
            # Normalise to a Python float so that scores never depend on the
            # caller passing int vs float vs numpy scalar.
            object.__setattr__(self, name, float(value))
        if not (math.isfinite(self.k1) and self.k1 >= 0.0):
            raise ValueError(f"BM25Params.k1 must be a finite number >= 0, got {self.k1!r}")
        if not (0.0 <= self.b <= 1.0):
            raise ValueError(f"BM25Params.b must be in [0, 1], got {self.b!r}")


def lucene_idf(n_docs: int, df: int) -> float:
    """Lucene's BM25 IDF: ``log(1 + (N - df + 0.5) / (df + 0.5))``.

    Unlike the classic Robertson IDF it is > 0 for every ``0 <= df <= N``, so
    on tiny corpora a term present in every document still counts a little
    instead of going negative.  Both :class:`LuceneBM25` and
    :class:`BM25Index` call this one function (``math.log``), which keeps their
    scores bit-identical.
    """
    if n_docs < 0 or df < 0 or df > n_docs:
        raise ValueError(f"need 0 <= df <= n_docs, got n_docs={n_docs}, df={df}")
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked document: ``index`` is its position in the build order."""

    index: int
    score: float


def sorted_position(ids: np.ndarray, value: int) -> int:
    """`np.searchsorted(ids, value)` for a non-negative int that fits `ids`' unsigned dtype,
    without the copy: given a Python int, numpy first casts the whole array to a type that
    holds both (164 us for a million uint32 postings, against 0.4 us)."""
    return int(ids.searchsorted(ids.dtype.type(value)))


def _intersect_sorted(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(ia, ib)`` with ``a[ia] == b[ib]`` for sorted unique ``a``, ``b``.

    Binary-searches the shorter array's values in the longer one, so the cost
    is O(min * log(max)); both must share a dtype (else numpy would cast, i.e.
    copy, the long one).
    """
    if a.size == 0 or b.size == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    if a.size <= b.size:
        pos = np.searchsorted(b, a)
        np.minimum(pos, b.size - 1, out=pos)
        ia = np.flatnonzero(b[pos] == a)
        return ia, pos[ia]
    pos = np.searchsorted(a, b)
    np.minimum(pos, a.size - 1, out=pos)
    ib = np.flatnonzero(a[pos] == b)
    return pos[ib], ib


def drop_unheld_terms(terms: Sequence[str], df: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The terms some document holds (``df`` > 0, in order) and their CSR ``term_offsets``:
    an index lists only those (``from_arrays`` refuses an empty posting list)."""
    alive = df > 0
    kept = [t for t, a in zip(terms, alive.tolist()) if a]
    term_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(df[alive], out=term_offsets[1:])
    return kept, term_offsets


def _check_postings_sorted(term_offsets: np.ndarray, doc_ids: np.ndarray) -> None:
    """Raise ValueError unless doc ids strictly increase within every term
    (queries binary-search the lists).  Blockwise: O(P) time, O(block) memory."""
    n_post = doc_ids.size
    boundaries = term_offsets[1:-1]
    for lo in range(0, max(n_post - 1, 0), _BLOCK_POSTINGS):
        hi = min(n_post, lo + _BLOCK_POSTINGS + 1)
        block = doc_ids[lo:hi]
        # positions i (global) with doc_ids[i] <= doc_ids[i - 1]
        drops = np.flatnonzero(block[1:] <= block[:-1]) + (lo + 1)
        if drops.size:
            at = np.searchsorted(boundaries, drops)
            at = np.minimum(at, max(boundaries.size - 1, 0))
            if boundaries.size == 0 or not bool(np.all(boundaries[at] == drops)):
                raise ValueError("doc_ids must be strictly increasing within each term")


def _get(arrays: Mapping[str, ArrayLike], name: str) -> np.ndarray:
    """One named 1-D array of :meth:`BM25Index.to_arrays` output; ValueError when missing."""
    if name not in arrays:
        raise ValueError(f"missing array {name!r}")
    a = np.asarray(arrays[name])
    if a.ndim != 1:
        raise ValueError(f"array {name!r} must be 1-D, got shape {a.shape}")
    return a


def _as_dtype(name: str, a: np.ndarray, dtype: type) -> np.ndarray:
    """`a` as a contiguous `dtype` array: in place when it already is one, else converted
    (integers in range only; ValueError otherwise)."""
    if a.dtype == dtype:
        return np.ascontiguousarray(a)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"array {name!r} must be integer, got {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) > np.iinfo(dtype).max):
        raise ValueError(f"array {name!r} out of range for {np.dtype(dtype)}")
    return a.astype(dtype)


def _check_query(query: Sequence[str]) -> None:
    if isinstance(query, (str, bytes)):
        raise TypeError("query must be a sequence of tokens, not a single string")


class BM25Index:
    """Immutable exact BM25 index over tokenised documents (see module docstring).

    Built by the index build from CSR arrays (``csr_from_id_chunks_twice``, or
    ``build.postings_scan``), or reloaded with :meth:`from_arrays` / :meth:`from_blobs`.  Queries keep no shared
    mutable state, so one index may serve several threads at once.
    """

    __slots__ = (
        "_params",
        "_doc_len",
        "_term_offsets",
        "_postings",
        "_vocab",
        "_n_docs",
        "_avgdl",
        "_norm",
        "_k1p1",
        "_max_impacts",
    )

    def __init__(
        self,
        *,
        params: BM25Params,
        doc_len: np.ndarray,
        term_offsets: np.ndarray,
        postings: PostingLists,
        vocab: Vocabulary,
    ) -> None:
        self._params = params
        self._doc_len = doc_len
        self._term_offsets = term_offsets
        self._postings = postings
        self._vocab = vocab
        self._n_docs = int(doc_len.shape[0])
        total = int(doc_len.sum(dtype=np.uint64))
        # Python int / int is correctly rounded, exactly as rank_bm25 computes it.
        self._avgdl = total / self._n_docs if self._n_docs and total else 0.0
        k1, b = params.k1, params.b
        self._k1p1 = k1 + 1
        if self._avgdl > 0.0:
            # Same operation order as rank_bm25: k1 * ((1 - b) + (b * dl) / avgdl).
            self._norm = k1 * ((1 - b) + (b * doc_len.astype(np.float64)) / self._avgdl)
        else:  # no tokens at all: no postings, the norm is never used
            self._norm = np.zeros(self._n_docs, dtype=np.float64)
        # Each term's largest impact (its MaxScore bound before the idf), by term id: computed
        # when a question first uses the term (one pass over its list), then kept, for at most
        # _MAX_IMPACTS_KEPT terms (a long-running bot would otherwise come to hold one per term).
        self._max_impacts: dict[int, float] = {}

    # -------------------------------------------------------------- properties

    @property
    def n_docs(self) -> int:
        """Number of documents (including empty ones)."""
        return self._n_docs

    @property
    def avgdl(self) -> float:
        """Mean document length in tokens (0.0 for an empty corpus)."""
        return self._avgdl

    @property
    def params(self) -> BM25Params:
        return self._params

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct terms."""
        return len(self._vocab)

    def df(self, term: str) -> int:
        """Number of documents containing ``term`` (0 if unknown)."""
        tid = self._vocab.get(term)
        if tid is None:
            return 0
        return int(self._term_offsets[tid + 1] - self._term_offsets[tid])

    def idf(self, term: str) -> float:
        """Lucene IDF of ``term``; 0.0 for a term absent from the corpus, which
        contributes nothing to any score (as in rank_bm25)."""
        df = self.df(term)
        return lucene_idf(self._n_docs, df) if df else 0.0

    def vocabulary(self) -> tuple[Vocabulary, np.ndarray]:
        """The terms by term id (decoded one at a time when read) and each one's document
        frequency (int64); for the spelling corrector, which indexes the frequent ones once."""
        return self._vocab, np.diff(self._term_offsets)

    # ----------------------------------------------------------------- queries

    def _prepare(self, query: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """Map the query to (slot of each known token in query order, term ids
        of the unique known terms, multiplicities)."""
        _check_query(query)
        vocab_get = self._vocab.get
        slot_of: dict[int, int] = {}
        token_slots: list[int] = []
        tids: list[int] = []
        mult: list[int] = []
        for tok in query:
            tid = vocab_get(tok)
            if tid is None:
                continue  # absent from the corpus: contributes 0
            slot = slot_of.get(tid)
            if slot is None:
                slot = slot_of[tid] = len(tids)
                tids.append(tid)
                mult.append(0)
            mult[slot] += 1
            token_slots.append(slot)
        return token_slots, tids, mult

    def _contrib(self, idf: float, tf: np.ndarray, docs: np.ndarray) -> np.ndarray:
        # Exactly rank_bm25's expression order: idf * ((tf * (k1 + 1)) / (tf + norm)).
        tf = tf.astype(np.float64)
        return idf * ((tf * self._k1p1) / (tf + self._norm[docs]))

    def top_k(self, query: Sequence[str], k: int) -> list[Hit]:
        """The ``k`` best documents for ``query``, exactly.

        Returns documents with score > 0 ordered by score descending, equal
        scores by smaller index first (the project's tie rule).  An empty
        query, a query of unknown terms only, or ``k <= 0`` gives ``[]``; fewer
        than ``k`` matching documents gives all of them.  Repeated query tokens
        count once per occurrence.  Scores are exact float64, bit-identical to
        :class:`LuceneBM25`.
        """
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise TypeError(f"k must be an int, got {k!r}")
        token_slots, tids, mult = self._prepare(query)
        k = int(k)
        if k <= 0 or not tids:
            return []
        offsets, n = self._term_offsets, self._n_docs
        bounds = [(int(offsets[t]), int(offsets[t + 1])) for t in tids]
        idfs = [lucene_idf(n, hi - lo) for lo, hi in bounds]
        lists = [self._postings.read(lo, hi) for lo, hi in bounds]
        doc_lists = [docs for docs, _ in lists]
        tf_lists = [tfs for _, tfs in lists]

        if self._n_docs >= KERNEL_ABOVE_DOCS:
            from .maxscore import exact_scores

            cand = self._maxscore_candidates(tids, doc_lists, tf_lists, idfs, mult, k)
            exact = exact_scores(
                doc_lists,
                tf_lists,
                self._norm,
                np.array(idfs, dtype=np.float64),
                np.array(token_slots, dtype=np.int64),
                cand,
                self._k1p1,
            )
            order = np.lexsort((cand, -exact))[:k]
            return [Hit(int(d), float(sc)) for d, sc in zip(cand[order].tolist(), exact[order].tolist())]

        # 1. Approximate scores of every matching document: impacts scaled by
        #    idf * multiplicity, summed per document by bincount (one C pass;
        #    numpy has no faster scatter-add).
        total = sum(hi - lo for lo, hi in bounds)
        docs = np.empty(total, dtype=np.intp)
        weights = np.empty(total, dtype=np.float64)
        pos = 0
        for term_docs, term_tfs, idf, mu in zip(doc_lists, tf_lists, idfs, mult):
            end = pos + term_docs.size
            docs[pos:end] = term_docs
            weights[pos:end] = self._contrib(idf * mu, term_tfs, term_docs)
            pos = end
        approx = np.bincount(docs, weights=weights, minlength=n)

        # 2. Candidates.  A cheap lower bound theta0 of the approximate k-th
        #    best score: the k-th best among the docs of the shortest list
        #    holding >= k docs (distinct docs, so it is a valid bound).  Then
        #    keep only documents within _MARGIN of the exact approximate k-th.
        theta0 = 0.0
        lens = [hi - lo for lo, hi in bounds]
        eligible = [u for u, ln in enumerate(lens) if ln >= k]
        if eligible:
            u = min(eligible, key=lens.__getitem__)
            a_u = approx[doc_lists[u]]
            theta0 = float(np.partition(a_u, a_u.size - k)[a_u.size - k])
        if theta0 > 0.0:
            cand = np.unique(docs[approx[docs] >= theta0 * (1.0 - _MARGIN)])
        else:
            cand = np.unique(docs)
        a_c = approx[cand]
        if cand.size > k:
            theta = float(np.partition(a_c, cand.size - k)[cand.size - k])
            cand = cand[a_c >= theta * (1.0 - _MARGIN)]

        # 3. Exact float64 scores of the few candidates, then the tie rule.
        exact = self._exact_scores(token_slots, lists, cand.astype(np.uint32))
        order = np.lexsort((cand, -exact))[:k]
        return [Hit(int(d), float(sc)) for d, sc in zip(cand[order].tolist(), exact[order].tolist())]

    def held_by(self, doc: int, terms: Iterable[str]) -> set[str]:
        """The terms among ``terms`` that document ``doc`` holds (tf > 0): one binary search
        in each term's posting list."""
        out: set[str] = set()
        if not 0 <= doc < self._n_docs:
            return out
        for term in terms:
            tid = self._vocab.get(term)
            if tid is None:
                continue
            docs, _ = self._postings.read(int(self._term_offsets[tid]), int(self._term_offsets[tid + 1]))
            i = sorted_position(docs, doc)
            if i < docs.size and int(docs[i]) == doc:
                out.add(term)
        return out

    def _maxscore_candidates(
        self,
        tids: list[int],
        doc_lists: list[np.ndarray],
        tf_lists: list[np.ndarray],
        idfs: list[float],
        mult: list[int],
        k: int,
    ) -> np.ndarray:
        """The approximate pass and candidate rule of ``top_k``, with MaxScore pruning in
        compiled code (``maxscore``): sorted unique candidate doc ids."""
        from .maxscore import max_impact, maxscore_candidates

        tops = []
        for tid, docs, tfs in zip(tids, doc_lists, tf_lists):
            top = self._max_impacts.get(tid)
            if top is None:  # a race only computes it twice
                if len(self._max_impacts) >= _MAX_IMPACTS_KEPT:
                    self._max_impacts.clear()
                top = self._max_impacts[tid] = max_impact(docs, tfs, self._norm, self._k1p1)
            tops.append(top)
        weights = np.array([idf * mu for idf, mu in zip(idfs, mult)], dtype=np.float64)
        ub = weights * np.array(tops, dtype=np.float64)
        order = np.argsort(ub, kind="stable").tolist()
        cand = maxscore_candidates(
            [doc_lists[i] for i in order],
            [tf_lists[i] for i in order],
            self._norm,
            self._k1p1,
            weights[order],
            ub[order],
            k,
            _MARGIN,
        )
        return np.sort(cand)

    def _exact_scores(
        self, token_slots: list[int], lists: list[tuple[np.ndarray, np.ndarray]], cand: np.ndarray
    ) -> np.ndarray:
        """Exact float64 scores of the sorted unique uint32 doc ids ``cand`` from the
        query's unique terms' posting ``lists``, computed and summed in query-token
        order exactly as rank_bm25 does (absent tokens add 0.0, which changes no bit)."""
        contrib: list[np.ndarray] = []
        for docs, tfs in lists:
            ia, ib = _intersect_sorted(cand, docs)
            cv = np.zeros(cand.size, dtype=np.float64)
            if ia.size:
                cv[ia] = self._contrib(lucene_idf(self._n_docs, docs.size), tfs[ib], cand[ia])
            contrib.append(cv)
        exact = np.zeros(cand.size, dtype=np.float64)
        for slot in token_slots:
            exact += contrib[slot]
        return exact

    def scores(self, query: Sequence[str], indices: Sequence[int]) -> list[float]:
        """Exact float64 scores of the documents ``indices`` (build-order
        positions), in the given order; bit-identical to
        ``LuceneBM25.get_scores(query)[indices]``.  0.0 for non-matching ones."""
        idx = np.asarray(indices)
        if idx.size == 0:
            return []
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise TypeError("indices must be a 1-D sequence of ints")
        idx = idx.astype(np.int64)
        if int(idx.min()) < 0 or int(idx.max()) >= self._n_docs:
            raise IndexError(f"document index out of range [0, {self._n_docs})")
        token_slots, tids, _ = self._prepare(query)
        uniq, inverse = np.unique(idx, return_inverse=True)
        offsets = self._term_offsets
        lists = [self._postings.read(int(offsets[t]), int(offsets[t + 1])) for t in tids]
        exact = self._exact_scores(token_slots, lists, uniq.astype(np.uint32))
        return exact[inverse].tolist()

    # ----------------------------------------------------------- serialisation

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to reload, as named arrays (layout in the module
        docstring).  Arrays are the index's own buffers, not copies: do not
        modify them.  (An index over postings read on demand reads them all here.)"""
        doc_ids, tfs = self._postings.whole()
        return {
            "format_version": np.array([FORMAT_VERSION], dtype=np.int64),
            "params": np.array([self._params.k1, self._params.b], dtype=np.float64),
            "doc_len": self._doc_len,
            "term_offsets": self._term_offsets,
            "doc_ids": doc_ids,
            "tfs": tfs,
            **self._vocab.arrays(),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, ArrayLike]) -> BM25Index:
        """Rebuild an index from :meth:`to_arrays` output (each value array-like: what
        ``np.asarray`` takes, e.g. the JSON list an index file stores a string array as).

        Arrays of the documented dtype are used in place (read-only buffers
        are fine); integer arrays of another dtype are converted.  Unknown
        keys are ignored (e.g. the ``term_max_tfpart`` cache written by an
        earlier revision of this module).  Structure is validated (offsets,
        id bounds, tf >= 1, sorted posting lists, unique terms: ~0.1 s at 60M
        postings); ``ValueError`` on any inconsistency.
        """
        doc_ids = _as_dtype("doc_ids", _get(arrays, "doc_ids"), np.uint32)
        tfs = _get(arrays, "tfs")
        if tfs.dtype not in (np.dtype(np.uint16), np.dtype(np.uint32)):
            tfs = _as_dtype("tfs", tfs, np.uint32)
        tfs = np.ascontiguousarray(tfs)
        if tfs.size != doc_ids.size:
            raise ValueError("tfs and doc_ids must have the same length")
        index = cls.over_postings(arrays, ArrayPostings(doc_ids, tfs))
        if doc_ids.size and int(doc_ids.max()) >= index.n_docs:
            raise ValueError("doc_ids out of range")
        if tfs.size and int(tfs.min()) == 0:
            raise ValueError("tfs must be >= 1")
        _check_postings_sorted(index._term_offsets, doc_ids)
        return index

    @classmethod
    def over_postings(cls, arrays: Mapping[str, ArrayLike], postings: PostingLists) -> BM25Index:
        """An index over posting lists kept elsewhere (``postings``; e.g. read from the index
        file on demand) and the other arrays of :meth:`to_arrays` (``doc_ids`` and ``tfs``, if
        given, are not read).  The arrays are validated as in :meth:`from_arrays`; the
        posting lists are only checked against ``term_offsets`` here, each list's content is
        the store's to check as it reads it (``postings.check_list``)."""
        version = _get(arrays, "format_version")
        if version.size != 1 or int(version[0]) != FORMAT_VERSION:
            raise ValueError(f"unsupported format_version {version.tolist()!r}")
        raw_params = _get(arrays, "params")
        if raw_params.size != 2:
            raise ValueError("params must hold [k1, b]")
        params = BM25Params(float(raw_params[0]), float(raw_params[1]))
        doc_len = _as_dtype("doc_len", _get(arrays, "doc_len"), np.uint32)
        term_offsets = _as_dtype("term_offsets", _get(arrays, "term_offsets"), np.int64)
        terms_utf8 = _as_dtype("terms_utf8", _get(arrays, "terms_utf8"), np.uint8)
        terms_offsets = _as_dtype("terms_offsets", _get(arrays, "terms_offsets"), np.int64)
        if terms_offsets.size != term_offsets.size:
            raise ValueError("terms_offsets inconsistent with term_offsets / terms_utf8")
        vocab = Vocabulary(terms_utf8, terms_offsets)

        n_terms = term_offsets.size - 1
        if n_terms < 0 or term_offsets[0] != 0 or term_offsets[-1] != postings.size:
            raise ValueError("term_offsets must start at 0 and end at len(doc_ids)")
        if n_terms and not bool(np.all(term_offsets[1:] > term_offsets[:-1])):
            raise ValueError("term_offsets must be strictly increasing (every term has df >= 1)")
        return cls(params=params, doc_len=doc_len, term_offsets=term_offsets, postings=postings, vocab=vocab)

    def to_blobs(self) -> dict[str, bytes]:
        """:meth:`to_arrays` with each array as a standard ``.npy`` file image,
        ready to store as one BLOB per key."""
        out: dict[str, bytes] = {}
        for name, arr in self.to_arrays().items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            out[name] = buf.getvalue()
        return out

    @classmethod
    def from_blobs(cls, blobs: Mapping[str, bytes | bytearray | memoryview]) -> BM25Index:
        """Inverse of :meth:`to_blobs` (``bytes``, ``bytearray`` or
        ``memoryview`` values, e.g. SQLite BLOBs).  The arrays are views into
        the given buffers (no copy of the ~360 MB at 1M docs): do not mutate
        those buffers afterwards."""
        arrays: dict[str, np.ndarray] = {}
        for name, blob in blobs.items():
            mv = memoryview(blob).cast("B")
            # Parse only the header bytes (a BytesIO over a memoryview would
            # copy the whole, possibly 100s of MB, buffer).
            if mv.nbytes < 10 or bytes(mv[:6]) != b"\x93NUMPY":
                raise ValueError(f"blob {name!r} is not a .npy image")
            major = mv[6]
            if major == 1:
                end = 10 + int.from_bytes(mv[8:10], "little")
            elif major == 2:
                end = 12 + int.from_bytes(mv[8:12], "little")
            else:
                raise ValueError(f"blob {name!r}: unsupported .npy version {major}")
            fp = io.BytesIO(bytes(mv[:end]))
            np.lib.format.read_magic(fp)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(fp)
            if fortran or len(shape) != 1 or dtype.hasobject:
                raise ValueError(f"blob {name!r}: expected a 1-D C-order numeric array")
            arrays[name] = np.frombuffer(mv, dtype=dtype, count=shape[0], offset=end)
        return cls.from_arrays(arrays)
