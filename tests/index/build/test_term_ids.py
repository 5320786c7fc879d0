"""Term ids numbered by workers and made global by the parent equal one vocabulary's ids."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

import numpy as np
import pytest

from citebot.index.build.term_ids import GlobalTermIds, LocalTermIds


def test_global_ids_are_handed_out_in_order_of_first_appearance_in_document_order() -> None:
    rng = random.Random(4)
    words = [f"w{i}" for i in range(300)]
    for _ in range(50):
        docs = [[rng.choice(words[: rng.randrange(1, 300)]) for _ in range(rng.randrange(0, 40))] for _ in range(60)]
        expected: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        want = [np.fromiter(map(expected.__getitem__, d), dtype=np.int32, count=len(d)) for d in docs]

        # Batches of 1-5 documents go to one of three workers; the parent takes them in order.
        workers = [LocalTermIds() for _ in range(3)]
        vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        parent = GlobalTermIds(vocab)
        got: list[np.ndarray] = []
        i = 0
        while i < len(docs):
            batch = docs[i : i + rng.randrange(1, 6)]
            w = rng.randrange(3)
            local = [workers[w].encode(d) for d in batch]
            parent.learn(w, *workers[w].take_new_terms())
            got.extend(parent.globalise(w, ids) for ids in local)
            i += len(batch)
        assert [g.tolist() for g in got] == [x.tolist() for x in want]
        assert list(vocab) == list(expected)


def test_terms_sent_out_of_order_are_refused() -> None:
    worker = LocalTermIds()
    worker.encode(["a", "b"])
    worker.take_new_terms()
    worker.encode(["c"])
    parent = GlobalTermIds(defaultdict(itertools.count().__next__))
    with pytest.raises(RuntimeError, match="expected 0"):
        parent.learn(1, *worker.take_new_terms())
