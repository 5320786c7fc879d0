"""`acronym_ids.short_form_hits` counts exactly the short forms `AcronymMap.expand` appends,
segment by segment, on random term sequences built to contain long forms, definitions,
overlapping runs ("a b a" in "a b a b a") and runs that cross a segment edge."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np

from citebot.index.analysis import AcronymMap
from citebot.index.build.acronym_ids import id_pairs, short_form_hits

WORDS = ["a", "b", "c", "d", "e"]
PAIRS = {"ab": ("a", "b"), "aba": ("a", "b", "a"), "aa": ("a", "a"), "cde": ("c", "d", "e"), "zz": ("z", "y")}


def test_counts_match_acronym_map_expand_per_segment() -> None:
    rng = random.Random(7)
    acronyms = AcronymMap(PAIRS)
    for _ in range(400):
        segments = []
        for _ in range(rng.randrange(1, 6)):
            seg = [rng.choice(WORDS + list(PAIRS)) for _ in range(rng.randrange(0, 14))]
            segments.append(seg)
        vocab: dict[str, int] = {}
        for seg in segments:
            for t in seg:
                vocab.setdefault(t, len(vocab))
        want = Counter()
        for s, seg in enumerate(segments):
            for t in acronyms.expand(seg)[len(seg) :]:
                want[(s, t)] += 1

        class Auto(dict):
            def __missing__(self, key: str) -> int:
                self[key] = len(self)
                return self[key]

        auto = Auto(vocab)
        pairs = id_pairs(acronyms, auto)
        ids = np.array([auto[t] for seg in segments for t in seg], dtype=np.int64)
        segment = np.repeat(np.arange(len(segments)), [len(seg) for seg in segments])
        at, shorts = short_form_hits(ids, segment, pairs)
        names = {i: t for t, i in auto.items()}
        got = Counter((int(segment[q]), names[int(sid)]) for q, sid in zip(at, shorts))
        assert got == want, segments
