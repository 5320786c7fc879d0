"""Turning text into index terms: tokenisation, case folding, stopwords, Snowball stems.

The same analyser runs over passages at index time and over questions at ask time, so both
sides agree on what a term is. Its version is stored with the index: changing anything here
that changes terms must bump ANALYZER_VERSION, and old indexes are then refused with a message
to reindex instead of silently answering badly.

The rules are those of nltk's `RegexpTokenizer` over `normalize_text`ed text
(`reference.ReferenceAnalyzer` spells them out that way, and the tests compare the two on real
and adversarial text); `Analyzer` gets the same terms faster, since indexing a million passages
analyses ~100 million words and a question's re-rank ~30 passages:

- ASCII text skips `normalize_text` (a no-op on ASCII apart from line ends and control
  characters);
- nltk's tokenizer (the `regex` engine, ~4x slower) is replaced by the same pattern in `re`
  whenever every non-ASCII character of the text is classified alike by both engines (checked
  per character, once);
- each *original* token maps through a memo straight to its term (case folding, the SHOUT rule
  and stemming are functions of the token and of whether the text is mixed-case);
- a clean passage is tokenised and mapped in one call in C (`_termscan.scan_passage`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

import regex
from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer

from ._termscan import TermTable, scan_passage
from .normalize import CONTROL, normalize_text

ANALYZER_VERSION = "en-snowball-6"

# Words are runs of letters and digits; apostrophes inside words ("don't") are kept so the
# stopword list, which spells contractions that way, can remove them.
WORD_PATTERN = r"[^\W_]+(?:'[^\W_]+)*"
TOKENIZER = RegexpTokenizer(WORD_PATTERN)
"""nltk's tokenizer of `WORD_PATTERN` (the `regex` engine): the rule every token follows."""
WORD_RE = re.compile(WORD_PATTERN)
"""`WORD_PATTERN` in `re`: the same tokens wherever both engines class the text's characters alike."""

# NLTK's list has "we", "our" and "ours" but not "us"; without it "tell us about X" matches
# every passage about US sanctions.
EXTRA_STOPWORDS = frozenset({"us"})


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """NLTK's English stopword list, shipped in index/analysis/data (no nltk_data download), plus "us"."""
    text = resources.files("citebot.index.analysis").joinpath("data", "stopwords-en.txt").read_text(encoding="utf-8")
    words = frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))
    return words | EXTRA_STOPWORDS


QUESTION_MEASURES = frozenset({"long", "much", "many", "often", "far", "old", "big", "large", "soon", "late"})

# "U.S." and "U.K." are one word; without this they fall apart into single letters.
DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}(?![A-Za-z])")
# Marks an upper-case word that must survive the stopword list ("US sanctions", "IT staff").
SHOUT = "\u2191"

_MEMO_LIMIT = 2_000_000
_NON_ASCII = re.compile("[^\x00-\x7f]")
_RE_CLASS = re.compile(r"[^\W_]")
_REGEX_CLASS = regex.compile(r"[^\W_]", regex.UNICODE | regex.MULTILINE | regex.DOTALL)
_agreeing: set[str] = set()  # non-ASCII characters `re` and `regex` class alike (a pure fact: shared)


def undot(match: re.Match) -> str:
    """A `DOTTED` match ("U.S.") as one word ("US")."""
    return match.group(0).replace(".", "")


def chars_agree(text: str) -> bool:
    """Whether `re` and nltk's `regex` class every non-ASCII character of `text` alike."""
    chars = set(_NON_ASCII.findall(text))
    if chars <= _agreeing:
        return True
    for c in chars.difference(_agreeing):
        if bool(_RE_CLASS.match(c)) != bool(_REGEX_CLASS.match(c)):
            return False
        _agreeing.add(c)
    return True


_ASCII_LOWER = re.compile("[a-z]")


def is_mixed(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether text[start:end] has a lower-case character (`any(c.islower() ...)`); for ASCII
    text, where that means a-z, one regex scan in C."""
    end = len(text) if end is None else end
    if text.isascii():
        return _ASCII_LOWER.search(text, start, end) is not None
    return any(c.islower() for c in text[start:end])


def original_tokens(text: str) -> tuple[list[str], bool]:
    """Original-case word tokens of `text` (normalised, "X.Y." runs as one word), and whether
    it is mixed-case."""
    if text.isascii():
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = CONTROL.sub(" ", text)
    else:
        text = normalize_text(text)
    if "." in text:
        text = DOTTED.sub(undot, text)
    mixed = is_mixed(text)
    if text.isascii() or chars_agree(text):
        tokens = WORD_RE.findall(text)
    else:
        tokens = TOKENIZER.tokenize(text)
    return tokens, mixed


def raw_tokens(text: str) -> list[str]:
    """Case-folded word tokens of normalised text, before stopwords and stemming.

    An all-capitals word in mixed-case text is an acronym, not a function word: "US" is kept
    (marked with SHOUT) where "us" would be dropped as a stopword.
    """
    tokens, mixed = original_tokens(text)
    return [fold_token(tok, mixed) for tok in tokens]


def fold_token(token: str, mixed: bool) -> str:
    """One word token case-folded, marked with SHOUT when it is an all-capitals stopword in
    mixed-case text (it tells an acronym from a function word)."""
    folded = token.casefold()
    if mixed and len(token) >= 2 and token.isupper() and folded in english_stopwords():
        folded = SHOUT + folded
    return folded


class Analyzer:
    """Text to terms. Stems are memoised (a corpus has far fewer distinct words than tokens),
    and so is each original token's term. Not thread-safe to share while filling, but every
    memo entry is a pure function of its key, so a race only recomputes."""

    def __init__(self) -> None:
        self.stopwords: frozenset[str] = english_stopwords()
        self.version: str = ANALYZER_VERSION
        self._stemmer = SnowballStemmer("english")
        self._stems: dict[str, str | None] = {}
        self._mixed: dict[str, str] = {}
        self._plain: dict[str, str] = {}
        # The same, for `passage_terms`, which tokenises and maps a text in C (`_termscan`)
        self._mixed_table = TermTable()
        self._plain_table = TermTable()

    def __repr__(self) -> str:
        return f"Analyzer(version={self.version!r})"

    def term(self, token: str) -> str | None:
        """The index term for one case-folded token, or None for a stopword."""
        try:
            return self._stems[token]
        except KeyError:
            pass
        if token.startswith(SHOUT):
            shouted = token[1:]
            self._stems[token] = shouted
            return shouted
        word = token.replace("'", "")
        stem: str | None
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
        if len(self._stems) < _MEMO_LIMIT:
            self._stems[token] = stem
        return stem

    def forget(self) -> None:
        """Drop the memoised stems (for an analyser fed many words that will not come again)."""
        self._stems.clear()

    def raw(self, text: str) -> tuple[list[str], bool]:
        """Original-case tokens of `text` as `raw_tokens` sees them, and whether it is mixed-case."""
        return original_tokens(text)

    def terms(self, text: str) -> list[str]:
        """Index terms of `text`, in order, stopwords removed."""
        tokens, mixed = original_tokens(text)
        memo = self._mixed if mixed else self._plain
        try:
            return list(filter(None, map(memo.__getitem__, tokens)))
        except KeyError:
            pass
        self._fill(memo, tokens, mixed)
        try:
            return list(filter(None, map(memo.__getitem__, tokens)))
        except KeyError:  # another thread cleared the full memo meanwhile
            return self.terms_of_tokens(fold_token(t, mixed) for t in tokens)

    def terms_of_tokens(self, tokens: Iterable[str]) -> list[str]:
        """The terms of case-folded tokens (`raw_tokens`), stopwords removed."""
        return [t for t in map(self.term, tokens) if t]

    def question_terms(self, question: str) -> list[str]:
        """Terms of a question, without the words that only shape it.

        In "how long", "how many", "how much" the second word asks for a kind of answer (a
        duration, a count) and names nothing the answer's sentence would contain.
        """
        return self.terms_of_tokens(drop_measure_words(raw_tokens(question)))

    def _fill(self, memo: dict[str, str], tokens: Sequence[str], mixed: bool) -> None:
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        for tok in set(tokens).difference(memo):
            memo[tok] = self._term_of(tok, mixed)

    def _term_of(self, token: str, mixed: bool) -> str:
        """The term of one original-case token ("" for none), in mixed-case text or not."""
        return self.term(fold_token(token, mixed)) or ""

    def passage_terms(self, text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, list[str]] | None:
        """`sentence_and_passage_terms` for clean text; None for any other.

        Clean text is what `original_tokens` leaves as it is, but for "X.Y." runs: no carriage
        return or control character, and ASCII, or normalised (`normalize_text(text) == text`)
        with every character one that `re` and nltk's `regex` classify alike. Nearly every
        passage is, its document having been normalised when it was parsed. Its sentences (each
        checked to be NFKC on its own) can then be tokenised where they lie: one call in C does
        the whole passage (`_termscan.scan_passage`), which also declines text with a character
        that keeps it from being clean. The build runs this on every passage of the corpus; in
        Python, the steps around tokenising cost more than tokenising, and per token,
        `findall`, the memo lookup and the join cost 3x the C.
        """
        if not text.isascii() and not (
            unicodedata.is_normalized("NFKC", text)
            and chars_agree(text)
            and all(unicodedata.is_normalized("NFKC", text[a:b]) for a, b in spans)
        ):
            return None  # (C checks the rest: what needs no Python)
        found = scan_passage(text, spans, self._plain_table, self._mixed_table)
        while isinstance(found, list):  # tokens the tables do not map yet
            self._learn(self._plain_table, found[0], False)
            self._learn(self._mixed_table, found[1], True)
            found = scan_passage(text, spans, self._plain_table, self._mixed_table)
        return found

    def _learn(self, table: TermTable, tokens: list[str], mixed: bool) -> None:
        """Map `tokens` in `table` (the one for the case mix `mixed`) to their terms."""
        if len(table) > _MEMO_LIMIT:
            table.clear()
        for token in set(tokens):
            table.add(token, self._term_of(token, mixed))

    def sentence_and_passage_terms(self, text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, list[str]]:
        """Each sentence's terms, encoded as the index stores them (`encode_sentence_terms`),
        and the whole text's terms; `terms` of each, the text analysed once when that is proven
        to give the same."""
        found = self.passage_terms(text, spans)
        if found is not None:
            return found
        per_sentence = [self.terms(text[a:b]) for a, b in spans]
        encoded = encode_sentence_terms(per_sentence)
        if text_terms_are_sentence_terms(text, spans):
            return encoded, [t for terms in per_sentence for t in terms]
        return encoded, self.terms(text)


def drop_measure_words(tokens: Sequence[str]) -> list[str]:
    """Folded tokens without the measure word of each "how long", "how many", ... ."""
    return [t for i, t in enumerate(tokens) if not (i and tokens[i - 1] == "how" and t in QUESTION_MEASURES)]


def content_terms(terms: Sequence[str]) -> list[str]:
    """Distinct terms in first-seen order (what "coverage" of a question is measured over)."""
    return list(dict.fromkeys(terms))


def encode_sentence_terms(per_sentence: Sequence[Sequence[str]]) -> str:
    """A passage's sentence terms as the index stores them: a line per sentence, terms
    separated by spaces (a term never contains whitespace)."""
    return "\n".join(" ".join(t) for t in per_sentence)


def decode_sentence_terms(encoded: str, n_sentences: int) -> list[list[str]] | None:
    """Inverse of `encode_sentence_terms`; None when it does not hold `n_sentences` lines."""
    if n_sentences == 0:
        return [] if encoded == "" else None
    lines = encoded.split("\n")
    if len(lines) != n_sentences:
        return None
    return [line.split(" ") if line else [] for line in lines]


_DOTTED_ANYWHERE = re.compile(r"[A-Za-z]\.[A-Za-z]\.")
_WORDISH = re.compile(r"[^\W_]|'")
_WORDCHAR = re.compile(r"[^\W_]")


def text_terms_are_sentence_terms(text: str, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether the analyser's terms of `text` are exactly its sentences' (`spans`) terms run
    together.

    True for ASCII text without '\r' and without any "X.Y." pattern (normalisation and the
    dotted rule are then character-local), where every sentence is mixed-case exactly when the
    text is, no word character lies outside the spans and no token can run across a span
    edge: the text's tokens are then the concatenation of its sentences' tokens.
    """
    if not text.isascii() or "\r" in text or _DOTTED_ANYWHERE.search(text):
        return False
    mixed = is_mixed(text)
    prev = 0
    n = len(text)
    for a, b in spans:
        if _WORDCHAR.search(text, prev, a):
            return False
        if (a > 0 and _WORDISH.match(text, a - 1) and _WORDISH.match(text, a)) or (
            b < n and _WORDISH.match(text, b - 1) and _WORDISH.match(text, b)
        ):
            return False
        if is_mixed(text, a, b) != mixed:
            return False
        prev = b
    return not _WORDCHAR.search(text, prev)
