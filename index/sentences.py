"""Sentence splitting with nltk's Punkt, fully offline.

Punkt's pretrained English model lives in nltk_data, which would need a download. Its
algorithm works without training as long as it knows the abbreviations, so we ship the list:
common English abbreviations and all single letters (initials such as "Joseph P. Chacko").
"""

from __future__ import annotations

from functools import lru_cache

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

# Lower-case, without the final period, as Punkt stores them ("u.s" matches "U.S.").
ABBREVIATIONS: frozenset[str] = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres hon rev fr
    inc ltd co corp llc plc bros dept univ assn est approx vs etc al e.g i.e cf viz ca
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    u.s u.s.a u.k u.n e.u d.c n.y l.a a.m p.m ph.d m.d b.a m.a m.b.a b.sc m.sc no nos vol pp fig
    """.split()
) | frozenset("abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=1)
def _tokenizer() -> PunktSentenceTokenizer:
    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text` (never empty for non-blank text).

    Lines inside a block are split too: a block such as a list or "Label:\\nText" has no final
    punctuation on its lines, yet each line reads as its own sentence.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            for start, end in _tokenizer().span_tokenize(line):
                spans.append((offset + start, offset + end))
        offset += len(line) + 1
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order."""
    return [text[s:e] for s, e in sentence_spans(text)]
