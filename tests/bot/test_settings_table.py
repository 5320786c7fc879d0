"""bot/settings_table.py is the one source of every setting: the committed config.toml and the
README's settings table are generated from it, config.toml is read through it, and its defaults
are the ones the dataclasses use."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest

from citebot.bot import settings_table
from citebot.bot.settings import DiscordSettings, LogSettings, Settings, load_settings
from citebot.bot.settings_table import (
    COLLECTION_ROWS,
    SETTINGS,
    Setting,
    default,
    readme_table,
    sample_config,
    setting,
    with_readme_table,
)
from citebot.index.answering.answerer import RERANK_KEYS, AnswerParams
from citebot.index.build.params import IndexParams
from citebot.index.errors import ConfigError
from citebot.index.ingest.crawl import CrawlLimits
from citebot.index.ingest.fetch import FetchOptions
from citebot.index.ranking.rerank import RerankWeights

ROOT = Path(__file__).resolve().parents[2]


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_committed_config_toml_is_the_generated_sample() -> None:
    """Regenerate with `citebot config --sample > config.toml` after changing the table."""
    assert (ROOT / "config.toml").read_text(encoding="utf-8") == sample_config()


def test_the_readme_settings_table_is_the_generated_one() -> None:
    """Regenerate with `citebot config --readme` between the markers after changing the table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_readme_table(readme) == readme
    rows = re.findall(r"^\| `([a-z_]+\.[a-z0-9_]+)` \| `(.*)` \| (.*) \|$", readme, re.MULTILINE)
    cell = lambda text: text.replace("|", "\\|")  # noqa: E731
    assert rows == [(row.name, cell(settings_table.toml_value(row.default)), cell(row.help)) for row in SETTINGS]


def test_the_sample_holds_every_setting_at_its_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = tomllib.loads(sample_config())
    for row in SETTINGS:
        assert parsed[row.section][row.key] == row.default, row.name
    assert {s: set(keys) for s, keys in parsed.items()} == {
        s: set(keys) for s, keys in settings_table.known_keys().items()
    }
    # Read through load_settings, the sample is the built-in defaults (bar the corpus and paths).
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    sample = load_settings(ROOT / "config.toml")
    builtin = load_settings(config(tmp_path, ""))
    for name in ("index", "answer", "discord", "log", "fetch", "crawl", "refresh_minutes"):
        assert getattr(sample, name) == getattr(builtin, name), name


def test_every_default_is_the_one_the_dataclasses_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One source: what an empty config.toml gives is what the dataclasses default to."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    built = load_settings(config(tmp_path, ""))
    assert built.answer == AnswerParams() and built.answer.weights == RerankWeights()
    assert built.index == IndexParams() and built.crawl == CrawlLimits()
    assert built.fetch == FetchOptions()
    assert built.discord == DiscordSettings() and built.log == LogSettings()
    assert built.refresh_minutes == Settings.refresh_minutes == default("corpus.refresh_minutes")
    # Every [answer] key is an AnswerParams field or one of its re-rank weights, and back.
    answer_keys = {row.key for row in SETTINGS if row.section == "answer"}
    assert answer_keys == {f.name for f in fields(AnswerParams) if f.name != "weights"} | set(RERANK_KEYS)
    assert set(RERANK_KEYS.values()) == {f.name for f in fields(RerankWeights)}
    # Every [discord] and [log] row is a field of its dataclass: adding a row and a field is all it takes.
    assert {row.key for row in SETTINGS if row.section == "discord"} == {f.name for f in fields(DiscordSettings)}
    assert {row.key for row in SETTINGS if row.section == "log"} - {"state_db"} == {f.name for f in fields(LogSettings)}


def test_answer_weights_reach_the_rerank(tmp_path: Path) -> None:
    """The flat answer.*_weight keys build AnswerParams.weights, a RerankWeights."""
    text = "[answer]\n" + "".join(f"{key} = {0.125 * (n + 1)}\n" for n, key in enumerate(RERANK_KEYS))
    answer = load_settings(config(tmp_path, text)).answer
    assert answer.weights == RerankWeights(**{attr: 0.125 * (n + 1) for n, attr in enumerate(RERANK_KEYS.values())})
    assert replace(answer, weights=RerankWeights()) == AnswerParams()


BAD = {
    '[log]\nlevel = "loud"\n': "log.level must be one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'",
    "[log]\nretention_days = -1\n": "log.retention_days must be 0 or more, got -1",
    "[discord]\ncooldown_questions = 0\n": "discord.cooldown_questions must be 1 or more, got 0",
    "[discord]\ncooldown_seconds = -1\n": "discord.cooldown_seconds must be 0 or more, got -1",
    "[discord]\nmax_question_chars = 4001\n": "discord.max_question_chars must be between 1 and 4000, got 4001",
    "[discord]\nreload_check_seconds = 0\n": "discord.reload_check_seconds must be more than 0, got 0",
    '[discord]\napi_base = "ftp://x"\n': "discord.api_base must be an http(s) URL",
    '[discord]\ndev_guild = "x"\n': "discord.dev_guild must be a guild id (a whole number), or 0 for none",
    "[discord]\nowner_ids = [0]\n": "discord.owner_ids must be a list of ids (whole numbers)",
    "[discord]\nanswer_dms = 1\n": "discord.answer_dms must be true or false, got 1",
    "[corpus]\nmax_file_mb = 0\n": "corpus.max_file_mb must be more than 0, got 0",
    "[corpus]\nrefresh_minutes = -1\n": "corpus.refresh_minutes must be 0 or more, got -1",
    "[corpus]\ncrawl_depth = 101\n": "corpus.crawl_depth must be between 0 and 100, got 101",
    '[corpus]\nsites = ["x"]\n': 'corpus.sites must be a list of http(s) URLs, e.g. ["https://docs.example.org/"]',
    "[index]\nk1 = true\n": "index.k1 must be a number, got True",
    "[index]\ncontext_weight = 11\n": "index.context_weight must be between 0 and 10, got 11",
    "[answer]\ntop_k = 2.5\n": "answer.top_k must be a whole number, got 2.5",
    "[answer]\nsentence_weight = -1\n": "answer.sentence_weight must not be negative",
    "[answer]\nsentence_b = 2\n": "answer.sentence_b must be between 0 and 1",
    "[answer]\nweights = 1\n": "unknown setting answer.weights in ",  # the dataclass field is no key
    "[log]\nshard = 1\n": "unknown setting log.shard in ",
    "[nope]\n": "unknown section [nope] in ",
    "discord = 3\n": "[discord] in ",
}


@pytest.mark.parametrize("text", list(BAD))
def test_errors_name_the_key_and_what_is_allowed(text: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config(tmp_path, text))
    assert str(caught.value).startswith(BAD[text]) and "\n" not in str(caught.value)


def test_a_new_row_is_read_checked_and_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a later setting (discord.shard_count) gets from its row alone."""
    row = Setting("discord.shard_count", "int", 1, "how many gateway shards the bot opens", minimum=1, maximum=16)
    monkeypatch.setattr(settings_table, "SETTINGS", settings_table.SETTINGS + (row,))
    assert "shard_count" in settings_table.known_keys()["discord"]
    assert "shard_count = 1" in settings_table.sample_config()
    assert "| `discord.shard_count` | `1` | how many gateway shards the bot opens |" in settings_table.readme_table()
    assert row.read({"shard_count": 4}) == 4
    with pytest.raises(ConfigError, match=r"^discord\.shard_count must be between 1 and 16, got 0$"):
        row.read({"shard_count": 0})


def test_collection_keys_come_from_the_table() -> None:
    from citebot.bot.collections_config import COLLECTION_KEYS

    assert COLLECTION_KEYS == {"name", "paths", "urls", "sites", "exclude", "weights", "guilds", "channels", "db"}
    assert [key for key, _, _ in COLLECTION_ROWS] == [
        line.split(" = ")[0][2:] for line in sample_config().split("# [[collections]]\n")[1].splitlines()
    ]


def test_citebot_config_prints_the_sample_and_the_readme_table(capsys: pytest.CaptureFixture[str]) -> None:
    from citebot.bot.cli.main import main

    assert main(["config"]) == 0 and capsys.readouterr().out == sample_config()
    assert main(["config", "--sample"]) == 0 and capsys.readouterr().out == sample_config()
    assert main(["config", "--readme"]) == 0 and capsys.readouterr().out == readme_table() + "\n"
    assert setting("answer.top_k").default == AnswerParams().top_k
