"""The answering sentence: answer types, the highlight rule, and the eval figure that measures it.

index/analysis/answer_types.py says what a question asks for and whether a sentence holds it;
index/highlight.py chooses the sentence to highlight; index/evaluation.py reports how often the
highlight holds an answer (`sentence_hit`). The end-to-end tests build real indexes of small
news-style articles written here, in which the sentence that repeats the question (the lead) is
not the one that answers it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from citebot.index.analysis import AnswerType, answer_type, holds_answer, question_words
from citebot.index.answering.answerer import Answerer, AnswerParams
from citebot.index.answering.highlight import SentenceChooser, heading_terms
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.evaluation import EvalQuestion, EvalSet, evaluate
from citebot.index.indexfile import IndexReader

BRIDGE = """---
title: City News Roundup
author: Test Desk
---

City News Roundup

Harbour Bridge

The Harbour Bridge reopened to traffic after two years of repairs to its steel deck and cables. The reopening came on 14 March 2024, three weeks later than the engineers had planned. About 40,000 cars are expected to cross the bridge each day. The repairs were carried out by Kestrel Engineering.

Library Funding

Grants and Budgets: The library board reviewed its grants and budgets at a long meeting on reading programmes. Cuts to the national arts fund forced the board to close two branches.
"""


# --------------------------------------------------------------------------- answer types


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the bridge reopen?", AnswerType.DATE),
        ("In what year was it built?", AnswerType.DATE),
        ("How many cars cross it each day?", AnswerType.NUMBER),
        ("How much did the repairs cost?", AnswerType.NUMBER),
        ("Who carried out the repairs?", AnswerType.NAME),
        ("Which company repaired the bridge?", AnswerType.NAME),
        ("Where was media day held?", AnswerType.PLACE),
        ("In which city is the bridge?", AnswerType.PLACE),
        ("What is the Harbour Bridge?", None),
        ("Why did the board close branches?", None),
    ],
)
def test_answer_type_follows_the_question_wording(question: str, kind: AnswerType | None) -> None:
    assert answer_type(question) is kind


@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        ("When did Polonia win the title before 2000?", "They won the title in 2000.", False),
        ("When did Polonia win the title before 2000?", "They won it in 1946.", True),
        ("When did the bridge reopen?", "It reopened on a Monday in March.", True),
        ("When did the bridge reopen?", "It reopened after two years of repairs.", False),
        ("How many sacks did Wolfe have in 2015?", "Wolfe had five sacks in 2015.", True),
        ("How many sacks did Wolfe have in 2015?", "Wolfe played well in 2015.", False),
        ("Who leads Roscosmos?", "Roscosmos is led by Dmitry Bakanov.", True),
        (
            "Who leads Roscosmos?",
            "The agency Roscosmos met in March.",
            False,
        ),  # the first word, the question's, a month
        ("Who leads Levi's team?", "The team of Levi's grew.", False),  # the possessive is the question's word
        ("Where was media day held?", "It was held at SAP Center in San Jose.", True),
        ("Where was media day held?", "It was held on Monday at noon.", False),
    ],
)
def test_holds_answer_counts_only_what_the_question_does_not_say(question: str, sentence: str, holds: bool) -> None:
    kind = answer_type(question)
    assert kind is not None
    assert holds_answer(sentence, kind, question_words(question)) is holds


# --------------------------------------------------------------------------- the rule, on analysed terms


def chooser(question: str, query: list[str], weight: float = 0.5) -> SentenceChooser:
    return SentenceChooser(question, query, {t: 1.0 for t in query}, 10.0, 1.2, 0.75, weight)


def test_a_sentence_of_the_wanted_kind_wins_over_a_closer_match() -> None:
    sentences = ["The bridge reopened to traffic after the repairs.", "It reopened on 14 March 2024."]
    # The bridge is the section's heading; the lead, shorter, matches "reopen" a little better.
    terms = [["bridg", "reopen", "traffic", "repair"], ["reopen", "on", "14", "march", "2024"]]
    headings = [frozenset({"bridg"})] * 2
    pick = chooser("When did the bridge reopen?", ["bridg", "reopen"])
    assert pick.choose(sentences, terms, headings) == 1
    # Without a wanted kind, the closer match is the answer.
    assert chooser("What happened to the bridge?", ["bridg", "reopen"]).choose(sentences, terms, headings) == 0
    # With no weight for the kind, too.
    assert chooser("When did the bridge reopen?", ["bridg", "reopen"], 0.0).choose(sentences, terms, headings) == 0


def test_a_sentence_of_the_wanted_kind_far_below_the_best_does_not_win() -> None:
    sentences = ["The bridge reopened to traffic after the repairs of its deck.", "Traffic grew in 2024."]
    terms = [["bridg", "reopen", "traffic", "repair", "deck"], ["traffic", "grew", "2024"]]
    pick = chooser("When did the bridge reopen after the deck repairs?", ["bridg", "reopen", "deck", "repair"])
    assert pick.choose(sentences, terms, [frozenset(), frozenset()]) == 0


def test_heading_words_do_not_pick_a_sentence() -> None:
    sentences = ["The Harbour Bridge reopened.", "Kestrel Engineering did the work on the cables."]
    terms = [["harbour", "bridg", "reopen"], ["kestrel", "engin", "work", "cabl"]]
    query = ["harbour", "bridg", "cabl"]
    heading = frozenset({"harbour", "bridg"})
    assert chooser("What about the Harbour Bridge cables?", query).choose(sentences, terms, [heading, heading]) == 1
    # Only heading words in every sentence: the first sentence of the wanted kind, else the first.
    only_heading = ["harbour", "bridg"]
    assert chooser("Who worked on the Harbour Bridge?", only_heading).choose(sentences, terms, [heading] * 2) == 1
    assert chooser("What is the Harbour Bridge?", only_heading).choose(sentences, terms, [heading] * 2) == 0
    # A lower passage that matched only through its headings shows no sentence.
    assert (
        chooser("What is the Harbour Bridge?", only_heading).choose(
            sentences, terms, [heading] * 2, unmatched_first=False
        )
        is None
    )


def test_a_label_heads_the_sentences_of_its_paragraph_only() -> None:
    text = "Grants and Budgets: The board met. Cuts closed branches.\n\nThe next paragraph."
    spans = [(0, 34), (35, 56), (58, 77)]
    assert [text[a:b] for a, b in spans] == [
        "Grants and Budgets: The board met.",
        "Cuts closed branches.",
        "The next paragraph.",
    ]
    context = frozenset({"news"})
    headings = heading_terms(text, spans, context, lambda label: [w.lower() for w in label.split() if w != "and"])
    assert headings == [{"news", "grants", "budgets"}, {"news", "grants", "budgets"}, {"news"}]


def test_no_sentences_no_highlight() -> None:
    assert chooser("When?", ["x"]).choose([], [], []) is None


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def bridge_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bridge")
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / "city-news.md").write_text(BRIDGE, encoding="utf-8")
    db = folder / "index.sqlite3"
    rebuild_sync([corpus], db, IndexParams())
    return db


@pytest.fixture
async def answerer(bridge_db: Path) -> AsyncIterator[Answerer]:
    reader = await IndexReader.open(bridge_db)
    try:
        yield Answerer(reader, AnswerParams())
    finally:
        await reader.close()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did the Harbour Bridge reopen?", "14 March 2024"),
        ("How many cars cross the Harbour Bridge each day?", "40,000"),
        ("Who repaired the Harbour Bridge?", "Kestrel Engineering"),
        ("How did the fund cuts affect the library grants and budgets?", "close two branches"),
    ],
)
async def test_the_highlight_is_the_sentence_that_answers(answerer: Answerer, question: str, expected: str) -> None:
    answer = await answerer.ask(question)
    assert answer.answered, answer.reason
    assert expected in answer.answer
    top = answer.hits[0]
    assert top.sentence == answer.answer


async def test_without_a_wanted_kind_the_closest_sentence_is_highlighted(answerer: Answerer) -> None:
    answer = await answerer.ask("What steel parts of the Harbour Bridge needed repairs?")
    assert answer.answered and "steel deck and cables" in answer.answer


async def test_eval_reports_whether_the_highlight_holds_an_answer(answerer: Answerer) -> None:
    first = await answerer.ask("When did the Harbour Bridge reopen?")
    paragraph = first.hits[0].passage.citation.paragraphs[0]
    questions = [
        EvalQuestion("When did the Harbour Bridge reopen?", (paragraph,), ("14 march 2024",)),
        EvalQuestion("How many cars cross the Harbour Bridge each day?", (paragraph,), ("40,000",)),
        EvalQuestion("What steel parts of the Harbour Bridge needed repairs?", (paragraph,), ("Kestrel",)),
        EvalQuestion("How did the fund cuts affect the library grants and budgets?", (paragraph,), ("branches",)),
    ]
    report = await evaluate(EvalSet("bridge", questions), answerer.ask)
    out = report.as_dict()
    # Three highlights hold an answer string (case-insensitive); the third holds none. The
    # fourth's top passage is the library paragraph, not the gold one.
    assert report.sentence_hits == 3 and out["sentence_hit"] == 0.75
    assert report.top_right == 3 and out["sentence_hit_top_right"] == round(2 / 3, 4)
