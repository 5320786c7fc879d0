"""Word families for the decline rule (index/analysis/word_families.py): a paraphrase that swaps a word
for another of its family still counts, a short stem joins nothing."""

from __future__ import annotations

from pathlib import Path

from citebot.index.analysis import Analyzer
from citebot.index.analysis.word_families import MIN_FAMILY_STEM, family, same_family
from citebot.index.answering.answerer import Answerer

ROOT = Path(__file__).resolve().parents[3]


def terms(*words: str) -> list[str]:
    analyzer = Analyzer()
    return [analyzer.term(w) for w in words]


def test_derivations_are_one_family_and_unrelated_words_are_not() -> None:
    publication, publisher, absorb, absorption, station = terms(
        "publication", "publisher", "absorb", "absorption", "station"
    )
    assert publication != publisher and absorb != absorption  # Snowball keeps them apart
    assert same_family([publication], {publisher}) == {publication}
    assert same_family([absorption, station], [absorb]) == {absorption}
    assert same_family([publication], {station, absorb}) == set()
    assert same_family([], {publisher}) == set()


def test_a_family_needs_a_stem_of_some_length() -> None:
    # "news" and "new" share a short stem; that joins unrelated words, so it joins nothing.
    assert len(family("new")) < MIN_FAMILY_STEM
    assert same_family(terms("new"), set(terms("news"))) == set()


async def test_the_decline_rule_counts_a_word_of_the_same_family(answerer: Answerer) -> None:
    question = "Which publication does the author run?"  # the passage says "publisher"
    answer = await answerer.ask(question)
    top = answer.hits[0].passage
    assert "publisher" in top.text and "publication" not in top.text.lower()
    analysed = answerer.analyse(question).terms
    assert set(terms("publication")) <= answerer.held_terms(analysed, top)
    assert answer.answered
