"""`[[collections]]` in config.toml: parsing, validation that names the key, which collection a
channel gets, and the CLI (`citebot index` of every collection, `--collection NAME`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.bot.collection_routing import (
    available_collections,
    collection_for_channel,
    settings_for_collection,
)
from citebot.bot.settings import load_settings
from citebot.index.errors import ConfigError
from citebot.index.ingest.crawl import SiteSource

ROOT = Path(__file__).resolve().parents[2]

GARDEN = (
    "---\ntitle: Balcony Tomatoes\n---\n\nBalcony Tomatoes\n\nCherry tomatoes grow well in pots on a sunny "
    "balcony. Water balcony tomatoes every morning in July.\n"
)


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_has_only_the_default_collection(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing config.toml keeps working unchanged: the repository's own, indexed and asked."""
    from citebot.bot.cli.main import main

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the per-user data folder
    settings = load_settings(ROOT / "config.toml")
    assert settings.collections == ()
    assert settings_for_collection(settings, "default") is settings
    assert collection_for_channel(settings, 1, [2]) == "default" and available_collections(settings, 1, [2]) == [
        "default"
    ]
    assert main(["index", "--config", str(ROOT / "config.toml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Indexed 1 documents") and "Collection" not in out
    assert out.rstrip().endswith(str(tmp_path / "data" / "citebot" / "index.sqlite3"))
    assert main(["ask", "--config", str(ROOT / "config.toml"), "When will the ISS be deorbited?"]) == 0
    assert capsys.readouterr().out.startswith("Answer: ")


def test_collections_resolve_paths_index_files_and_channels(tmp_path: Path) -> None:
    settings = load_settings(
        config(
            tmp_path,
            """
[corpus]
paths = ["space"]
[index]
db = "data/index.sqlite3"

[[collections]]
name = "garden"
paths = ["garden", "https://example.org/tomatoes"]
channels = [11, 12]
exclude = ["drafts/**"]

[[collections]]
name = "handbook"
urls = ["https://example.org/handbook"]
guilds = [7]
db = "elsewhere/handbook.sqlite3"

[[collections]]
name = "docs"
sites = ["https://docs.example.org/"]
guilds = [9]
""",
        )
    )
    garden, handbook, docs = settings.collections
    assert isinstance(docs.corpus_paths[0], SiteSource) and docs.corpus_paths[0].url == "https://docs.example.org/"
    assert docs.corpus_paths[0].limits == settings.crawl  # corpus.crawl_max_pages and crawl_depth
    assert (
        garden.corpus_paths[0] == tmp_path / "garden" and str(garden.corpus_paths[1]) == "https://example.org/tomatoes"
    )
    assert garden.db_path == tmp_path / "data" / "index-garden.sqlite3"
    assert handbook.db_path == tmp_path / "elsewhere" / "handbook.sqlite3"
    assert collection_for_channel(settings, 7, [11]) == "garden"  # the channel's mapping wins over the guild's
    assert collection_for_channel(settings, 7, [99]) == "handbook"
    assert collection_for_channel(settings, 7, [99, 12]) == "garden"  # a thread of #12
    assert collection_for_channel(settings, 8, [99]) == "default"
    assert available_collections(settings, 8, [11]) == ["garden", "default"]
    assert available_collections(settings, 7, [99]) == ["handbook", "default"]
    narrowed = settings_for_collection(settings, "garden")
    assert narrowed.db_path == garden.db_path and narrowed.corpus_paths[0] == tmp_path / "garden"
    assert narrowed.index.sources.exclude == ("drafts/**",) and settings.index.sources.exclude == ()
    web = narrowed.corpus_paths[1]
    assert web.options.cache_dir == tmp_path / "data" / "web-cache"  # beside the collection's index
    assert narrowed.state_db_path == settings.state_db_path


BAD = {
    "duplicate name": (
        '[[collections]]\nname = "a"\npaths = ["x"]\n[[collections]]\nname = "a"\npaths = ["y"]\n',
        "collections[1].name: duplicate collection name 'a' (also collections[0].name)",
    ),
    "channel mapped twice": (
        '[[collections]]\nname = "a"\npaths = ["x"]\nchannels = [5]\n'
        '[[collections]]\nname = "b"\npaths = ["y"]\nchannels = [6, 5]\n',
        "collections[1].channels: channel 5 is already mapped to collection 'a' "
        "(collections[0].channels); a channel serves one collection",
    ),
    "guild mapped twice": (
        '[[collections]]\nname = "a"\npaths = ["x"]\nguilds = [5]\n'
        '[[collections]]\nname = "b"\npaths = ["y"]\nguilds = [5]\n',
        "collections[1].guilds: guild 5 is already mapped to collection 'a'",
    ),
    "channel twice in one": (
        '[[collections]]\nname = "a"\npaths = ["x"]\nchannels = [5, 5]\n',
        "collections[0].channels: channel 5 is listed twice",
    ),
    "bad name": ('[[collections]]\nname = "My Docs"\npaths = ["x"]\n', "collections[0].name must be 1-32 lower-case"),
    "reserved name": (
        '[[collections]]\nname = "default"\npaths = ["x"]\n',
        "collections[0].name: 'default' is the collection of [corpus]",
    ),
    "no corpus": ('[[collections]]\nname = "a"\n', "collections[0].paths must be a non-empty list"),
    "unknown key": (
        '[[collections]]\nname = "a"\npaths = ["x"]\nchanels = [1]\n',
        "unknown setting collections[0].chanels",
    ),
    "ids": (
        '[[collections]]\nname = "a"\npaths = ["x"]\nchannels = ["general"]\n',
        "collections[0].channels must be a list of ids",
    ),
    "shared index file": (
        '[index]\ndb = "i.sqlite3"\n[[collections]]\nname = "a"\npaths = ["x"]\ndb = "i.sqlite3"\n',
        "collections[0].db: ",
    ),
    "bad sites": (
        '[[collections]]\nname = "a"\nsites = ["docs.example.org"]\n',
        "collections[0].sites must be a list of http(s) URLs",
    ),
    "not tables": ('collections = ["a"]\n', "collections must be a list of [[collections]] tables"),
    "bad weights": (
        '[[collections]]\nname = "a"\npaths = ["x"]\nweights = [{ pattern = "*", weight = 0 }]\n',
        "collections[0].weights entry 1: ",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_collections_are_one_line_errors_naming_the_key(case: str, tmp_path: Path) -> None:
    text, message = BAD[case]
    with pytest.raises(ConfigError) as caught:
        load_settings(config(tmp_path, text))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_citebot_index_builds_every_collection_and_ask_chooses_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from citebot.bot.cli.main import main

    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "iss.txt").write_bytes((ROOT / "corpus" / "nasa-roscosmos-2025.txt").read_bytes())
    (tmp_path / "garden").mkdir()
    (tmp_path / "garden" / "tomatoes.md").write_text(GARDEN, encoding="utf-8")
    (tmp_path / "data").mkdir()
    cfg = str(
        config(
            tmp_path,
            '[corpus]\npaths = ["space"]\n[index]\ndb = "data/index.sqlite3"\n'
            '[[collections]]\nname = "garden"\npaths = ["garden"]\nchannels = [1]\n',
        )
    )
    assert main(["index", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Collection default:\nIndexed 1 documents into 16 passages")
    assert "Collection garden:\nIndexed 1 documents into 1 passages" in out and "index-garden.sqlite3" in out

    question = "How often should I water balcony tomatoes?"
    assert main(["ask", "--config", cfg, "--collection", "garden", question]) == 0
    assert capsys.readouterr().out.startswith("Answer: Water balcony tomatoes every morning in July.")
    assert main(["ask", "--config", cfg, question]) == 0
    assert capsys.readouterr().out.startswith("My sources do not answer that.")

    # One collection alone: the other index files are left as they were.
    assert main(["index", "--config", cfg, "--collection", "garden"]) == 0
    assert "(generation 2) -> " in capsys.readouterr().out
    from citebot.index.indexfile import read_info

    assert read_info(tmp_path / "data" / "index.sqlite3").generation == 1
    assert main(["ask", "--config", cfg, "--collection", "nope", question]) == 2
    err = capsys.readouterr().err
    assert err == "citebot: error: --collection: no collection named 'nope' (configured: default, garden)\n"
