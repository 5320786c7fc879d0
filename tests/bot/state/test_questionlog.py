"""The question log and feedback store, on real temporary SQLite files."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from citebot.bot.state.questionlog import QuestionLog, QuestionRecord


async def test_file_is_private_and_user_ids_are_hashed(tmp_path: Path) -> None:
    path = tmp_path / "state" / "state.sqlite3"
    qlog = await QuestionLog.open(path)
    try:
        row = await qlog.record(
            QuestionRecord("why?", True, 12.5, user_id=1234567, guild_id=1, channel_id=2, top_citation='"T" by A, ¶1')
        )
        assert row is not None
        await qlog.attach_message(row, 99)
        [(asked, guild, channel, who, question, answered, top, ms, message)] = await qlog.recent()
        assert (guild, channel, question, answered, ms, message) == (1, 2, "why?", 1, 12.5, 99)
        assert who == qlog.user_hash(1234567) and "1234567" not in who and len(who) == 64
    finally:
        await qlog.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"1234567" not in path.read_bytes()
    again = await QuestionLog.open(path)  # the key is kept: the same user gets the same hash
    try:
        assert again.user_hash(1234567) == who
    finally:
        await again.close()
    other = await QuestionLog.open(tmp_path / "other.sqlite3")  # another file, another key
    try:
        assert other.user_hash(1234567) != who
    finally:
        await other.close()


async def test_retention_and_disabled_logging(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    qlog = await QuestionLog.open(path, retention_days=30)
    await qlog.record(QuestionRecord("old?", True, 1.0, user_id=1, asked_at=time.time() - 31 * 86400))
    await qlog.record(QuestionRecord("new?", False, 3.0, user_id=1))
    assert await qlog.purge() == 1
    assert [r[4] for r in await qlog.recent()] == ["new?"]
    await qlog.close()

    off = await QuestionLog.open(path, enabled=False)
    try:
        assert await off.recent() == []  # turning logging off forgets what was stored
        assert await off.record(QuestionRecord("secret?", True, 5.0, user_id=2)) is None
        assert await off.recent() == []
        stats = await off.stats()
        assert (stats.questions, stats.answered, stats.median_ms, stats.persisted) == (1, 1, 5.0, False)
    finally:
        await off.close()
    assert b"secret?" not in path.read_bytes()


async def test_one_vote_per_user_per_answer(tmp_path: Path) -> None:
    qlog = await QuestionLog.open(tmp_path / "s.sqlite3")
    try:
        assert await qlog.vote(10, 1, 1) == "new"
        assert await qlog.vote(10, 1, 1) == "same"
        assert await qlog.vote(10, 1, -1) == "changed"
        assert await qlog.vote(10, 2, 1) == "new"
        assert await qlog.vote(11, 1, 1) == "new"
        for ms in (10.0, 30.0, 20.0):
            await qlog.record(QuestionRecord("q?", ms != 30.0, ms, user_id=1))
        stats = await qlog.stats()
        assert (stats.thumbs_up, stats.thumbs_down) == (2, 1)
        assert (stats.questions, stats.answered, stats.median_ms) == (3, 2, 20.0)
    finally:
        await qlog.close()
