"""Follow-up questions (index/followup.py): the conversation's earlier questions as context.

Asked on the bundled article through `Answerer.ask(question, context=...)`, `citebot ask
--context`, `citebot chat` and `citebot eval` on tests/eval/followups.jsonl. Paragraph numbers
are the article's, counted as citations count them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.index.answering.answerer import Answer, Answerer
from citebot.index.answering.followup import FollowUpWeights, Turn, refers_back, term_weights, without_opening
from citebot.index.evaluation import evaluate, load_eval_set

TESTS = Path(__file__).resolve().parents[2]
FOLLOWUPS = TESTS / "eval" / "followups.jsonl"
CITEBOT = Path(sys.executable).with_name("citebot")
RD181 = "Which rocket used the RD-181 engines?"


def top_paragraph(answer: Answer) -> tuple[int, ...]:
    return answer.hits[0].passage.citation.paragraphs


async def test_who_builds_it_after_the_rd181_question_finds_northrop_grumman(answerer: Answerer) -> None:
    alone = await answerer.ask("and who builds it?")
    follow_up = await answerer.ask("and who builds it?", context=[RD181])
    assert "Northrop Grumman" not in " ".join(h.passage.text for h in alone.hits[:1])
    assert follow_up.answered and follow_up.context == (RD181,)
    assert "Northrop Grumman" in follow_up.hits[0].passage.text and top_paragraph(follow_up) == (17, 17)
    # Pasting the earlier question in front finds the passage that answered it, not the maker.
    pasted = await answerer.ask(f"{RD181} and who builds it?")
    assert "Northrop Grumman" not in pasted.hits[0].passage.text


async def test_no_context_is_exactly_the_question_alone(answerer: Answerer) -> None:
    for question in ("When will the ISS be deorbited?", "Who painted the Mona Lisa?", "and who builds it?"):
        alone = await answerer.ask(question)
        assert alone.context is None and "context" not in alone.to_json()
        for empty in ([], ["", "   "]):
            assert (await answerer.ask(question, context=empty)).to_json() == alone.to_json()


async def test_a_follow_up_that_changes_the_subject_is_answered_on_its_own_words(answerer: Answerer) -> None:
    question = "Who is the head of Roscosmos?"
    alone = await answerer.ask(question)
    changed = await answerer.ask(question, context=["how long will the iss keep operating?"])
    assert changed.context == () and changed.to_json()["context"] == []
    assert [h.passage.id for h in changed.hits] == [h.passage.id for h in alone.hits]
    assert "Bakanov" in changed.hits[0].passage.text


async def test_context_weighs_less_than_the_follow_ups_own_words(answerer: Answerer) -> None:
    # The earlier question is about the ISS's lifetime (paragraph 7); the follow-up's own words
    # name the engines Washington stopped ordering (paragraph 20), and those win.
    answer = await answerer.ask(
        "and what did washington do about the russian engines?", context=["how long will the iss keep operating?"]
    )
    assert answer.context and top_paragraph(answer) == (20, 20)


async def test_an_unanswerable_follow_up_is_still_declined(answerer: Answerer) -> None:
    answer = await answerer.ask("and who painted the Mona Lisa?", context=[RD181])
    assert not answer.answered and answer.answer is None


async def test_a_follow_up_without_words_of_its_own_is_searched_with_the_context(answerer: Answerer) -> None:
    answer = await answerer.ask("why?", context=["what happened to the joint moon missions?"])
    assert answer.hits and top_paragraph(answer) == (14, 14)


def test_weights_and_cues() -> None:
    weights = term_weights(
        ["build"],
        [Turn(["rocket", "build"], ["antar"]), Turn(["engin"])],
        FollowUpWeights(question=0.5, passage=0.2, decay=0.5),
    )
    assert weights == {"build": 1.0, "rocket": 0.25, "antar": 0.1, "engin": 0.5}
    assert refers_back("and when?") and refers_back("what did it carry?") and refers_back("What about the ROS?")
    assert not refers_back("Who is the head of Roscosmos?")
    assert without_opening("and who builds it?") == "who builds it?"
    with pytest.raises(ValueError, match="question"):
        FollowUpWeights(question=1.0)


async def test_followup_set_is_answered_better_with_context_than_alone_or_pasted(answerer: Answerer) -> None:
    eval_set = load_eval_set(FOLLOWUPS)
    assert len(eval_set.questions) >= 15 and all(q.context for q in eval_set.questions)
    hit1 = {}
    for mode in ("context", "alone", "pasted"):
        report = await evaluate(eval_set, answerer.ask, (1,), context_mode=mode)
        hit1[mode] = report.hits[1] / report.answerable
    # Pinned figures (README, "Follow-up questions"): 0.885 with context, 0.423 alone, 0.808 pasted.
    assert hit1["context"] >= 0.85 and hit1["alone"] <= 0.5 and hit1["context"] > hit1["pasted"]


def test_cli_ask_context_and_eval_report_both(tmp_path: Path, built_index: Path) -> None:
    db = tmp_path / "index.sqlite3"
    db.write_bytes(built_index.read_bytes())
    done = subprocess.run(
        [str(CITEBOT), "ask", "and who builds it?", "--context", RD181, "--json", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["context"] == [RD181] and "Northrop Grumman" in out["passages"][0]["text"]
    done = subprocess.run(
        [str(CITEBOT), "eval", str(FOLLOWUPS), "--json", "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert set(figures) == {"with context", "without context", "pasted in front"}
    assert figures["with context"]["hit@1"] > figures["pasted in front"]["hit@1"] > figures["without context"]["hit@1"]


def test_a_bad_context_line_in_a_set_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "and when?", "context": "When will the ISS be deorbited?", "gold": [7]}\n')
    done = subprocess.run([str(CITEBOT), "eval", str(bad)], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "bad.jsonl:1" in done.stderr and "context" in done.stderr


def test_chat_keeps_the_conversation_until_new(tmp_path: Path, built_index: Path) -> None:
    db = tmp_path / "index.sqlite3"
    db.write_bytes(built_index.read_bytes())
    done = subprocess.run(
        [str(CITEBOT), "chat", "--db", str(db)],
        input=f"{RD181}\nand who builds it?\n/new\nand who builds it?\n/quit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split("New conversation", 1)
    answers = before.split("Answer: ")
    assert len(answers) == 3
    top_passage = answers[2].split("[1] (score", 1)[1].split("\n[2]", 1)[0]
    assert "Northrop Grumman" in top_passage  # the follow-up's top passage names the maker
    assert "My sources do not answer that." in after  # forgotten: "builds" alone matches nothing
