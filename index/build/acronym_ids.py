"""Acronym injection over arrays of term ids: `AcronymMap.expand` for a million passages at once.

The in-memory build expands each passage's term list in Python. The streaming build keeps
terms only as ids, and learns the acronym map only when every document is in; decoding ids
back to strings to expand passage by passage cost more than the rest of its parent process's
work, because common words ("american", "european", "high") start long forms and so most
passages of a real corpus hold some long form's first term.

Here the same rule is applied with numpy to a chunk of passages: the chunk's tokens are split
into segments (each passage's body, then each copy of its context: `expand(body) +
expand(context) * weight` expands them separately), and for every pair the runs of its long
form inside one segment are found by comparing shifted id arrays. As in `append_short_forms`,
runs are taken greedily from the left without overlapping, and a run directly followed by its
short form (the definition itself) is consumed but not counted. Only the *counts* matter:
BM25 sees a passage as a bag of terms, so each counted run adds one short-form token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis import AcronymMap


@dataclass(frozen=True)
class IdPair:
    """One acronym in term ids."""

    short: int
    long: tuple[int, ...]

    @property
    def can_overlap(self) -> bool:
        """Whether two runs of the long form can overlap (a proper suffix equals a prefix)."""
        n = len(self.long)
        return any(self.long[n - k :] == self.long[:k] for k in range(1, n))


def id_pairs(acronyms: AcronymMap, vocab: dict[str, int]) -> list[IdPair]:
    """The pairs whose long form can occur at all (every long-form term is in `vocab`); short
    forms get ids (`vocab` hands out new ones, e.g. a defaultdict), in the map's order."""
    out = []
    for short, long_terms in acronyms.pairs.items():
        if long_terms and all(t in vocab for t in long_terms):
            out.append(IdPair(vocab[short], tuple(vocab[t] for t in long_terms)))
    return out


def short_form_hits(ids: np.ndarray, segment: np.ndarray, pairs: list[IdPair]) -> tuple[np.ndarray, np.ndarray]:
    """(token positions, short-form ids) of every counted long-form run in `ids`, where
    `segment[i]` numbers the segment token i belongs to (runs never cross segments)."""
    positions: list[np.ndarray] = []
    shorts: list[np.ndarray] = []
    if not pairs or not ids.size:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    firsts = np.array(sorted({p.long[0] for p in pairs}), dtype=ids.dtype)
    candidates = np.flatnonzero(np.isin(ids, firsts))
    n_tokens = ids.size
    for pair in pairs:
        n = len(pair.long)
        q = candidates[ids[candidates] == pair.long[0]]
        q = q[q + n <= n_tokens]
        for k in range(1, n):
            q = q[(ids[q + k] == pair.long[k]) & (segment[q + k] == segment[q])]
        if not q.size:
            continue
        if pair.can_overlap:
            q = _greedy(q, segment, n)
        follows = q + n
        inside = follows < n_tokens
        defined = np.zeros(q.size, dtype=bool)
        defined[inside] = (ids[follows[inside]] == pair.short) & (segment[follows[inside]] == segment[q[inside]])
        counted = q[~defined]
        positions.append(counted)
        shorts.append(np.full(counted.size, pair.short, dtype=np.int64))
    if not positions:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(positions), np.concatenate(shorts)


def _greedy(starts: np.ndarray, segment: np.ndarray, n: int) -> np.ndarray:
    """Runs taken left to right, skipping any that starts inside the previous taken run of its
    segment (the scan in `append_short_forms` jumps past a match)."""
    kept: list[int] = []
    end, seg = -1, -1
    for s in starts.tolist():
        if segment[s] != seg or s >= end:
            kept.append(s)
            end, seg = s + n, int(segment[s])
    return np.array(kept, dtype=np.int64)
