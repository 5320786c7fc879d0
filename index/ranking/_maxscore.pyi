"""Types of the C extension compiled from _maxscore.c (mypy cannot read a compiled module);
`maxscore.py` wraps each function and says what it does."""

from collections.abc import Sequence

import numpy as np

# Any C-contiguous buffer of the documented item type; numpy arrays and bytes in practice.
Buffer = np.ndarray | bytes | bytearray | memoryview

def max_impact(doc_ids: Buffer, tfs: Buffer, norm: Buffer, k1p1: float, /) -> float: ...
def maxscore_candidates(
    doc_lists: Sequence[Buffer],
    tf_lists: Sequence[Buffer],
    norm: Buffer,
    k1p1: float,
    weights: Buffer,
    bounds: Buffer,
    k: int,
    margin: float,
    /,
) -> bytes: ...
def exact_scores(
    doc_lists: Sequence[Buffer],
    tf_lists: Sequence[Buffer],
    norm: Buffer,
    idfs: Buffer,
    token_slots: Buffer,
    cand: Buffer,
    k1p1: float,
    /,
) -> bytes: ...
