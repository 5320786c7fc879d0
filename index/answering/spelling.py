"""Correcting question words the corpus does not know: "Roscomsos" is searched as "Roscosmos".

A misspelt name matches nothing, and the decline rule counts a word no source uses against the
answer, so a typo would read as a question about something unknown. A word whose term is not in
the index is therefore corrected to an index term a small edit away -- when exactly one is, or
one is far more frequent than the others (SymSpell's frequency weighting) -- and searched for
as that term. Two probes find the candidates; both cost a bounded amount per word, whatever the
size of the corpus:

- SymSpell (Wolf Garbe's symmetric delete): every index term's deletions up to the distance it
  can be reached at, hashed into one sorted array (8 bytes a deletion: 1.15M deletions, 9 MB,
  built in 0.4 s, for 35k eight-letter terms, the vocabulary size of a million SQuAD
  passages). A lookup hashes the word's own few deletions, finds them by binary search, and
  checks the real distance of the few terms they name. The array is built once, on the first
  word that needs it, from at most MAX_TERMS terms (the most frequent ones), in numpy: a
  vocabulary of 500k terms costs no more than one of 60k.
- Surface edits: terms are stems ("Boeing" is indexed as "boe"), and a typo in the part the
  stemmer strips ("Boieng") keeps the word from stemming alike. So every one-edit variant of
  the typed word is analysed too, and counts at distance 1 when it is indexed: the word was one
  edit from a word the corpus holds. Only the variants with an ending the stemmer acts on are
  stemmed (`variant_terms`): about 1 ms a word.

Edit distance is optimal string alignment (Damerau-Levenshtein without re-editing a
substring): an adjacent swap is one edit. Words shorter than MIN_WORD are never corrected
(there, one edit reaches too many words), words from LONG_WORD letters on may be two edits off.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np
from nltk.stem.snowball import EnglishStemmer

from ..analysis import Analyzer

MIN_WORD = 4
LONG_WORD = 8
# A term that short words cannot reach is not worth indexing; nor are the longest ones, whose
# deletions grow with the square of their length.
MIN_TERM, MAX_TERM = 3, 24
MAX_TERMS = 60_000
# Among candidates at the smallest distance, the most frequent wins only when it is in at least
# this many times as many passages as the next; otherwise the word is left as typed.
DOMINANCE = 3.0
# Letters tried by the surface probe: the most frequent ones of the indexed terms.
ALPHABET_SIZE = 40
MEMO_LIMIT = 10_000
FORGET_AFTER = 200_000

_MASK = (1 << 64) - 1
_PRIME = 0x100000001B3  # FNV's 64-bit prime: odd, so multiplying by it loses no bits


def max_distance(word: str) -> int:
    """How many edits a typed word may be from its correction: 0 (never corrected) for short
    words, 1 for most, 2 for long ones."""
    n = len(word)
    return 0 if n < MIN_WORD else 1 if n < LONG_WORD else 2


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance of `a` and `b`, or `limit + 1` once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        ca = a[i - 1]
        for j in range(1, len(b) + 1):
            cb = b[j - 1]
            cost = 0 if ca == cb else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


def deletions(word: str, distance: int) -> set[str]:
    """`word` and every string made from it by deleting up to `distance` characters."""
    out = {word}
    edge = {word}
    for _ in range(distance):
        edge = {w[:i] + w[i + 1 :] for w in edge for i in range(len(w))}
        out |= edge
    return out


def string_hash(s: str) -> int:
    """The hash `_row_hashes` gives the code points of `s` (unsigned 64-bit)."""
    h = len(s)
    for c in s:
        h = (h * _PRIME + ord(c) + 1) & _MASK
    return h


def _row_hashes(codes: np.ndarray) -> np.ndarray:
    """`string_hash` of each row of code points, for a whole block of equal-length strings."""
    h = np.full(codes.shape[0], codes.shape[1], dtype=np.uint64)
    prime = np.uint64(_PRIME)
    for col in codes.T:
        h *= prime  # wraps modulo 2**64, as string_hash masks
        h += col
        h += np.uint64(1)
    return h


def _short_hashes(hashes: np.ndarray) -> np.ndarray:
    """The high 32 bits of 64-bit `string_hash`es (the better-mixed half of a polynomial hash),
    as the delete index stores them: half the memory (~8M deletions at a million realistic
    passages). A collision only adds a candidate term, which `Speller` then drops by its real
    edit distance (~0.2% of probes meet one at 8M deletions), so no correction changes."""
    return (hashes >> np.uint64(32)).astype(np.uint32)


def one_edit_variants(word: str, alphabet: Iterable[str]) -> set[str]:
    """Every string one deletion, adjacent swap, substitution or insertion away from `word`."""
    letters = list(alphabet)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    out.update(a + c + b[1:] for a, b in splits if b for c in letters)
    out.update(a + c + b for a, b in splits for c in letters)
    out.discard(word)
    return out


def snowball_endings() -> tuple[tuple[str, ...], frozenset[str]]:
    """Every ending nltk's English Snowball stemmer acts on, and its special words: a lower-case
    word with neither is its own stem (`variant_terms`)."""
    stemmer = EnglishStemmer()
    endings = {"y"}
    for step in ("1a", "1b", "2", "3", "4", "5"):
        endings.update(getattr(stemmer, f"_EnglishStemmer__step{step}_suffixes"))
    return tuple(sorted(endings)), frozenset(stemmer._EnglishStemmer__special_words)


def variant_terms(analyzer: Analyzer) -> Callable[[str], str | None]:
    """`analyzer.term` for the lower-case one-edit variants the speller tries, for the default
    analyser: a variant with no ending the stemmer acts on is its own term (or a stopword), so
    only the others are stemmed -- most of a name's variants are looked up as they are."""
    endings, special = snowball_endings()
    stopwords = analyzer.stopwords
    term = analyzer.term

    def variant_term(word: str) -> str | None:
        if word.endswith(endings) or word in special or len(word) <= 2:
            return term(word)
        return None if word in stopwords else word

    return variant_term


class Terms(Protocol):
    """Terms by term id: a list, or the index's `Vocabulary`, which decodes one when asked."""

    def __len__(self) -> int: ...

    def __getitem__(self, tid: int, /) -> str: ...


def _eligible(term: str) -> bool:
    return MIN_TERM <= len(term) <= MAX_TERM and term.isalpha()


class DeleteIndex:
    """SymSpell's deletions of a set of terms, as sorted hashes with the term each came from."""

    def __init__(self, terms: Terms, dfs: np.ndarray, max_terms: int = MAX_TERMS) -> None:
        # The `max_terms` most frequent eligible terms; equal frequencies keep term-id order, so
        # it is deterministic. Walked in that order, so that only the terms kept (and the
        # ineligible ones met before) are decoded: at a million passages the index holds 1.9
        # million terms, 60,000 of which are kept.
        # (In blocks: a Python int per term, 1.9 million of them, would stay in the process's
        # memory as ~90 MB of freed but never returned small-object arenas.)
        by_frequency = np.argsort(-np.asarray(dfs), kind="stable")
        blocks = (by_frequency[at : at + 4096].tolist() for at in range(0, by_frequency.size, 4096))
        self.terms: dict[int, str] = {}
        for tid in itertools.chain.from_iterable(blocks):
            if len(self.terms) == max_terms:
                break
            term = terms[tid]
            if _eligible(term):
                self.terms[tid] = term
        del by_frequency, blocks
        eligible = sorted(self.terms)
        self.term_ids = np.asarray(eligible, dtype=np.int64)
        hashes: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        chars: Counter[str] = Counter()
        by_length: dict[int, list[int]] = {}
        for tid in eligible:
            by_length.setdefault(len(self.terms[tid]), []).append(tid)
        for length, ids in by_length.items():
            text = "".join(self.terms[i] for i in ids)
            chars.update(text)
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64).reshape(len(ids), length)
            owner = np.asarray(ids, dtype=np.int32)
            reach = 1 if length < MIN_WORD else 2  # a term this short is only reached by short words
            for kept in _kept_columns(length, reach):
                hashes.append(_row_hashes(codes[:, kept]))
                owners.append(owner)
        if hashes:
            # Each step drops what it no longer needs before the next copy is made: at a million
            # realistic passages these arrays hold ~8M deletions (~100 MB), and every copy kept
            # alive raised the serving process's peak memory by that much again.
            h = _short_hashes(np.concatenate(hashes))
            del hashes
            o = np.concatenate(owners)
            del owners
            order = np.lexsort((o, h))
            h = h[order]
            o = o[order]
            del order
            keep = np.ones(h.size, dtype=bool)
            keep[1:] = (h[1:] != h[:-1]) | (o[1:] != o[:-1])  # a term's repeated deletion ("aab" -> "ab")
            self.hashes = h[keep]
            del h
            self.owners = o[keep]
        else:
            self.hashes, self.owners = np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int32)
        self.alphabet = "".join(c for c, _ in chars.most_common(ALPHABET_SIZE) if c.isalpha())

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes + self.owners.nbytes + self.term_ids.nbytes)

    def candidates(self, word: str, distance: int) -> set[int]:
        """Ids of the terms that share a deletion (up to `distance` each side) with `word`: every
        term within `distance` edits of it, and some others (to be checked)."""
        if not self.hashes.size:
            return set()
        keys = _short_hashes(np.fromiter((string_hash(d) for d in deletions(word, distance)), dtype=np.uint64))
        lo = np.searchsorted(self.hashes, keys, side="left")
        hi = np.searchsorted(self.hashes, keys, side="right")
        out: set[int] = set()
        for a, b in zip(lo.tolist(), hi.tolist()):
            if a < b:
                out.update(self.owners[a:b].tolist())
        return out


def _kept_columns(length: int, reach: int) -> list[list[int]]:
    """The column lists of every deletion of up to `reach` characters from a `length`-long string."""
    columns = list(range(length))
    out = [columns]
    if reach >= 1:
        out += [columns[:i] + columns[i + 1 :] for i in range(length)]
    if reach >= 2:
        out += [[c for c in columns if c not in (i, j)] for i in range(length) for j in range(i + 1, length)]
    return [kept for kept in out if kept]


class Speller:
    """Corrects words to the terms of one index. Thread-safe; the index of deletions is built on
    the first word that needs it (`ensure_built` builds it ahead, e.g. in a worker thread)."""

    def __init__(
        self,
        vocabulary: Callable[[], tuple[Terms, np.ndarray]],
        df: Callable[[str], int],
        term: Callable[[str], str | None],
        max_terms: int = MAX_TERMS,
        forget: Callable[[], None] | None = None,
    ) -> None:
        """`vocabulary` gives every term and its document frequency (called once, on first
        need), `df` one term's frequency (0 when unknown), `term` the index term of a folded
        word (None for a stopword) -- the analyser's, so the corrections stem as the index does;
        `forget`, when given, empties the memo of `term` (called every FORGET_AFTER variants)."""
        self._vocabulary = vocabulary
        self._df = df
        self._term = term
        self._forget = forget
        self._variants = 0
        self._max_terms = max_terms
        self._index: DeleteIndex | None = None
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str], str | None] = {}

    @property
    def built(self) -> bool:
        return self._index is not None

    def ensure_built(self) -> DeleteIndex:
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    terms, dfs = self._vocabulary()
                    self._index = DeleteIndex(terms, dfs, self._max_terms)
                index = self._index
        return index

    def correct(self, word: str, term: str, surface: bool = True) -> str | None:
        """The index term that folded `word` (analysed as `term`, which the index lacks) was
        meant to be, or None when no term is near enough or several are equally likely.
        `surface` False skips the surface-edit probe (for a real, if rare, English word: its
        stem is its own, so a typo in what the stemmer strips is not the likely story; the
        probe is most of a lookup's cost, ~5 ms a word on a large vocabulary)."""
        key = (word, term)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = self._correct(word, term, surface)
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = found
        return found

    def _correct(self, word: str, term: str, surface: bool = True) -> str | None:
        limit = max_distance(word)
        # A word longer than any indexed term could be after `limit` edits has no correction;
        # its deletions would be thousands of strings (a pasted hash, a run of one letter).
        if not limit or not word.isalpha() or len(word) > MAX_TERM + limit or len(term) > MAX_TERM + limit:
            return None
        index = self.ensure_built()
        distance: dict[str, int] = {}
        # A stem shorter than the word is compared at the distance the word allows, never more
        # than its own length would (a 5-letter stem of a 9-letter word: one edit).
        stem_limit = min(limit, max_distance(term) or 1)
        for tid in index.candidates(term, stem_limit):
            candidate = index.terms[tid]
            d = osa_distance(term, candidate, stem_limit)
            if d <= stem_limit:
                distance[candidate] = min(d, distance.get(candidate, d))
        variants = one_edit_variants(word, index.alphabet) if surface else []
        for variant in variants:
            variant_term = self._term(variant)
            if variant_term and variant_term != term and self._df(variant_term):
                distance[variant_term] = min(1, distance.get(variant_term, 1))
        self._variants += len(variants)
        if self._forget is not None and self._variants > FORGET_AFTER:
            self._forget()
            self._variants = 0
        if not distance:
            return None
        best = min(distance.values())
        ranked = sorted(((self._df(t), t) for t, d in distance.items() if d == best), key=lambda x: (-x[0], x[1]))
        if len(ranked) == 1 or ranked[0][0] >= DOMINANCE * ranked[1][0]:
            return ranked[0][1]
        return None
