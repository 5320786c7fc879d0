"""The exact reference BM25: rank_bm25's Okapi with Lucene's IDF.

What `bm25.BM25Index` must equal, score for score (bit for bit wherever rank_bm25's result is
finite): the tests and `benchmarks/scale.py` compare the two. Slow on purpose (a dense pass
over every document per query); production never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import rank_bm25

from .bm25 import BM25Params, lucene_idf


class LuceneBM25(rank_bm25.BM25Okapi):
    """The reference: rank_bm25's Okapi with ``_calc_idf`` overridden to Lucene's IDF.

    ``BM25Okapi._calc_idf`` is the only place rank_bm25 computes IDFs and
    applies its epsilon floor (``epsilon * average_idf``) to negative ones;
    replacing it entirely means no epsilon logic survives (the parent's
    ``epsilon`` attribute keeps its default and is never read).

    ``get_scores`` is rank_bm25's expression unchanged, except that a term
    absent from a document contributes exactly 0.0: rank_bm25 evaluates 0/0 =
    NaN there when ``k1 == 0``, or ``b == 1`` and the document is empty, or
    every document is empty.
    Wherever rank_bm25's result is finite the two are bit-identical (the test
    suite checks this against ``BM25Okapi.get_scores``).  This is a slow O(N)
    per query token reference, for tests and benchmarks only.
    """

    def __init__(self, corpus: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        params = BM25Params(k1, b)
        if len(corpus) == 0:
            raise ValueError("LuceneBM25 needs at least one document")
        super().__init__(corpus, k1=params.k1, b=params.b)

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {word: lucene_idf(self.corpus_size, freq) for word, freq in nd.items()}
        # Kept only for attribute compatibility with BM25Okapi; unused.
        self.average_idf = (sum(self.idf.values()) / len(self.idf)) if self.idf else 0.0

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        score = np.zeros(self.corpus_size)
        doc_len = np.array(self.doc_len)
        with np.errstate(divide="ignore", invalid="ignore"):
            for q in query:
                q_freq = np.array([(doc.get(q) or 0) for doc in self.doc_freqs])
                contrib = (self.idf.get(q) or 0) * (
                    q_freq * (self.k1 + 1) / (q_freq + self.k1 * (1 - self.b + self.b * doc_len / self.avgdl))
                )
                score += np.where(q_freq > 0, contrib, 0.0)
        return score
