"""The analysis rules spelled out with nltk and plain loops: a reference for the tests only.

`Analyzer`, `sentences.sentence_spans` and `AcronymMap.expand` get the same results faster
(see their modules); the tests compare them with these on real, hand-written and generated
text, so that a change to the fast paths that moves a term or a sentence boundary fails there.
Nothing in production imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence

from .acronyms import AcronymMap, append_short_forms
from .analyzer import DOTTED, TOKENIZER, Analyzer, drop_measure_words, fold_token
from .normalize import normalize_text
from .punkt import punkt_tokenizer
from .sentences import line_runs

__all__ = [
    "ReferenceAnalyzer",
    "reference_expand",
    "reference_raw_tokens",
    "reference_sentence_spans",
    "reference_split_sentences",
]


def reference_raw_tokens(text: str) -> list[str]:
    """`analyzer.raw_tokens` as the rule reads: `normalize_text`, "X.Y." runs as one word,
    nltk's tokenizer, then case folding with the SHOUT mark."""
    text = DOTTED.sub(lambda m: m.group(0).replace(".", ""), normalize_text(text))
    mixed = any(c.islower() for c in text)
    return [fold_token(tok, mixed) for tok in TOKENIZER.tokenize(text)]


class ReferenceAnalyzer(Analyzer):
    """`Analyzer` with its text paths spelled out: `reference_raw_tokens`, then `term` (the
    stemming rule, which both share) of each token."""

    def terms(self, text: str) -> list[str]:
        return self.terms_of_tokens(reference_raw_tokens(text))

    def question_terms(self, question: str) -> list[str]:
        return self.terms_of_tokens(drop_measure_words(reference_raw_tokens(question)))


def reference_sentence_spans(text: str) -> list[tuple[int, int]]:
    """`sentences.sentence_spans` with nltk's Punkt over each run of prose lines."""
    spans: list[tuple[int, int]] = []
    for start, end in line_runs(text):
        run = text[start:end].replace("\n", " ")
        for a, b in punkt_tokenizer().span_tokenize(run):
            spans.append((start + a, start + b))
    return spans


def reference_split_sentences(text: str) -> list[str]:
    """The sentences of `text` by `reference_sentence_spans`."""
    return [text[s:e] for s, e in reference_sentence_spans(text)]


def reference_expand(acronyms: AcronymMap, terms: Sequence[str]) -> list[str]:
    """`AcronymMap.expand` as its rule reads: every pair scanned over every term."""
    out = list(terms)
    for short, long_terms in acronyms.pairs.items():
        append_short_forms(terms, short, long_terms, out)
    return out
