"""Per-source weights in the index: stored with each document, applied when a question is scored.

`corpus.weights` (`source_rules`) gives each document a weight, 1 unless a pattern says
otherwise. The weight is stored in the index (`documents.weight`, and in `meta` the rules
that made it and how many documents weigh other than 1), not in the passages' terms: BM25's
postings, document lengths and IDFs do not depend on it. So changing the weights in
config.toml changes no analysis -- a reindex rewrites only the `weight` column
(`build.weights.write_weights`, run by every build, the incremental one included), and every unchanged
file is kept as it is.

At question time the weight multiplies a passage's score wherever passages are compared:
which passages BM25 hands to the re-rank (`weighted_top_k`, exact: the best `k` by BM25
score times weight), and the re-ranked total (`answering`). All re-rank features and BM25
scores are positive, so a weight of 0.5 halves the passage's final score and 1 changes no
bit. An index whose documents all weigh 1 loads no weights at all (`indexfile.tables.load_weights`
returns None) and is scored exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .bm25 import BM25Index, Hit

# weighted_top_k asks BM25 for this many times `k` passages first, then four times more each
# round until the answer is exact.
_FIRST_DEPTH = 2
_GROWTH = 4


def weighted_top_k(bm25: BM25Index, query: Sequence[str], k: int, weights: np.ndarray) -> list[Hit]:
    """The `k` passages with the best BM25 score times weight, exactly, best first (equal
    products: smaller position first, BM25's own tie rule). Each Hit keeps its plain BM25
    score; the caller multiplies by the weight where it compares.

    BM25 is asked for more passages than `k` until no passage it left out can reach the k-th
    product: a passage below the last one returned scores at most that one's BM25 score times
    the largest weight."""
    if k <= 0:
        return []
    largest = float(weights.max()) if weights.size else 1.0
    depth = min(bm25.n_docs, max(k * _FIRST_DEPTH, k + 1))
    while True:
        hits = bm25.top_k(query, depth)
        ranked = sorted(hits, key=lambda h: (-(h.score * weights[h.index]), h.index))
        if len(hits) < depth or depth >= bm25.n_docs:
            return ranked[:k]  # every matching passage is in
        if len(ranked) >= k and ranked[k - 1].score * weights[ranked[k - 1].index] > hits[-1].score * largest:
            return ranked[:k]
        depth = min(bm25.n_docs, depth * _GROWTH)
