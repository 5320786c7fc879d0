"""The state stores (question log, votes, reasons, cooldown) on both backends: a real SQLite file
and a real PostgreSQL server started by the tests (tests/support/pg_server.py), nothing mocked.

The behaviours of tests/test_bot_questionlog.py and the question-log half of tests/test_gaps.py
run against both backends through `backend`; the rest is PostgreSQL's own: two stores (two
bot processes) sharing one database, the cross-process cooldown, migrations, and the password
rules (never from config.toml, never logged).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from citebot.bot.discord.cooldown import Cooldown, SharedCooldown, cooldown_for
from citebot.bot.settings import LogSettings, Settings, load_settings
from citebot.bot.state.backends import open_state
from citebot.bot.state.questionlog import QuestionRecord, SqliteQuestionLog
from citebot.bot.state.state_url import STATE_URL_ENV, masked
from citebot.bot.state.store import StateStore
from citebot.index.errors import ConfigError, StateDatabaseError
from tests.support import pg_server
from tests.support.state_log import log_with_gaps

asyncpg = pytest.importorskip("asyncpg", reason="the PostgreSQL tests need asyncpg: pip install -e '.[test]'")

DAY = 86400.0


@pytest.fixture(autouse=True)
def _no_real_pgpass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read the machine's own ~/.pgpass, nor its CITEBOT_STATE_URL."""
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    monkeypatch.delenv(STATE_URL_ENV, raising=False)


@dataclass
class Backend:
    """A place for state (an SQLite file, or a database of its own on the server) and the
    means to open stores there and age its rows, as a test needs."""

    name: str
    location: str
    other_location: Callable[[], str]
    raw: Callable[[str], Awaitable[None]]

    async def open(self, *, enabled: bool = True, retention_days: int = 30, where: str | None = None) -> StateStore:
        target = where or self.location
        if self.name == "sqlite":
            return await SqliteQuestionLog.open(Path(target), enabled=enabled, retention_days=retention_days)
        from citebot.bot.state.postgres import PostgresQuestionLog

        return await PostgresQuestionLog.open(target, enabled=enabled, retention_days=retention_days)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        import aiosqlite

        path = tmp_path / "state" / "state.sqlite3"

        async def raw(sql: str) -> None:
            async with aiosqlite.connect(path) as db:
                await db.execute(sql)
                await db.commit()

        return Backend("sqlite", str(path), lambda: str(tmp_path / "other.sqlite3"), raw)
    server = request.getfixturevalue("postgres")
    database = server.new_database()

    async def raw_pg(sql: str) -> None:
        await server.admin(sql.replace("feedback", "citebot_feedback"), database=database)

    return Backend("postgres", server.url(database), lambda: server.url(server.new_database()), raw_pg)


# ------------------------------------------------------------------ both backends ----------


async def test_user_ids_are_hashed_with_the_stores_key(backend: Backend) -> None:
    qlog = await backend.open()
    try:
        row = await qlog.record(
            QuestionRecord("why?", True, 12.5, user_id=1234567, guild_id=1, channel_id=2, top_citation='"T" by A, ¶1')
        )
        assert row is not None
        await qlog.attach_message(row, 99)
        [(_, guild, channel, who, question, answered, _, ms, message)] = await qlog.recent()
        assert (guild, channel, question, answered, ms, message) == (1, 2, "why?", 1, 12.5, 99)
        assert who == qlog.user_hash(1234567) and "1234567" not in who and len(who) == 64
    finally:
        await qlog.close()
    again = await backend.open()  # the key is kept: the same user gets the same hash
    try:
        assert again.user_hash(1234567) == who
    finally:
        await again.close()
    other = await backend.open(where=backend.other_location())  # another store, another key
    try:
        assert other.user_hash(1234567) != who
    finally:
        await other.close()


async def test_retention_and_disabled_logging(backend: Backend) -> None:
    qlog = await backend.open(retention_days=30)
    await qlog.record(QuestionRecord("old?", True, 1.0, user_id=1, asked_at=time.time() - 31 * DAY))
    await qlog.record(QuestionRecord("new?", False, 3.0, user_id=1))
    assert await qlog.purge() == 1
    assert [r[4] for r in await qlog.recent()] == ["new?"]
    await qlog.close()

    off = await backend.open(enabled=False)
    try:
        assert await off.recent() == []  # turning logging off forgets what was stored
        assert await off.record(QuestionRecord("secret?", True, 5.0, user_id=2)) is None
        assert await off.recent() == []
        stats = await off.stats()
        assert (stats.questions, stats.answered, stats.median_ms, stats.persisted) == (1, 1, 5.0, False)
    finally:
        await off.close()


async def test_one_vote_per_user_per_answer_and_stats(backend: Backend) -> None:
    qlog = await backend.open()
    try:
        assert await qlog.vote(10, 1, 1) == "new"
        assert await qlog.vote(10, 1, 1) == "same"
        assert await qlog.vote(10, 1, -1) == "changed"
        assert await qlog.vote(10, 2, 1) == "new"
        assert await qlog.vote(11, 1, 1) == "new"
        with pytest.raises(ValueError):
            await qlog.vote(11, 1, 0)
        for ms in (10.0, 30.0, 20.0, 40.0):
            await qlog.record(QuestionRecord("q?", ms != 30.0, ms, user_id=1))
        stats = await qlog.stats()
        assert (stats.thumbs_up, stats.thumbs_down) == (2, 1)
        assert (stats.questions, stats.answered, stats.median_ms, stats.persisted) == (4, 3, 25.0, True)
        empty = await qlog.stats("garden")
        assert (empty.questions, empty.median_ms) == (0, None)
    finally:
        await qlog.close()


async def test_gap_questions_by_window_guild_and_collection(backend: Backend) -> None:
    now = time.time()
    qlog = await backend.open()
    try:
        await log_with_gaps(qlog, now)
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
        default = await qlog.stats("default")
        assert (default.questions, default.thumbs_down, default.thumbs_up) == (4, 1, 1)
    finally:
        await qlog.close()


async def test_reasons_follow_retention_and_logging(backend: Backend) -> None:
    """A reason is text: gone with its vote's retention, and with question logging off; votes stay."""
    qlog = await backend.open()
    await log_with_gaps(qlog, time.time())
    await qlog.close()
    await backend.raw("UPDATE feedback SET voted_at = voted_at - 40 * 86400")
    qlog = await backend.open(retention_days=30)
    try:
        gaps = await qlog.gap_questions(time.time() - 60 * DAY)
        assert all(g.reasons == () for g in gaps) and any(g.downvotes == 1 for g in gaps)
    finally:
        await qlog.close()
    qlog = await backend.open(enabled=False)
    try:
        assert await qlog.vote(2000, 9, -1) == "new"
        assert not await qlog.set_reason(2000, 9, "not kept")
        assert (await qlog.stats()).thumbs_down == 2
    finally:
        await qlog.close()


# ------------------------------------------------------------------ PostgreSQL only -------


async def test_two_processes_share_questions_votes_and_the_cooldown(postgres: Any) -> None:
    """Two stores on one database stand for two bot processes (shards): each sees what the
    other recorded, one person's vote counts once whichever process receives the click, and
    the per-user cooldown holds across them."""
    from citebot.bot.state.postgres import PostgresQuestionLog

    url = postgres.url(postgres.new_database())
    one, two = await asyncio.gather(PostgresQuestionLog.open(url), PostgresQuestionLog.open(url))
    try:
        assert one.user_hash(42) == two.user_hash(42)  # one key, created once
        row = await one.record(QuestionRecord("Who runs the ISS?", True, 8.0, user_id=42, guild_id=1))
        await one.attach_message(row, 5000)
        assert [r[4] for r in await two.recent()] == ["Who runs the ISS?"]
        assert await two.vote(5000, 7, -1) == "new"
        assert await one.vote(5000, 7, -1) == "same"
        assert await one.set_reason(5000, 7, "too vague")
        [gap] = await two.gap_questions(time.time() - DAY)
        assert (gap.question, gap.downvotes, gap.reasons) == ("Who runs the ISS?", 1, ("too vague",))
        assert (await two.stats()).questions == (await one.stats()).questions == 1

        first, second = cooldown_for(one, 3, 60.0), cooldown_for(two, 3, 60.0)
        assert isinstance(first, SharedCooldown) and isinstance(second, SharedCooldown)
        assert [await first.check(42), await second.check(42), await first.check(42)] == [None, None, None]
        wait = await second.check(42)  # the fourth question in the window, asked of the other process
        assert wait is not None and 0 < wait <= 60.0
        assert await first.check(43) is None  # another user has a window of their own
        # Asked at once from both processes: exactly the limit gets through.
        results = await asyncio.gather(*(store.cooldown_hit(44, 3, 60.0) for store in (one, two) * 4))
        assert sum(r is None for r in results) == 3
        assert await one.cooldown_hit(45, 1, 0.0) is None and await one.cooldown_hit(45, 1, 0.0) is None
    finally:
        await one.close()
        await two.close()


async def test_cooldown_window_slides_and_expired_rows_are_pruned(postgres: Any) -> None:
    from citebot.bot.state.postgres import PostgresQuestionLog

    database = postgres.new_database()
    store = await PostgresQuestionLog.open(postgres.url(database))
    try:
        assert await store.cooldown_hit(1, 1, 60.0) is None
        assert await store.cooldown_hit(1, 1, 60.0) is not None
        await postgres.admin("UPDATE citebot_cooldown SET at = at - 61", database=database)
        assert await store.cooldown_hit(2, 1, 60.0) is None  # prunes user 1's expired row
        rows = await postgres.admin("SELECT user_hash FROM citebot_cooldown", database=database)
        assert [r[0] for r in rows] == [store.user_hash(2)]
        assert await store.cooldown_hit(1, 1, 60.0) is None  # user 1's window has moved on
    finally:
        await store.close()


async def test_migrations_are_versioned_and_applied_once(postgres: Any) -> None:
    from citebot.bot.state.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresQuestionLog

    database = postgres.new_database()
    url = postgres.url(database)
    stores = await asyncio.gather(*(PostgresQuestionLog.open(url) for _ in range(3)))  # three starting at once
    for store in stores:
        await store.close()
    versions = await postgres.admin("SELECT version FROM citebot_schema_version ORDER BY version", database=database)
    assert [r[0] for r in versions] == [v for v, _ in MIGRATIONS] and versions[-1][0] == SCHEMA_VERSION
    await postgres.admin(
        "INSERT INTO citebot_schema_version (version) VALUES ($1)", SCHEMA_VERSION + 1, database=database
    )
    with pytest.raises(StateDatabaseError, match="newer than this citebot"):
        await PostgresQuestionLog.open(url)


async def test_password_from_pgpass_and_never_logged(
    postgres: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A URL without a password is refused by the server until a .pgpass supplies it; neither
    errors nor logs show the password."""
    from citebot.bot.state.postgres import PostgresQuestionLog

    database = postgres.new_database()
    bare = postgres.url(database, password=False)
    with pytest.raises(StateDatabaseError) as failed:
        await PostgresQuestionLog.open(bare)
    assert "cannot connect" in str(failed.value) and pg_server.APP_PASSWORD not in str(failed.value)

    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres.port}:{database}:{pg_server.APP_USER}:{pg_server.APP_PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    caplog.set_level(logging.DEBUG)
    store = await PostgresQuestionLog.open(bare)
    await store.close()

    with_password = postgres.url(database)
    store = await PostgresQuestionLog.open(with_password)
    await store.close()
    assert "***" in masked(with_password) and pg_server.APP_PASSWORD not in masked(with_password)
    assert pg_server.APP_PASSWORD not in caplog.text and "question log in PostgreSQL at" in caplog.text

    wrong = with_password.replace(pg_server.APP_PASSWORD, "not-the-Password-42")
    with pytest.raises(StateDatabaseError) as failed:
        await PostgresQuestionLog.open(wrong)
    assert "not-the-Password-42" not in str(failed.value)


async def test_open_state_picks_the_backend_from_the_settings(postgres: Any, tmp_path: Path) -> None:
    base = Settings(corpus_paths=(), db_path=tmp_path / "i.sqlite3", state_db_path=tmp_path / "s.sqlite3")
    sqlite_store = await open_state(base)
    try:
        assert isinstance(sqlite_store, SqliteQuestionLog) and not sqlite_store.shared
        assert isinstance(cooldown_for(sqlite_store, 3, 10.0), Cooldown)  # per process, in memory
    finally:
        await sqlite_store.close()
    url = postgres.url(postgres.new_database())
    shared = await open_state(
        Settings(
            corpus_paths=(), db_path=base.db_path, state_db_path=base.state_db_path, log=LogSettings(state_url=url)
        )
    )
    try:
        from citebot.bot.state.postgres import PostgresQuestionLog

        assert isinstance(shared, PostgresQuestionLog) and isinstance(shared, StateStore) and shared.shared
    finally:
        await shared.close()


# ------------------------------------------------------------------ settings (no server) --


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[log]\nstate_url = "{url}"\n', encoding="utf-8")
    return path


def test_config_toml_may_not_hold_the_password(tmp_path: Path) -> None:
    for url in ("postgresql://bot:hunter2@db.example:5432/citebot", "postgresql://bot@db/citebot?password=hunter2"):
        with pytest.raises(ConfigError) as failed:
            load_settings(_config(tmp_path, url))
        message = str(failed.value)
        assert "log.state_url" in message and STATE_URL_ENV in message and ".pgpass" in message
        assert "hunter2" not in message
    with pytest.raises(ConfigError, match="postgresql://"):
        load_settings(_config(tmp_path, "mysql://bot@db/citebot"))


def test_url_without_password_in_config_and_the_environment_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, "postgresql://bot@db.example/citebot")
    assert load_settings(config).log.state_url == "postgresql://bot@db.example/citebot"
    assert load_settings(_config(tmp_path, "")).log.state_url == ""
    monkeypatch.setenv(STATE_URL_ENV, "postgresql://bot:hunter2@other.example/citebot")
    settings = load_settings(config)
    assert settings.log.state_url == "postgresql://bot:hunter2@other.example/citebot"
    assert "hunter2" not in repr(settings) and "hunter2" not in repr(settings.log)
    assert masked(settings.log.state_url) == "postgresql://bot:***@other.example/citebot"


async def test_citebot_gaps_reads_the_shared_database(
    postgres: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`citebot gaps` opens the state as the bot does: PostgreSQL from CITEBOT_STATE_URL, with
    no state file on disk at all."""
    from citebot.bot.cli.main import _gaps
    from citebot.bot.state.postgres import PostgresQuestionLog

    url = postgres.url(postgres.new_database())
    qlog = await PostgresQuestionLog.open(url)
    try:
        await log_with_gaps(qlog, time.time())
    finally:
        await qlog.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[log]\nstate_db = "{tmp_path / "absent.sqlite3"}"\n', encoding="utf-8")
    monkeypatch.setenv(STATE_URL_ENV, url)
    args = argparse.Namespace(config=str(config), days=7, collection=None, state_db=None, json=True)
    assert await _gaps(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 3 and not (tmp_path / "absent.sqlite3").exists()
