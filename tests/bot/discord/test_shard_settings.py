"""discord.shard_count and discord.shard_ids: read and checked by their rows (errors name the
key, or the `citebot run` flag that set it), the bot they build (AutoShardedBot only when
sharded), and the per-shard counts /stats reads from the question log."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from citebot.bot.discord.client import CitebotBot, ShardedCitebotBot, build_bot, shard_options
from citebot.bot.discord.render import shards_field
from citebot.bot.discord.sharding import shard_of, with_shard_flags
from citebot.bot.settings import DiscordSettings, Settings, load_settings
from citebot.bot.state.questionlog import QuestionRecord, SqliteQuestionLog
from citebot.index.errors import ConfigError


def settings_from(tmp_path: Path, discord_table: str) -> Settings:
    (tmp_path / "config.toml").write_text(f"[discord]\n{discord_table}", encoding="utf-8")
    return load_settings(tmp_path / "config.toml")


@pytest.fixture(autouse=True)
def _private_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.mark.parametrize(
    ("table", "count", "ids"),
    [
        ("", 0, ()),
        ("shard_count = 4\n", 4, ()),
        ("shard_count = 4\nshard_ids = [0, 3]\n", 4, (0, 3)),
        ('shard_count = "auto"\n', "auto", ()),
        ('shard_count = "AUTO"\n', "auto", ()),
    ],
)
def test_the_shard_settings_are_read(tmp_path: Path, table: str, count: object, ids: tuple[int, ...]) -> None:
    discord = settings_from(tmp_path, table).discord
    assert (discord.shard_count, discord.shard_ids) == (count, ids)


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ("shard_count = -1\n", 'discord.shard_count must be 0, a whole number of shards, or "auto", got -1'),
        ('shard_count = "many"\n', "discord.shard_count must be 0, a whole number of shards, or \"auto\", got 'many'"),
        ("shard_count = 2.5\n", "discord.shard_count must be 0, a whole number of shards"),
        ("shard_count = true\n", "discord.shard_count must be 0, a whole number of shards"),
        ("shard_count = 2\nshard_ids = [2]\n", "discord.shard_ids must each be below discord.shard_count (2), got 2"),
        ("shard_count = 2\nshard_ids = [-1]\n", "discord.shard_ids must be a list of shard numbers"),
        ("shard_count = 2\nshard_ids = [1, 1]\n", "discord.shard_ids must not name a shard twice"),
        ("shard_ids = [0]\n", "discord.shard_ids needs discord.shard_count to be a number of shards, got 0"),
        ('shard_count = "auto"\nshard_ids = [0]\n', "discord.shard_ids needs discord.shard_count to be a number"),
    ],
)
def test_bad_shard_settings_name_the_key(tmp_path: Path, table: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, table)
    assert str(caught.value).startswith(error)


def test_the_run_flags_override_the_settings_and_errors_name_the_flag(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, "shard_count = 3\n")
    assert with_shard_flags(settings, None, None) is settings
    flagged = with_shard_flags(settings, "2", "0,1").discord
    assert (flagged.shard_count, flagged.shard_ids) == (2, (0, 1))
    assert with_shard_flags(settings, None, "2").discord.shard_ids == (2,)  # below the config's 3
    assert with_shard_flags(settings, "auto", None).discord.shard_count == "auto"
    with pytest.raises(ConfigError, match=r"^--shard-count must be 0, a whole number of shards"):
        with_shard_flags(settings, "two", None)
    with pytest.raises(ConfigError, match=r"^--shard-ids must be shard numbers separated by commas"):
        with_shard_flags(settings, "2", "0;1")
    with pytest.raises(ConfigError, match=r"^--shard-ids must each be below --shard-count \(2\), got 5$"):
        with_shard_flags(settings, "2", "5")
    with pytest.raises(ConfigError, match=r"^--shard-ids must each be below discord.shard_count \(3\), got 3$"):
        with_shard_flags(settings, None, "3")


async def test_the_bot_is_auto_sharded_only_when_a_count_is_set(tmp_path: Path) -> None:
    settings = Settings(corpus_paths=(), db_path=tmp_path / "i", state_db_path=tmp_path / "s")
    qlog = await SqliteQuestionLog.open(tmp_path / "state.sqlite3")
    try:
        plain = build_bot(settings, None, qlog)  # type: ignore[arg-type]
        assert type(plain) is CitebotBot and plain.shards_run() == ((), None)
        sharded = build_bot(replace(settings, discord=DiscordSettings(shard_count=4, shard_ids=(1, 3))), None, qlog)  # type: ignore[arg-type]
        assert isinstance(sharded, ShardedCitebotBot)
        assert (sharded.shard_count, sharded.shard_ids) == (4, [1, 3]) and sharded.shards_run() == ((1, 3), 4)
        every = build_bot(replace(settings, discord=DiscordSettings(shard_count=2)), None, qlog)  # type: ignore[arg-type]
        assert every.shards_run() == ((0, 1), 2)
        assert shard_options(DiscordSettings(shard_count="auto")) == {"shard_count": None, "shard_ids": None}
    finally:
        await qlog.close()


def test_a_guild_s_shard_is_discords_rule() -> None:
    assert shard_of(None, 4) == 0  # direct messages: shard 0
    assert shard_of(197038439483310086, 1) == 0
    assert shard_of((5 << 22) | 123, 4) == 1 and shard_of((7 << 22), 4) == 3


async def test_the_sqlite_log_counts_questions_per_shard(tmp_path: Path) -> None:
    qlog = await SqliteQuestionLog.open(tmp_path / "state.sqlite3")
    try:
        for guild in ((1 << 22), (2 << 22), (3 << 22), (3 << 22) | 9, None):
            await qlog.record(QuestionRecord("q?", True, 5.0, user_id=1, guild_id=guild))
        assert await qlog.questions_by_shard(2) == {0: 2, 1: 3}  # the DM counts on shard 0
        assert await qlog.questions_by_shard(2, "other") == {}
    finally:
        await qlog.close()
    off = await SqliteQuestionLog.open(tmp_path / "off.sqlite3", enabled=False)
    try:
        await off.record(QuestionRecord("q?", True, 5.0, user_id=1, guild_id=1 << 22))
        assert await off.questions_by_shard(2) == {}
    finally:
        await off.close()


def test_the_shards_field_says_what_this_process_knows() -> None:
    assert (
        shards_field((1,), 2, {0: 3, 1: 4}, shared=True)
        == "this process: shard #1 of 2 · 4 questions\nall shards: #0 3 · #1 4"
    )
    private = shards_field((0, 1), 3, {0: 1}, shared=False)
    assert private.startswith("this process: shards #0, #1 of 3 · 1 questions\nknown here: #0 1 · #1 0 · #2 0")
    assert "log.state_url" in private
