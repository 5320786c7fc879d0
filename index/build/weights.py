"""Weighing each document at build time: `corpus.weights` into the index's `weight` column.

Why a step of its own: the weight is not in the passages' terms (`ranking.source_weights` says
how it is applied at question time), so every build, the incremental one included, weighs every
document again and a change of weights in config.toml rewrites one column, nothing else.
"""

from __future__ import annotations

import sqlite3

from ..indexfile.tables import (
    WEIGHTED_META_KEY,
    document_weights,
    reset_document_weights,
    set_document_weights,
)
from ..ingest.source_names import decode_roots
from ..ingest.source_rules import SourceRules, relative_name

RULES_META_KEY = "source_weights"  # the weight rules the documents' weights were made by (JSON)


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
