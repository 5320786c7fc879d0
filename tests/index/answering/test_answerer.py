"""Answering: the no-answer rule, odd questions, highlights, top_k and the --json contract.

The JSON contract is the one README.md documents under "JSON output":
{"question", "answered", "answer", "searched_for", "corrections": [{"typed", "searched"}],
"passages": [{"rank", "score", "id", "text", "highlight",
"citation": {"document", "author", "path", "name", "url", "kind", "section", "paragraphs", "pages", "label"}}]}.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citebot.index.answering.answerer import Answer, Answerer, AnswerParams
from citebot.index.indexfile import IndexReader

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
EVAL = Path(__file__).resolve().parents[4] / "shared" / "eval"

ANSWERABLE = [
    # (question, paragraph that answers it, read from the article)
    ("How long will the ISS keep operating?", 7),  # "until 2028 ... until 2030"
    ("When will the Russian Orbital Space Station be launched?", 8),  # "following the retirement"
    ("Which Russian engine flew on the Atlas V?", 17),  # RD-180 / Atlas V
    ("What is JAXA?", 9),
    ("When did the Roscosmos delegation arrive in Houston?", 5),  # "On July 29"
]


def load_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        pytest.skip(f"{path} is absent: the shared eval folder is not beside this checkout")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def index_db(built_index: Path) -> Path:
    """The session's index of the bundled article (conftest); read only."""
    return built_index


def assert_declined(answer: Answer) -> None:
    assert answer.answered is False
    assert answer.answer is None
    assert answer.reason
    out = answer.to_json()
    assert out["answered"] is False and out["answer"] is None
    assert [p["rank"] for p in out["passages"]] == list(range(1, len(answer.hits) + 1))


def assert_answer_is_highlight_of_hit_one(answer: Answer) -> None:
    assert answer.answered
    top = answer.hits[0]
    assert top.highlight is not None
    start, end = top.highlight
    assert answer.answer == top.sentence == top.passage.text[start:end]
    assert answer.answer and answer.answer in top.passage.text
    as_json = answer.to_json()
    assert as_json["answer"] == as_json["passages"][0]["text"][start:end]
    assert as_json["passages"][0]["highlight"] == [start, end]


# ---------------------------------------------------------------------------------------------
# The no-answer rule


async def test_seed_unanswerable_questions_are_declined(answerer):
    rows = load_jsonl(EVAL / "seed-dev-unanswerable.jsonl")
    assert len(rows) == 3
    for row in rows:
        answer = await answerer.ask(row["q"])
        assert_declined(answer)
        # Closest matches, if any, are listed only as hits, in rank order.
        assert all(h.rank == i for i, h in enumerate(answer.hits, start=1))


async def test_falcon_question_lists_closest_matches_but_declines(answerer):
    # The article mentions SpaceX's Falcon fleet but never a launch price.
    answer = await answerer.ask("How much does a Falcon 9 launch cost?")
    assert_declined(answer)
    assert answer.hits, "closest matches should be listed"
    assert answer.coverage < AnswerParams().min_coverage


@pytest.mark.parametrize("question", ["", "   ", "\n\t  \n", "?", "?!?", "...", "¿¡", "-- !! ??", "\u200b\u200b"])
async def test_empty_or_punctuation_only_questions_are_declined(answerer, question):
    answer = await answerer.ask(question)
    assert_declined(answer)
    assert answer.hits == []


@pytest.mark.parametrize("question", ["the of and is", "What is it?", "Who are they?"])
async def test_stopword_only_questions_are_declined(answerer, question):
    answer = await answerer.ask(question)
    assert_declined(answer)
    assert answer.reason == "no searchable words"


@pytest.mark.parametrize(
    "question",
    [
        ("ISS " * 25_000),
        ("When will the ISS be retired? " * 4000)[:100_000],
        "x" * 100_000,
        "\ud800 ISS \x00 \u202e extension",
    ],
    ids=["repeated-acronym", "repeated-question", "one-long-word", "surrogate-and-controls"],
)
async def test_huge_or_odd_questions_return_without_error(answerer, question):
    answer = await answerer.ask(question)
    assert isinstance(answer.answered, bool)
    json.dumps(answer.to_json())  # serialisable, even with odd characters
    if answer.answered:
        assert_answer_is_highlight_of_hit_one(answer)


# ---------------------------------------------------------------------------------------------
# Answers


@pytest.mark.parametrize(("question", "paragraph"), ANSWERABLE)
async def test_answered_questions_highlight_a_sentence_of_hit_one(answerer, question, paragraph):
    answer = await answerer.ask(question)
    assert_answer_is_highlight_of_hit_one(answer)
    assert answer.hits[0].passage.citation.covers(paragraph)


async def test_seed_dev_answers_are_highlights_of_hit_one(answerer):
    rows = load_jsonl(EVAL / "seed-dev.jsonl")
    answered = 0
    for row in rows:
        answer = await answerer.ask(row["q"])
        if answer.answered:
            answered += 1
            assert_answer_is_highlight_of_hit_one(answer)
        else:
            assert_declined(answer)
        # Every hit's highlight, when there is one, is a sentence span inside its own passage.
        for hit in answer.hits:
            if hit.highlight:
                start, end = hit.highlight
                assert 0 <= start < end <= len(hit.passage.text)
    assert answered >= len(rows) // 2


async def test_the_iss_question_cites_paragraph_seven(answerer):
    answer = await answerer.ask("How long will the ISS keep operating?")
    assert answer.answered
    assert answer.hits[0].passage.citation.paragraphs == (7, 7)
    assert "until 2028" in answer.answer


@pytest.mark.parametrize("question", ["Who wrote this?", "Who wrote this article?"])
async def test_author_question_is_answered_with_a_sentence_of_the_bio(answerer, question):
    """The article's byline paragraph answers "who wrote this": the answer is the highlighted
    sentence of the first hit, and that sentence names the author."""
    answer = await answerer.ask(question)
    assert answer.answered
    assert_answer_is_highlight_of_hit_one(answer)
    assert "Joseph P. Chacko" in answer.answer


async def test_author_question_finds_the_bio(answerer):
    answer = await answerer.ask("Who wrote this article?")
    assert answer.hits and answer.hits[0].passage.citation.paragraphs == (4, 4)
    assert "Joseph P. Chacko" in answer.hits[0].passage.text


@pytest.mark.parametrize("top_k", [1, 2, 3, 5, 25])
async def test_top_k_is_respected(answerer, top_k):
    answer = await answerer.ask("Russian space station cooperation with NASA", top_k=top_k)
    n_passages = answerer.reader.info.passages
    assert len(answer.hits) == min(top_k, n_passages)
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    assert [h.score for h in answer.hits] == sorted((h.score for h in answer.hits), reverse=True)
    assert len({h.passage.id for h in answer.hits}) == len(answer.hits)


async def test_default_top_k_comes_from_the_params(index_db):
    reader = await IndexReader.open(index_db)
    try:
        answer = await Answerer(reader, AnswerParams(top_k=2)).ask("Russian space station cooperation")
        assert len(answer.hits) == 2
        answer = await Answerer(reader).ask("Russian space station cooperation")
        assert len(answer.hits) == 3
    finally:
        await reader.close()


async def test_top_k_out_of_range_is_clamped(answerer):
    assert len((await answerer.ask("Russian space station", top_k=0)).hits) == 1
    assert len((await answerer.ask("Russian space station", top_k=1000)).hits) == min(25, answerer.reader.info.passages)


# ---------------------------------------------------------------------------------------------
# The JSON contract


ANSWER_KEYS = {"question", "answered", "answer", "searched_for", "corrections", "passages"}
PASSAGE_KEYS = {"rank", "score", "id", "text", "highlight", "citation"}
CITATION_KEYS = {"document", "author", "path", "name", "url", "kind", "section", "paragraphs", "pages", "label"}


async def test_to_json_matches_the_documented_contract(answerer):
    answer = await answerer.ask("How long will the ISS keep operating?")
    out = json.loads(json.dumps(answer.to_json(), ensure_ascii=False))
    assert set(out) == ANSWER_KEYS
    assert out["question"] == "How long will the ISS keep operating?"
    assert out["searched_for"] is None and out["corrections"] == []  # every word is the corpus's
    assert out["answered"] is True and isinstance(out["answer"], str)
    assert len(out["passages"]) == 3
    for rank, (item, hit) in enumerate(zip(out["passages"], answer.hits), start=1):
        # Required by the task: rank, score, text, citation. Documented extras: id, highlight, url.
        assert set(item) == PASSAGE_KEYS
        assert set(item["citation"]) == CITATION_KEYS
        assert item["rank"] == rank and isinstance(item["rank"], int)
        assert isinstance(item["score"], float) and item["score"] == pytest.approx(hit.score, abs=1e-6)
        assert item["id"] == hit.passage.id
        assert item["text"] == hit.passage.text
        assert item["highlight"] is None or (
            isinstance(item["highlight"], list)
            and len(item["highlight"]) == 2
            and all(isinstance(x, int) for x in item["highlight"])
        )
        c = item["citation"]
        assert c["document"] == "NASA and Roscosmos Reignite Space Ties After 8-Year Hiatus"
        assert c["author"] == "Joseph P. Chacko"
        assert c["path"].endswith("nasa-roscosmos-2025.txt")
        assert not c["name"].startswith("/") and c["name"].endswith("nasa-roscosmos-2025.txt")
        assert c["url"] is None and c["kind"] == "txt" and c["pages"] is None  # a text file has no pages
        assert isinstance(c["paragraphs"], list) and len(c["paragraphs"]) == 2
        assert all(isinstance(x, int) for x in c["paragraphs"]) and c["paragraphs"][0] <= c["paragraphs"][1]
        assert c["label"] == hit.passage.citation.label
        assert c["section"] == hit.passage.citation.section
    top = out["passages"][0]
    assert top["citation"]["paragraphs"] == [7, 7]
    assert top["citation"]["section"] == "ISS Operation Extension and Future Plans"
    assert top["citation"]["label"].startswith(
        '"NASA and Roscosmos Reignite Space Ties After 8-Year Hiatus" by Joseph P. Chacko, § ISS Operation Extension and Future Plans, ¶7 ('
    )


async def test_to_json_of_a_decline(answerer):
    for question in ("", "Who painted the Mona Lisa?", "How much does a Falcon 9 launch cost?"):
        out = (await answerer.ask(question)).to_json()
        assert set(out) == ANSWER_KEYS
        assert out["answered"] is False and out["answer"] is None
        for item in out["passages"]:
            assert set(item) == PASSAGE_KEYS and set(item["citation"]) == CITATION_KEYS
