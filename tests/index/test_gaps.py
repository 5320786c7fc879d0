"""Knowledge gaps without Discord: the grouping (index/gaps.py), the rows the question log gives
it (real SQLite files), and `citebot gaps` on a state database."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citebot.bot.state.questionlog import QuestionLog
from citebot.index.gaps import GapQuestion, group_gaps
from tests.support.state_log import log_with_gaps

CITEBOT = Path(sys.executable).with_name("citebot")
DAY = 86400.0


def q(
    text: str, at: float = 0.0, *, declined: bool = True, closest_id: str | None = None, reasons: tuple[str, ...] = ()
) -> GapQuestion:
    return GapQuestion(
        question=text,
        asked_at=at,
        declined=declined,
        downvotes=0 if declined else 1,
        reasons=reasons,
        closest=f"Doc ¶{closest_id}" if closest_id else None,
        closest_id=closest_id,
    )


def test_groups_by_shared_content_words_most_frequent_first() -> None:
    groups = group_gaps(
        [
            q("How do I water the greenhouse?", 1, closest_id="a"),
            q("Does the greenhouse need watering in winter?", 2, declined=False, closest_id="a", reasons=("vague",)),
            q("Who painted the Mona Lisa?", 3),
            q("What does the greenhouse grow?", 4, closest_id="b"),
            q("How many astronauts are on the ISS?", 5),
            q("how many astronauts live on the ISS now", 6),
        ]
    )
    assert [(g.count, g.words) for g in groups] == [
        (3, ("greenhouse",)),
        (2, ("astronauts", "iss")),
        (1, ("lisa", "mona", "painted")),
    ]
    greenhouse = groups[0]
    assert greenhouse.examples == (
        "What does the greenhouse grow?",
        "Does the greenhouse need watering in winter?",
        "How do I water the greenhouse?",
    )  # the most recent first
    assert (greenhouse.declined, greenhouse.downvotes, greenhouse.reasons) == (2, 1, ("vague",))
    assert greenhouse.closest_id == "a"  # the passage offered most often
    # Stems meet ("water", "watering"); stopwords, question words and "how many" do not count.
    assert group_gaps([q("water tomatoes?"), q("watering tomatoes")])[0].words == ("tomatoes", "water")
    assert group_gaps([q("How many?"), q("how many?")])[0].words == ()


def test_examples_are_three_distinct_questions() -> None:
    [group] = group_gaps([q("Mars base?", t) for t in range(5)] + [q("MARS BASE?", 9), q("Where is the Mars base?", 8)])
    assert group.count == 7 and group.examples == ("MARS BASE?", "Where is the Mars base?")


async def _log_with_gaps(path: Path, now: float) -> QuestionLog:
    """The SQLite question log at `path`, holding `state_log.log_with_gaps`'s questions."""
    qlog = await QuestionLog.open(path)
    await log_with_gaps(qlog, now)
    return qlog


def test_question_log_gives_the_window_guild_and_collection(tmp_path: Path) -> None:
    async def go() -> None:
        now = time.time()
        qlog = await _log_with_gaps(tmp_path / "state.sqlite3", now)
        try:
            week = await qlog.gap_questions(now - 7 * DAY)
            assert [(g.question, g.declined, g.downvotes, g.reasons) for g in week] == [
                ("Who painted the Mona Lisa?", True, 0, ()),
                ("Where is the Mona Lisa painted?", True, 0, ()),
                ("When will the ISS be deorbited?", False, 1, ("gives the plan, not the date",)),
            ]
            assert week[0].closest_id == "p-7" and week[1].collection == "garden" and week[0].collection == "default"
            assert len(await qlog.gap_questions(now - 30 * DAY)) == 4
            assert [g.question for g in await qlog.gap_questions(now - 7 * DAY, guild_id=2)] == [
                "Where is the Mona Lisa painted?"
            ]
            assert [g.question for g in await qlog.gap_questions(now - 7 * DAY, collection="garden")] == [
                "Where is the Mona Lisa painted?"
            ]
            assert len(await qlog.gap_questions(now - 7 * DAY, collection="default")) == 2
            stats = await qlog.stats("garden")
            assert (stats.questions, stats.answered) == (1, 0)
        finally:
            await qlog.close()

    asyncio.run(go())


def test_reasons_follow_retention_and_logging(tmp_path: Path) -> None:
    """A reason is text: gone with its vote's retention, and with question logging turned off.
    The votes themselves stay."""
    path = tmp_path / "state.sqlite3"

    async def go() -> None:
        qlog = await _log_with_gaps(path, time.time())
        await qlog.close()
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE feedback SET voted_at = voted_at - 40 * 86400")
        qlog = await QuestionLog.open(path, retention_days=30)
        await qlog.close()
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT vote, reason FROM feedback ORDER BY vote").fetchall() == [(-1, None), (1, None)]
        qlog = await QuestionLog.open(path, enabled=False)
        assert await qlog.vote(2000, 9, -1) == "new"
        assert not await qlog.set_reason(2000, 9, "not kept")
        await qlog.close()

    asyncio.run(go())


def test_a_state_file_of_the_first_schema_gains_the_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE secret (name TEXT PRIMARY KEY, value BLOB NOT NULL);
            CREATE TABLE questions (id INTEGER PRIMARY KEY, asked_at REAL NOT NULL, guild_id INTEGER,
                channel_id INTEGER, user_hash TEXT NOT NULL, question TEXT NOT NULL, answered INTEGER NOT NULL,
                top_citation TEXT, answer_ms REAL NOT NULL, message_id INTEGER);
            CREATE TABLE feedback (message_id INTEGER NOT NULL, user_hash TEXT NOT NULL,
                vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), voted_at REAL NOT NULL,
                PRIMARY KEY (message_id, user_hash));
            """)
        conn.execute(
            "INSERT INTO questions VALUES (1, ?, 1, 2, 'h', 'Old question?', 0, NULL, 3.0, 55)", (time.time(),)
        )
        conn.execute("INSERT INTO feedback VALUES (55, 'h2', -1, ?)", (time.time(),))

    async def go() -> list[GapQuestion]:
        qlog = await QuestionLog.open(path)
        try:
            return await qlog.gap_questions(time.time() - DAY)
        finally:
            await qlog.close()

    [old] = asyncio.run(go())
    assert (old.question, old.declined, old.downvotes, old.collection, old.closest_id) == (
        "Old question?",
        True,
        1,
        "default",
        None,
    )


def test_citebot_gaps_json_on_a_state_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.sqlite3"

    async def fill() -> None:
        await (await _log_with_gaps(state, time.time())).close()

    asyncio.run(fill())
    config = tmp_path / "config.toml"
    config.write_text(
        f'[log]\nstate_db = "{state}"\n\n[[collections]]\nname = "garden"\npaths = ["{tmp_path}"]\n', encoding="utf-8"
    )
    environ = {k: v for k, v in os.environ.items() if k != "CITEBOT_CONFIG"}
    done = subprocess.run(
        [str(CITEBOT), "gaps", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["days"] == 7 and report["questions"] == 3
    mona, iss = report["groups"]
    assert (mona["words"], mona["count"], mona["declined"]) == (["lisa", "mona", "painted"], 2, 2)
    assert mona["examples"] == ["Where is the Mona Lisa painted?", "Who painted the Mona Lisa?"]
    assert mona["collections"] == ["default", "garden"]
    assert iss["count"] == 1 and iss["downvotes"] == 1 and iss["reasons"] == ["gives the plan, not the date"]
    assert iss["closest_passage"] == {"id": "p-7", "citation": "NASA ¶7"}

    def run(*args: str) -> tuple[int, str, str]:  # the same entry point, in-process (no start-up cost)
        from citebot.bot.cli.main import main

        code = main(["gaps", "--config", str(config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("--json", "--days", "30")
    assert code == 0 and len(json.loads(out)["groups"][0]["examples"]) == 3
    assert json.loads(run("--json", "--collection", "garden")[1])["questions"] == 1
    code, out, _ = run("--days", "7")
    assert code == 0 and out.startswith("Knowledge gaps, last 7 days: 3 questions")
    assert "1. lisa, mona, painted — 2 questions (2 declined, 0 👎)" in out
    assert '   reasons: "gives the plan, not the date"' in out
    for args, message in (
        (("--collection", "nope"), "--collection: no collection named 'nope'"),
        (("--days", "0"), "--days must be"),
        (("--state-db", str(tmp_path / "none.sqlite3")), "no state database at"),
    ):
        code, _, err = run(*args)
        assert code == 2 and err.startswith(f"citebot: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "none.sqlite3").exists()
