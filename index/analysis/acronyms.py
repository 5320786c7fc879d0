"""Acronyms the corpus defines, learned at index time so either form of a name matches both.

An article writes "Russian Orbital Space Station (ROS)" once and "ROS" afterwards; a user asks
about either. We find definitions with the Schwartz-Hearst rule (each letter of the short form
appears, in order, in the long form, the first one starting a word) and expand questions with
the other form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .analyzer import Analyzer

_DEFINITION = re.compile(r"\(([A-Z][A-Za-z0-9\-&]{1,9})\)")
_WORDS_BEFORE = re.compile(r"[\w'&\-]+")


def find_definitions(text: str) -> list[tuple[str, str]]:
    """Pairs (short form, long form) defined in `text` as "Long Form (LF)"."""
    found: list[tuple[str, str]] = []
    for match in _DEFINITION.finditer(text):
        short = match.group(1)
        letters = [c for c in short if c.isalnum()]
        if sum(c.isupper() for c in letters) < 2:
            continue
        window = text[max(0, match.start() - 200) : match.start()].split("(")[-1]
        words = _WORDS_BEFORE.findall(window)[-(min(len(letters) + 5, len(letters) * 2)) :]
        long_form = _schwartz_hearst(short, words)
        if long_form:
            found.append((short, long_form))
    return found


def _schwartz_hearst(short: str, words: Sequence[str]) -> str | None:
    """The shortest tail of `words` whose letters spell `short` in order (first at a word start)."""
    candidate = " ".join(words)
    si = len(short) - 1  # index into short, right to left
    ci = len(candidate) - 1  # index into candidate, right to left
    while si >= 0:
        c = short[si].lower()
        if not c.isalnum():
            si -= 1
            continue
        while ci >= 0 and (candidate[ci].lower() != c or (si == 0 and ci > 0 and candidate[ci - 1].isalnum())):
            ci -= 1
        if ci < 0:
            return None
        ci -= 1
        si -= 1
    start = candidate.rfind(" ", 0, ci + 1) + 1
    long_form = candidate[start:]
    if len(long_form.split()) < 2 or long_form.lower() == short.lower():
        return None
    return long_form


class AcronymMap:
    """Short-form term <-> long-form terms, in the analyser's vocabulary."""

    def __init__(self, pairs: dict[str, tuple[str, ...]] | None = None) -> None:
        # Fixed once made: `expand` indexes the pairs on first use.
        self.pairs: dict[str, tuple[str, ...]] = dict(pairs or {})
        self._expander: AcronymExpander | None = None

    @classmethod
    def learn(cls, texts: Iterable[str], analyzer: Analyzer) -> AcronymMap:
        """Learn from corpus texts; the first definition of a short form wins (stable order)."""
        pairs: dict[str, tuple[str, ...]] = {}
        for text in texts:
            for short, long_form in find_definitions(text):
                short_terms = analyzer.terms(short)
                long_terms = tuple(analyzer.terms(long_form))
                if len(short_terms) == 1 and len(long_terms) >= 2 and short_terms[0] not in pairs:
                    pairs[short_terms[0]] = long_terms
        return cls(pairs)

    def expand(self, terms: Sequence[str]) -> list[str]:
        """Append the short form for each spelled-out long form in `terms`.

        Used on both sides: a passage or question that says "Russian Orbital Space Station"
        also gets the term "ros", so a question saying "ROS" matches it. Adding only the short
        form (never the long form's words) keeps an acronym in a question from dragging in
        every passage that mentions "space" or "station". A long form directly followed by its
        acronym (the definition itself) is not counted twice.
        (`AcronymExpander.expand`; the plain scan of every pair is `reference.reference_expand`.)
        """
        if self._expander is None:
            self._expander = AcronymExpander(self)
        return self._expander.expand(terms)

    def to_rows(self) -> list[tuple[str, str]]:
        return [(short, " ".join(long_terms)) for short, long_terms in sorted(self.pairs.items())]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> AcronymMap:
        return cls({short: tuple(long.split()) for short, long in rows})


def append_short_forms(terms: Sequence[str], short: str, long_terms: tuple[str, ...], out: list[str]) -> None:
    """Append `short` to `out` once per run of `long_terms` in `terms`, except a run directly
    followed by `short` (the definition "Long Form (LF)" itself)."""
    n = len(long_terms)
    i = 0
    while i <= len(terms) - n:
        if terms[i] == long_terms[0] and tuple(terms[i : i + n]) == long_terms:
            if i + n >= len(terms) or terms[i + n] != short:
                out.append(short)
            i += n
        else:
            i += 1


class AcronymExpander:
    """`AcronymMap.expand`, touching only the pairs whose long form can start in the terms."""

    def __init__(self, acronyms: AcronymMap) -> None:
        self.acronyms = acronyms
        self.pairs = list(acronyms.pairs.items())
        self.exact = all(len(long) >= 1 for _, long in self.pairs)
        self.firsts: dict[str, list[int]] = {}
        for i, (_, long) in enumerate(self.pairs):
            if long:
                self.firsts.setdefault(long[0], []).append(i)
        self._first_set = frozenset(self.firsts)

    def can_expand(self, terms: Iterable[str]) -> bool:
        """Whether `expand` could append anything to a sequence drawn from `terms` (one test for
        the terms of many sentences: where it is False, each `expand` is a copy)."""
        return not self.exact or not self._first_set.isdisjoint(terms)

    def expand(self, terms: Sequence[str]) -> list[str]:
        """Append the short form for each spelled-out long form in `terms` (`AcronymMap.expand`)."""
        out = list(terms)
        if not self.exact:  # an empty long form: every pair, in order, as the definition says
            for short, long_terms in self.pairs:
                append_short_forms(terms, short, long_terms, out)
            return out
        if self._first_set.isdisjoint(terms):
            return out
        # Only a pair whose long form has all its terms present can append anything; long
        # forms start with common words ("american", "command"), so most candidates drop here.
        present = set(terms)
        hits = sorted(
            i
            for f in self._first_set.intersection(present)
            for i in self.firsts[f]
            if present.issuperset(self.pairs[i][1])
        )
        for i in hits:
            short, long_terms = self.pairs[i]
            append_short_forms(terms, short, long_terms, out)
        return out
