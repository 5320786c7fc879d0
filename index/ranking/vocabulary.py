"""A BM25 index's term dictionary: term -> term id over the index's stored UTF-8 terms.

The terms are kept as the index file stores them (``terms_utf8``, all terms concatenated, and
``terms_offsets``) and found through an open-addressing table of int32 ids built in C at open
(`_vocab.c`): 4-8 bytes a term instead of the ~130 of a Python dict and its str keys, which
at a million passages (1.9 million terms) had been ~250 MB of a serving process and ~0.4 s of
its start-up. The terms are decoded into Python strings only when something needs them all
(the spelling corrector, on the first question with an unknown word).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence

import numpy as np

from ._vocab import build as _build_table
from ._vocab import lookup as _lookup

__all__ = ["Vocabulary", "encode_terms", "decode_terms"]


def encode_terms(terms: Sequence[str]) -> dict[str, np.ndarray]:
    """The vocabulary as stored: ``terms_utf8`` (all terms concatenated) and ``terms_offsets``."""
    encoded = [t.encode("utf-8") for t in terms]
    terms_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=terms_offsets[1:])
    return {"terms_utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8), "terms_offsets": terms_offsets}


def decode_terms(terms_utf8: np.ndarray, terms_offsets: np.ndarray) -> list[str]:
    """Inverse of ``encode_terms`` (UnicodeDecodeError for bytes that are not UTF-8 there)."""
    blob = terms_utf8.tobytes()
    bounds = terms_offsets.tolist()
    text = blob.decode("utf-8")
    if len(text) == len(blob):  # pure ASCII: byte offsets == char offsets
        return [text[a:z] for a, z in zip(bounds[:-1], bounds[1:])]
    return [blob[a:z].decode("utf-8") for a, z in zip(bounds[:-1], bounds[1:])]


class Vocabulary:
    """The terms of an index by term id, and the id of a term (`get`). Immutable; safe to
    share between threads."""

    __slots__ = ("_utf8", "_offsets", "_table", "_size")

    def __init__(self, terms_utf8: np.ndarray, terms_offsets: np.ndarray) -> None:
        """Over the stored arrays (uint8 and int64, used in place). ValueError when they are
        inconsistent, not UTF-8 at the given offsets, or list a term twice."""
        if terms_utf8.dtype != np.uint8 or terms_offsets.dtype != np.int64:
            raise ValueError("terms_utf8 must be uint8 and terms_offsets int64")
        offsets = terms_offsets
        if offsets.size < 1 or offsets[0] != 0 or offsets[-1] != terms_utf8.size:
            raise ValueError("terms_offsets inconsistent with term_offsets / terms_utf8")
        if offsets.size > 1 and not bool(np.all(offsets[1:] >= offsets[:-1])):
            raise ValueError("terms_offsets must be non-decreasing")
        try:
            # The whole buffer is UTF-8, and no term starts inside a character: then each is.
            codecs.utf_8_decode(terms_utf8.data, "strict", True)
            starts = offsets[:-1][offsets[1:] > offsets[:-1]]
            if starts.size and bool(np.any((terms_utf8[starts] & 0xC0) == 0x80)):
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "a term starts inside a character")
        except UnicodeDecodeError as exc:
            raise ValueError("terms_utf8 is not valid UTF-8 at the given offsets") from exc
        self._utf8 = terms_utf8
        self._offsets = offsets
        self._size = int(offsets.size - 1)
        self._table = _build_table(terms_utf8, offsets)

    @classmethod
    def of(cls, terms: Sequence[str]) -> Vocabulary:
        """The vocabulary of these terms, term id = position."""
        arrays = encode_terms(terms)
        return cls(arrays["terms_utf8"], arrays["terms_offsets"])

    def __len__(self) -> int:
        return self._size

    def get(self, term: str) -> int | None:
        """The term id of `term`, None when the index does not hold it."""
        tid = _lookup(self._table, self._utf8, self._offsets, term)
        return None if tid < 0 else tid

    def __getitem__(self, tid: int) -> str:
        """The term with id `tid` (decoded now); IndexError outside [0, len)."""
        if not 0 <= tid < self._size:
            raise IndexError(f"term id {tid} outside [0, {self._size})")
        return self._utf8[self._offsets[tid] : self._offsets[tid + 1]].tobytes().decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return iter(self.terms())

    def terms(self) -> list[str]:
        """Every term, by term id (decoded now: one O(terms) pass)."""
        return decode_terms(self._utf8, self._offsets)

    def arrays(self) -> dict[str, np.ndarray]:
        """The stored form: ``terms_utf8`` and ``terms_offsets`` (this vocabulary's own buffers)."""
        return {"terms_utf8": self._utf8, "terms_offsets": self._offsets}
