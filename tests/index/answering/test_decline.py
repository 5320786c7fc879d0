"""The "not in my sources" rule (index/decline.py): words the corpus never uses count against an
answer, weighted by how rare they are in English, and the rule is calibrated on both sides.

Golden values of the weight, the issue's questions on the bundled article, and pinned figures
on real sets: SQuAD questions asked against the bundled article (off-topic) and against the
24 SQuAD articles (answerable), and the hand-written sets in tests/eval. The rule was chosen on
the even-numbered SQuAD articles (benchmarks/decline_curve.py); the figures pinned here are
measured on the odd-numbered ones, a little below what was measured so that no unrelated change
trips them, and far above what the rule did before.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest

from citebot.index.answering.answerer import Answerer, AnswerParams
from citebot.index.answering.decline import answers, question_coverage, semantic_answers, term_weight
from citebot.index.evaluation import load_eval_set
from citebot.index.indexfile import IndexReader
from citebot.index.ranking.bm25 import lucene_idf
from tests.support.helpers import build_index_file_for

ROOT = Path(__file__).resolve().parents[3]
OWN = ROOT / "tests" / "eval"
EVAL = ROOT.parent / "shared" / "eval"


def test_without_a_prior_the_weight_is_lucenes_idf() -> None:
    for n, df in ((16, 1), (16, 16), (1141, 57), (1_000_000, 3)):
        assert term_weight(n, df, 500, 0.0, 100.0) == lucene_idf(n, df)
    # A term no passage holds weighs a little more than one that a single passage holds.
    assert term_weight(16, 0, None, 0.0, 100.0) > lucene_idf(16, 1)


def test_common_english_words_weigh_less() -> None:
    weights = [term_weight(16, 0, rank, 300.0, 100.0) for rank in (50, 200, 2000, 20000, None)]
    assert weights == sorted(weights) and weights[0] < 0.1 and weights[-1] > 5
    # The corpus's subject, in every passage of a one-article corpus, still counts as a name.
    assert term_weight(16, 16, None, 300.0, 100.0) > 2.5 > lucene_idf(16, 16) * 10
    # A large corpus outweighs the prior: its own IDF is what counts.
    assert math.isclose(term_weight(1_000_000, 50, 5000, 300.0, 100.0), lucene_idf(1_000_000, 50), rel_tol=0.02)


def test_coverage_counts_each_distinct_term_once() -> None:
    weight = {"a": 1.0, "b": 3.0}.__getitem__
    assert question_coverage(["a", "b", "a"], {"a"}, weight) == 0.25
    assert question_coverage([], set(), weight) == 0.0
    assert answers(0.35, 1.0, 0.35, 0.35, 1.2) and not answers(0.34, 9.0, 0.35, 0.35, 1.2)
    assert answers(0.3, 2.0, 0.5, 0.3, 1.5) and not answers(0.3, 1.4, 0.5, 0.3, 1.5)


def test_the_semantic_witness_needs_both_closeness_and_some_of_the_words() -> None:
    assert semantic_answers(0.25, 0.4, 0.25, 0.4)
    assert not semantic_answers(0.24, 0.99, 0.25, 0.4)  # close in meaning, but too few of its words
    assert not semantic_answers(0.36, 0.39, 0.25, 0.4)  # its words, but not close enough
    assert not semantic_answers(1.0, None, 0.25, 0.4)  # no cosine (lexical): no witness


@pytest.mark.parametrize(
    "question",
    [
        "Who wrote Hamlet?",
        "How many moons does Jupiter have?",
        "Who won Super Bowl 50?",
        "What is the capital of Australia?",
    ],
)
async def test_questions_about_what_the_article_never_names_are_declined(answerer: Answerer, question: str) -> None:
    answer = await answerer.ask(question)
    assert not answer.answered and answer.answer is None, (answer.coverage, answer.terms)


@pytest.mark.parametrize(
    "question",
    [
        "Who wrote this article?",
        "Which SpaceX engines are mentioned?",
        "How long will the ISS keep operating?",
        "who runs roscosmos these days?",
        "Which rocket used the RD-181?",
    ],
)
async def test_the_same_kind_of_question_about_the_article_is_answered(answerer: Answerer, question: str) -> None:
    answer = await answerer.ask(question)
    assert answer.answered, (answer.coverage, answer.terms)


async def test_a_misspelt_question_is_answered_like_the_right_one(answerer: Answerer) -> None:
    right = await answerer.ask("Who is the head of Roscosmos?")
    typo = await answerer.ask("Who is the head of Roscomsos?")
    assert right.answered and typo.answered and typo.answer == right.answer
    assert typo.coverage == right.coverage and typo.searched_for == "Who is the head of Roscosmos?"


def declined_share(answers_: list) -> float:
    return sum(not a.answered for a in answers_) / len(answers_)


async def ask_all(answerer: Answerer, questions: list[str]) -> list:
    return [await answerer.ask(q, 10) for q in questions]


async def test_own_sets_about_the_article(answerer: Answerer) -> None:
    answerable = [
        q.question
        for name in ("casual-answerable", "typos-answerable")
        for q in load_eval_set(OWN / f"{name}.jsonl").questions
    ]
    unanswerable = [q.question for q in load_eval_set(OWN / "ontopic-unanswerable.jsonl").questions]
    assert len(answerable) >= 45 and len(unanswerable) >= 30
    # Measured: 8% of the answerable declined (4 of 49; the old rule, without typo correction,
    # 6%) and 9% of the unanswerable (3 of 32; the old rule 12%): on-topic questions the article
    # does not answer mostly match a passage word for word but the one they ask about, the
    # limit of a lexical rule (README, "How answers are chosen").
    assert declined_share(await ask_all(answerer, answerable)) <= 0.12
    assert declined_share(await ask_all(answerer, unanswerable)) >= 0.06


def squad_questions(half_index: int) -> list[dict]:
    path = EVAL / "squad" / "questions.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the shared eval folder is not beside this checkout")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if int(r["article_id"].rsplit("-", 1)[1]) % 2 == half_index]


async def test_squad_questions_against_the_bundled_article_are_declined(answerer: Answerer) -> None:
    questions = [r["question"] for r in squad_questions(1)][::2]
    # Measured on all 2,593 questions of the odd articles: 97.6% declined (the old rule: 55%).
    assert declined_share(await ask_all(answerer, questions)) >= 0.95


async def test_squad_questions_against_squad_are_answered(tmp_path: Path) -> None:
    questions = [r["question"] for r in squad_questions(1)][::2]
    squad = load_eval_set(EVAL / "squad")
    db = tmp_path / "squad.sqlite3"
    await asyncio.to_thread(build_index_file_for, squad.documents, db.parent, None, db.name)
    reader = await IndexReader.open(db)
    try:
        answered = await ask_all(Answerer(reader, AnswerParams()), questions)
    finally:
        await reader.close()
    # Measured on all 2,593 questions of the odd articles: 1.7% declined (the old rule: 12.9%).
    assert declined_share(answered) <= 0.03
