"""Term ids across the build's processes: workers number terms locally, the parent globally.

A document's BM25 terms used to reach the parent as one string, which it split and looked up
term by term in the corpus vocabulary: ~0.8 ms of the parent's CPU per 4,000-token document,
fresh strings each time (every hash computed anew) in a dictionary of a million terms. Now each
worker numbers the terms it meets (`LocalTermIds`: its tokens come from the analyser's memo, so
their hashes are cached) and sends a document as an int array, plus, once per batch, the terms
it met for the first time. The parent (`GlobalTermIds`) keeps, per worker, which global id
each local id stands for, and looks a term up by text only the first time that worker sends
it -- in the order of first appearance in the document, so global ids are handed out exactly as
before: in order of first appearance in document order, whatever worker read what.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..analysis import number_terms


class LocalTermIds:
    """In a worker: its terms numbered in order of first appearance (in C: a Python loop over
    a document's ~5,000 terms was a tenth of the worker's CPU)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._sent = 0
        self._fresh: list[str] = []

    def encode(self, tokens: list[str]) -> np.ndarray:
        """The local ids of `tokens`, numbering the ones not seen yet."""
        return np.frombuffer(number_terms(tokens, self._ids, self._fresh), dtype=np.int32)

    def take_new_terms(self) -> tuple[int, list[str]]:
        """(the local id of the first, the terms numbered since the last call)."""
        start, fresh = self._sent, self._fresh
        self._sent += len(fresh)
        self._fresh = []
        return start, fresh


class GlobalTermIds:
    """In the parent: the corpus vocabulary, and per worker which global id each local id is."""

    def __init__(self, vocab: defaultdict[str, int]) -> None:
        self.vocab = vocab  # term -> global id; a new term gets the next id
        self._terms: dict[int, list[str]] = {}  # per worker: its terms by local id
        self._table: dict[int, np.ndarray] = {}  # per worker: local id -> global id, -1 if not looked up

    def learn(self, worker: int, start: int, terms: list[str]) -> None:
        """Take a worker's newly numbered terms (its batches arrive in the order it read them)."""
        known = self._terms.setdefault(worker, [])
        if start != len(known):
            raise RuntimeError(f"worker {worker} sent terms from local id {start}, expected {len(known)}")
        known.extend(terms)
        table = self._table.get(worker)
        if table is None or table.size < len(known):
            grown = np.full(max(len(known), 2 * (0 if table is None else table.size), 1024), -1, dtype=np.int32)
            if table is not None:
                grown[: table.size] = table
            self._table[worker] = grown

    def globalise(self, worker: int, local: np.ndarray) -> np.ndarray:
        """The global ids of a document's local ids, looking up the worker's terms not seen
        from it before in order of first appearance (which hands out new global ids)."""
        table = self._table[worker]
        ids = table[local]
        missing = ids < 0
        if missing.any():
            unseen, first = np.unique(local[missing], return_index=True)
            terms, vocab = self._terms[worker], self.vocab
            for lid in unseen[np.argsort(first)].tolist():
                table[lid] = vocab[terms[lid]]
            ids = table[local]
        return ids
