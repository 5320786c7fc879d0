"""Per-source weights in the index: stored with each document, applied when a question is scored.

`corpus.weights` (`source_rules`) gives each document a weight, 1 unless a pattern says
otherwise. The weight is stored in the index (`documents.weight`, and in `meta` the rules
that made it and how many documents weigh other than 1), not in the passages' terms: BM25's
postings, document lengths and IDFs do not depend on it. So changing the weights in
config.toml changes no analysis -- a reindex rewrites only the `weight` column
(`write_weights`, run by every build, the incremental one included), and every unchanged
file is kept as it is.

At question time the weight multiplies a passage's score wherever passages are compared:
which passages BM25 hands to the re-rank (`weighted_top_k`, exact: the best `k` by BM25
score times weight), and the re-ranked total (`answering`). All re-rank features and BM25
scores are positive, so a weight of 0.5 halves the passage's final score and 1 changes no
bit. An index whose documents all weigh 1 loads no weights at all (`load_weights` returns
None) and is scored exactly as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from .bm25 import BM25Index, Hit
from .indexfile.tables import (document_weights, passage_counts_and_weights, reset_document_weights,
                                set_document_weights)
from .source_names import decode_roots
from .source_rules import SourceRules, relative_name

RULES_META_KEY = "source_weights"  # the weight rules the documents' weights were made by (JSON)
WEIGHTED_META_KEY = "weighted_documents"  # how many documents weigh other than 1

# weighted_top_k asks BM25 for this many times `k` passages first, then four times more each
# round until the answer is exact.
_FIRST_DEPTH = 2
_GROWTH = 4


def write_weights(db: sqlite3.Connection, rules: SourceRules, roots_meta: str | None) -> dict[str, str]:
    """Set every document's `weight` in the index being written through `db` from `rules`
    (each document matched by `relative_name` inside the corpus roots recorded in the
    `corpus_roots` meta value `roots_meta`); returns the `meta` entries that describe them.

    Every document is weighed again, whatever weight it had: a copy of the previous index
    (the incremental build) then holds what a full build would write."""
    if not rules.weights:
        reset_document_weights(db)
        return {RULES_META_KEY: rules.weights_json(), WEIGHTED_META_KEY: "0"}
    roots = [root for root, _label in decode_roots(roots_meta)]
    updates: list[tuple[float, int]] = []
    weighted = 0
    for doc_id, path, kind, old in document_weights(db):
        weight = rules.weight_of(relative_name(path, kind, roots))
        weighted += weight != 1.0
        if weight != old:
            updates.append((weight, doc_id))
    set_document_weights(db, updates)
    return {RULES_META_KEY: rules.weights_json(), WEIGHTED_META_KEY: str(weighted)}


def load_weights(conn: sqlite3.Connection, meta: dict[str, str], n_passages: int) -> np.ndarray | None:
    """Each BM25 position's weight (its document's), or None when every document weighs 1.

    Documents hold consecutive positions in build order (`documents.ord`), as every build
    writes them. ValueError when the documents do not account for `n_passages` positions."""
    if meta.get(WEIGHTED_META_KEY, "0") == "0":
        return None
    rows = passage_counts_and_weights(conn)
    counts = np.array([n for n, _ in rows], dtype=np.int64)
    if int(counts.sum()) != n_passages:
        raise ValueError(f"the documents hold {int(counts.sum())} passages but BM25 has {n_passages}")
    return np.repeat(np.array([w for _, w in rows], dtype=np.float64), counts)


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
