"""Bulk analysis that gives exactly what analysis.py, sentences.py and acronyms.py give, faster.

Indexing a million passages calls the analyser on ~100 million words, and a question's re-rank
analyses ~30 passages, so the per-word Python work of the reference functions dominates both.
Everything here is a drop-in, result-identical replacement (tests/test_scale_equivalence.py
compares them on real and adversarial text):

- `FastTerms.terms(text)` == `Analyzer.terms(text)`: ASCII text skips `normalize_text` (a
  no-op on ASCII apart from line ends and control characters); the nltk tokenizer (the `regex`
  engine, ~4x slower) is replaced by the same pattern in `re` whenever every non-ASCII
  character of the text is classified alike by both engines (checked per character, once);
  and each *original* token maps through a memo straight to its term (case folding, the
  SHOUT rule and stemming are functions of the token and of whether the text is mixed-case).
- `sentence_spans(text)` == `sentences.sentence_spans(text)`: Punkt with the shipped
  parameters, redone without nltk's per-token objects (`fastpunkt.line_spans`).
- `AcronymExpander.expand(terms)` == `AcronymMap.expand(terms)`: the reference scans every
  pair over every term; only pairs whose long form's first term occurs can match, and with
  none present (nearly every passage) the result is a copy of the input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from .acronyms import AcronymMap, append_short_forms
from .analysis import _DOTTED, _TOKENIZER, Analyzer, drop_measure_words, fold_token
from .indexfile.rows import encode_sentence_terms
from .normalize import _CONTROL, normalize_text
from .sentences import line_runs
from .fastpunkt import line_spans
from ._termscan import TermTable, scan_passage

_MEMO_LIMIT = 2_000_000
_NON_ASCII = re.compile("[^\x00-\x7f]")
_WORD_RE = re.compile(_TOKENIZER._pattern)
_RE_CLASS = re.compile(r"[^\W_]")


def _dotted(m: re.Match) -> str:
    return m.group(0).replace(".", "")


class FastTerms:
    """`Analyzer.terms` with memos; one per process (not thread-safe to share while filling,
    but every memo entry is a pure function of its key, so a race only recomputes)."""

    def __init__(self, analyzer: Analyzer | None = None) -> None:
        self.analyzer = analyzer or Analyzer()
        self._mixed: dict[str, str] = {}
        self._plain: dict[str, str] = {}
        self._agreeing: set[str] = set()  # non-ASCII characters `re` and `regex` class alike
        # The same, for `passage_terms`, which tokenises and maps a text in C (`_termscan`)
        self._mixed_table = TermTable()
        self._plain_table = TermTable()
        self._regex_class = None

    def _chars_agree(self, text: str) -> bool:
        """Whether `re` and nltk's `regex` class every non-ASCII character of `text` alike."""
        chars = set(_NON_ASCII.findall(text))
        if chars <= self._agreeing:
            return True
        for c in chars.difference(self._agreeing):
            if self._regex_class is None:
                import regex  # nltk's engine

                self._regex_class = regex.compile(r"[^\W_]", regex.UNICODE | regex.MULTILINE | regex.DOTALL)
            if bool(_RE_CLASS.match(c)) != bool(self._regex_class.match(c)):
                return False
            self._agreeing.add(c)
        return True

    def raw(self, text: str) -> tuple[list[str], bool]:
        """Original-case tokens of `text` as `raw_tokens` sees them, and whether it is mixed-case."""
        if text.isascii():
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            text = _CONTROL.sub(" ", text)
        else:
            text = normalize_text(text)
        if "." in text:
            text = _DOTTED.sub(_dotted, text)
        mixed = _mixed(text)
        if text.isascii() or self._chars_agree(text):
            tokens = _WORD_RE.findall(text)
        else:
            tokens = _TOKENIZER.tokenize(text)
        return tokens, mixed

    def _fill(self, memo: dict[str, str], tokens: Sequence[str], mixed: bool) -> None:
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        for tok in set(tokens).difference(memo):
            memo[tok] = self._term_of(tok, mixed)

    def _term_of(self, token: str, mixed: bool) -> str:
        """The term of one original-case token ("" for none), in mixed-case text or not."""
        return self.analyzer.term(fold_token(token, mixed)) or ""

    def question_terms(self, question: str) -> list[str]:
        """`Analyzer.question_terms`, tokenised by `raw` (nltk's tokenizer, which it replaces,
        was half the cost of analysing a question)."""
        tokens, mixed = self.raw(question)
        folded = [fold_token(t, mixed) for t in tokens]
        return self.analyzer.terms_of_tokens(drop_measure_words(folded))

    def terms(self, text: str) -> list[str]:
        tokens, mixed = self.raw(text)
        return self._mapped(tokens, mixed, text)

    def _mapped(self, tokens: list[str], mixed: bool, text: str) -> list[str]:
        """The terms of `text`, given its raw tokens and whether it is mixed-case."""
        memo = self._mixed if mixed else self._plain
        try:
            return list(filter(None, map(memo.__getitem__, tokens)))
        except KeyError:
            pass
        self._fill(memo, tokens, mixed)
        try:
            return list(filter(None, map(memo.__getitem__, tokens)))
        except KeyError:  # another thread cleared the full memo meanwhile
            return self.analyzer.terms(text)

    def passage_terms(self, text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, list[str]] | None:
        """`sentence_and_passage_terms` for clean text; None for any other.

        Clean text is what `raw` leaves as it is, but for "X.Y." runs: no carriage return or
        control character, and ASCII, or normalised (`normalize_text(text) == text`) with every
        character one that `re` and nltk's `regex` classify alike. Nearly every passage is, its
        document having been normalised when it was parsed. Its sentences (each checked to be
        NFKC on its own) can then be tokenised where they lie: one call in C does the whole
        passage (`_termscan.scan_passage`), which also declines text with a character that
        keeps it from being clean. The build runs this on every passage of the corpus; in
        Python, the steps around tokenising cost more than tokenising, and per token,
        `findall`, the memo lookup and the join cost 3x the C.
        """
        if not text.isascii() and not (unicodedata.is_normalized("NFKC", text) and self._chars_agree(text)
                                       and all(unicodedata.is_normalized("NFKC", text[a:b]) for a, b in spans)):
            return None  # (C checks the rest: what needs no Python)
        found = scan_passage(text, spans, self._plain_table, self._mixed_table)
        while type(found) is list:  # tokens the tables do not map yet
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


_DOTTED_ANYWHERE = re.compile(r"[A-Za-z]\.[A-Za-z]\.")
_WORDISH = re.compile(r"[^\W_]|'")
_WORDCHAR = re.compile(r"[^\W_]")


_ASCII_LOWER = re.compile("[a-z]")


def _mixed(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether text[start:end] has a lower-case character (`any(c.islower() ...)`, as
    `raw_tokens` asks); for ASCII text, where that means a-z, one regex scan in C."""
    end = len(text) if end is None else end
    if text.isascii():
        return _ASCII_LOWER.search(text, start, end) is not None
    return any(c.islower() for c in text[start:end])


def sentence_and_passage_terms(fast: "FastTerms", text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, list[str]]:
    """Each sentence's terms, encoded as the index stores them (a line per sentence, terms
    separated by spaces: `indexfile.rows.encode_sentence_terms`), and the whole text's terms;
    `fast.terms` of each, the text analysed once when that is proven to give the same."""
    if type(fast) is FastTerms:
        found = fast.passage_terms(text, spans)
        if found is not None:
            return found
    per_sentence = [fast.terms(text[a:b]) for a, b in spans]
    encoded = encode_sentence_terms(per_sentence)
    if text_terms_are_sentence_terms(text, spans):
        return encoded, [t for terms in per_sentence for t in terms]
    return encoded, fast.terms(text)


def text_terms_are_sentence_terms(text: str, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether the default analyser's terms of `text` are exactly its sentences' (`spans`)
    terms run together.

    True for ASCII text without '\r' and without any "X.Y." pattern (normalisation and the
    dotted rule are then character-local), where every sentence is mixed-case exactly when the
    text is, no word character lies outside the spans and no token can run across a span
    edge: the text's tokens are then the concatenation of its sentences' tokens.
    """
    if not text.isascii() or "\r" in text or _DOTTED_ANYWHERE.search(text):
        return False
    mixed = _mixed(text)
    prev = 0
    n = len(text)
    for a, b in spans:
        if _WORDCHAR.search(text, prev, a):
            return False
        if (a > 0 and _WORDISH.match(text, a - 1) and _WORDISH.match(text, a)) or (
                b < n and _WORDISH.match(text, b - 1) and _WORDISH.match(text, b)):
            return False
        if _mixed(text, a, b) != mixed:
            return False
        prev = b
    return not _WORDCHAR.search(text, prev)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """`index.sentences.sentence_spans`, with Punkt redone for our parameters (`fastpunkt`)."""
    if "\n" not in text:
        return line_spans(text) if text.strip() else []
    spans: list[tuple[int, int]] = []
    for start, end in line_runs(text):
        run = text[start:end]
        for a, b in line_spans(run.replace("\n", " ") if "\n" in run else run):
            spans.append((start + a, start + b))
    return spans


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
        if not self.exact:
            return self.acronyms.expand(terms)
        if self._first_set.isdisjoint(terms):
            return list(terms)
        # Only a pair whose long form has all its terms present can append anything; long
        # forms start with common words ("american", "command"), so most candidates drop here.
        present = set(terms)
        hits = sorted(i for f in self._first_set.intersection(present) for i in self.firsts[f]
                      if present.issuperset(self.pairs[i][1]))
        out = list(terms)
        for i in hits:
            short, long_terms = self.pairs[i]
            append_short_forms(terms, short, long_terms, out)
        return out

