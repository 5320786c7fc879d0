"""Turning text into index terms: nltk tokenisation, case folding, stopwords, Snowball stems.

The same analyser runs over passages at index time and over questions at ask time, so both
sides agree on what a term is. Its version is stored with the index: changing anything here
that changes terms must bump ANALYZER_VERSION, and old indexes are then refused with a message
to reindex instead of silently answering badly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
import re
from importlib import resources

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer

from .normalize import normalize_text

ANALYZER_VERSION = "en-snowball-6"

# Words are runs of letters and digits; apostrophes inside words ("don't") are kept so the
# stopword list, which spells contractions that way, can remove them.
_TOKENIZER = RegexpTokenizer(r"[^\W_]+(?:'[^\W_]+)*")


# NLTK's list has "we", "our" and "ours" but not "us"; without it "tell us about X" matches
# every passage about US sanctions.
EXTRA_STOPWORDS = frozenset({"us"})


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """NLTK's English stopword list, shipped in index/data (no nltk_data download), plus "us"."""
    text = resources.files("index.data").joinpath("stopwords-en.txt").read_text(encoding="utf-8")
    words = frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))
    return words | EXTRA_STOPWORDS


QUESTION_MEASURES = frozenset({"long", "much", "many", "often", "far", "old", "big", "large", "soon", "late"})

# "U.S." and "U.K." are one word; without this they fall apart into single letters.
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}(?![A-Za-z])")
# Marks an upper-case word that must survive the stopword list ("US sanctions", "IT staff").
SHOUT = "\u2191"


def raw_tokens(text: str) -> list[str]:
    """Case-folded word tokens of normalised text, before stopwords and stemming.

    An all-capitals word in mixed-case text is an acronym, not a function word: "US" is kept
    (marked with SHOUT) where "us" would be dropped as a stopword.
    """
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), normalize_text(text))
    mixed = any(c.islower() for c in text)
    return [fold_token(tok, mixed) for tok in _TOKENIZER.tokenize(text)]


def fold_token(token: str, mixed: bool) -> str:
    """One word token case-folded, marked with SHOUT when it is an all-capitals stopword in
    mixed-case text. The mark looks at NLTK's English list whatever the analyser's own
    stopwords: it tells an acronym from a function word, which is a property of English."""
    folded = token.casefold()
    if mixed and len(token) >= 2 and token.isupper() and folded in english_stopwords():
        folded = SHOUT + folded
    return folded


@dataclass
class Analyzer:
    """Text to terms. Stems are memoised: a corpus has far fewer distinct words than tokens."""

    stopwords: frozenset[str] = field(default_factory=english_stopwords)
    version: str = ANALYZER_VERSION
    _stemmer: SnowballStemmer = field(default_factory=lambda: SnowballStemmer("english"), repr=False)
    _stems: dict[str, str | None] = field(default_factory=dict, repr=False)

    def term(self, token: str) -> str | None:
        """The index term for one case-folded token, or None for a stopword."""
        try:
            return self._stems[token]
        except KeyError:
            pass
        if token.startswith(SHOUT):
            stem = token[1:]
            self._stems[token] = stem
            return stem
        word = token.replace("'", "")
        if token in self.stopwords or word in self.stopwords or token.endswith("'s") and token[:-2] in self.stopwords:
            stem = None
        else:
            if token.endswith("'s"):
                word = token[:-2]
            stem = self._stemmer.stem(word) if word else None
            if stem and stem.endswith("ment") and len(stem) >= 8:
                # Snowball keeps "-ment" on short roots ("agreement", "payment"), so "agree" and
                # "agreement" never meet; the root's own stem brings them together.
                stem = self._stemmer.stem(stem[:-4])
        if len(self._stems) < 2_000_000:
            self._stems[token] = stem
        return stem

    def forget(self) -> None:
        """Drop the memoised stems (for an analyser fed many words that will not come again)."""
        self._stems.clear()

    def terms(self, text: str) -> list[str]:
        """Index terms of `text`, in order, stopwords removed."""
        return [t for t in map(self.term, raw_tokens(text)) if t]

    def terms_of_tokens(self, tokens: Iterable[str]) -> list[str]:
        return [t for t in map(self.term, tokens) if t]

    def question_terms(self, question: str) -> list[str]:
        """Terms of a question, without the words that only shape it.

        In "how long", "how many", "how much" the second word asks for a kind of answer (a
        duration, a count) and names nothing the answer's sentence would contain.
        """
        return self.terms_of_tokens(drop_measure_words(raw_tokens(question)))


def drop_measure_words(tokens: Sequence[str]) -> list[str]:
    """Folded tokens without the measure word of each "how long", "how many", ... ."""
    return [t for i, t in enumerate(tokens) if not (i and tokens[i - 1] == "how" and t in QUESTION_MEASURES)]


def content_terms(terms: Sequence[str]) -> list[str]:
    """Distinct terms in first-seen order (what "coverage" of a question is measured over)."""
    return list(dict.fromkeys(terms))
