"""Where a BM25 index's posting lists live, as `BM25Index` reads them.

The postings are the bulk of an index (at a million passages ~70M of them: 280 MB of doc ids,
140 MB of term frequencies) and a question reads the lists of its few terms only. So the index
asks for one term's list at a time, by its CSR range [lo, hi) in the whole postings arrays:

- `ArrayPostings`: both arrays in memory (an index built or loaded in this process);
- `indexfile.postings.BlobPostings`: read from the index file on demand, so a serving process
  neither copies the arrays into memory nor waits for them at start-up.

`check_list` is the validation a list read from outside gets before any compiled code walks it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PostingLists(Protocol):
    """Posting lists by CSR range: ascending uint32 doc ids and their uint16/uint32 term
    frequencies. Implementations may be read from several threads at once."""

    @property
    def size(self) -> int:
        """Total number of postings (the CSR arrays' length)."""
        ...

    def read(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(doc_ids, tfs) of postings [lo, hi): one term's list. Read-only arrays."""
        ...

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        """Both arrays entire (for saving or patching an index; not on the question path)."""
        ...


class ArrayPostings:
    """Posting lists held in memory: the two CSR arrays, sliced per term (no copy)."""

    __slots__ = ("doc_ids", "tfs")

    def __init__(self, doc_ids: np.ndarray, tfs: np.ndarray) -> None:
        self.doc_ids = doc_ids
        self.tfs = tfs

    @property
    def size(self) -> int:
        return int(self.doc_ids.size)

    def read(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return self.doc_ids[lo:hi], self.tfs[lo:hi]

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        return self.doc_ids, self.tfs


def check_list(doc_ids: np.ndarray, tfs: np.ndarray, n_docs: int) -> str | None:
    """What is wrong with one term's posting list (None when nothing): it must hold at least one
    posting, strictly ascending doc ids below `n_docs`, and as many term frequencies, all >= 1."""
    if doc_ids.size == 0:
        return "an empty posting list"
    if tfs.size != doc_ids.size:
        return f"{doc_ids.size} doc ids but {tfs.size} term frequencies"
    if int(doc_ids[-1]) >= n_docs:
        return f"doc id {int(doc_ids[-1])} beyond the {n_docs} documents"
    if doc_ids.size > 1 and not bool(np.all(doc_ids[1:] > doc_ids[:-1])):
        return "doc ids not strictly ascending"
    if int(tfs.min()) == 0:
        return "a term frequency of 0"
    return None
