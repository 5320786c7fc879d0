"""Settings: config.toml parsed once into frozen dataclasses, validated with messages that name the key.

Each setting's name, type, default, help and allowed values are a row of bot/settings_table.py;
this module reads config.toml through those rows and builds the dataclasses the code uses.

Where settings come from, first found wins: `--config PATH`, the CITEBOT_CONFIG environment
variable, `./config.toml`, then built-in defaults that index the bundled article. Relative
paths in a config file are relative to that file's folder, so `citebot` works from any folder.
The Discord token is never a setting: it comes from DISCORD_TOKEN only (see `discord_token`).
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from citebot.index.answering.answerer import RERANK_KEYS, AnswerParams
from citebot.index.build.params import IndexParams
from citebot.index.errors import ConfigError
from citebot.index.ingest.crawl import CrawlLimits, SiteSource
from citebot.index.ingest.fetch import FetchOptions, WebSource, is_url
from citebot.index.ingest.passages import PassageParams
from citebot.index.ingest.source_rules import SourceRules, parse_exclude, parse_weights
from citebot.index.ranking.bm25 import BM25Params
from citebot.index.ranking.rerank import RerankWeights

from .collections_config import CollectionSettings, parse_collections
from .settings_table import MB, default, known_keys, read_section, setting
from .state.state_url import config_url, effective_url

TOKEN_ENV = "DISCORD_TOKEN"
CONFIG_ENV = "CITEBOT_CONFIG"


def bundled_corpus() -> Path:
    """The folder holding the bundled article, installed as package data (`citebot.corpus`)."""
    spec = importlib.util.find_spec("citebot.corpus")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the bundled corpus is missing from this installation; reinstall citebot")
    return Path(list(spec.submodule_search_locations)[0])


def default_data_dir() -> Path:
    """Per-user data folder (e.g. ~/.local/share/citebot): never inside site-packages."""
    return Path(platformdirs.user_data_dir("citebot", appauthor=False))


@dataclass(frozen=True)
class DiscordSettings:
    """How the bot connects and where it answers."""

    # The defaults are the [discord] rows of bot/settings_table.py.
    api_base: str = default("discord.api_base")
    gateway_url: str = default("discord.gateway_url")
    answer_channels: tuple[int, ...] = default("discord.answer_channels")
    answer_dms: bool = default("discord.answer_dms")
    dev_guild: int | None = default("discord.dev_guild") or None  # config.toml's 0: none
    owner_ids: tuple[int, ...] = default("discord.owner_ids")
    cooldown_seconds: float = default("discord.cooldown_seconds")
    cooldown_questions: int = default("discord.cooldown_questions")
    max_question_chars: int = default("discord.max_question_chars")
    reload_check_seconds: float = default("discord.reload_check_seconds")
    reply_in_thread: bool = default("discord.reply_in_thread")  # answer in a new thread started on the question
    answer_forums: tuple[int, ...] = default("discord.answer_forums")  # forums whose new posts are answered
    # 0: unsharded; N: this process runs `shard_ids` (all when empty) of N shards; "auto": Discord's count.
    shard_count: int | str = default("discord.shard_count")
    shard_ids: tuple[int, ...] = tuple(default("discord.shard_ids"))


@dataclass(frozen=True)
class LogSettings:
    """What the bot remembers about questions, and how the process logs."""

    # The defaults are the [log] rows of bot/settings_table.py.
    questions: bool = default("log.questions")
    retention_days: int = default("log.retention_days")
    level: str = default("log.level")
    # PostgreSQL URL of the shared state ("" = the SQLite file). Not in repr: when it comes
    # from CITEBOT_STATE_URL it may hold the password (bot/state/state_url.py).
    state_url: str = field(default=default("log.state_url"), repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything citebot reads from config.toml, resolved to absolute paths."""

    corpus_paths: tuple[Path | WebSource | SiteSource, ...]  # files, folders, URLs, sites (corpus.paths + urls + sites)
    db_path: Path
    state_db_path: Path
    index: IndexParams = IndexParams()
    answer: AnswerParams = AnswerParams()
    discord: DiscordSettings = DiscordSettings()
    log: LogSettings = LogSettings()
    fetch: FetchOptions = FetchOptions()  # cache_dir is filled in from db_path by corpus_sources()
    crawl: CrawlLimits = CrawlLimits()  # corpus.crawl_max_pages, corpus.crawl_depth (for sites)
    source: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # True when the index lives at the per-user default (no index.db, no --db): only there is
    # a missing index built on first use and its folder created.
    default_db: bool = False
    # [[collections]]: further corpora, each with its own index file and the channels it serves
    # (bot/collections_config.py); the corpus above is the collection named "default".
    collections: tuple[CollectionSettings, ...] = ()
    # corpus.refresh_minutes: how often the running bot checks its sources and reindexes what
    # changed (bot/refresh.py); 0: never (only /reindex and `citebot index`).
    refresh_minutes: float = default("corpus.refresh_minutes")


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read, or None for built-in defaults."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env = os.environ.get(CONFIG_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} names a config file that does not exist: {path}")
        return path
    local = Path.cwd() / "config.toml"
    return local if local.is_file() else None


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate settings (see the module docstring for where they come from)."""
    path = find_config(explicit)
    if path is None:
        return _build({}, base=None, source=None)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return _build(data, base=path.parent.resolve(), source=path.resolve())


def _build(data: dict[str, Any], base: Path | None, source: Path | None) -> Settings:
    discord_table = data.get("discord", {})
    secret_keys = [
        k
        for k in (discord_table if isinstance(discord_table, dict) else ())
        if k.lower() in ("token", "discord_token", "bot_token")
    ]
    if secret_keys:
        raise ConfigError(
            f"never put the token in {source} (discord.{secret_keys[0]}): "
            f"set the {TOKEN_ENV} environment variable instead"
        )
    known = known_keys()  # every section's keys: the rows of bot/settings_table.py
    for section, value in data.items():
        if section == "collections":
            continue  # a list of tables, checked by parse_collections
        if section not in known:
            raise ConfigError(f"unknown section [{section}] in {source}")
        if not isinstance(value, dict):
            raise ConfigError(f"[{section}] in {source} must be a table")
        for key in value:
            if key not in known[section]:
                raise ConfigError(f"unknown setting {section}.{key} in {source}")

    corpus = data.get("corpus", {})
    index = data.get("index", {})
    answer = data.get("answer", {})
    discord_cfg = data.get("discord", {})
    log = data.get("log", {})

    def resolve(raw: Any, key: str) -> Path:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{key} must be a non-empty path string")
        p = Path(raw).expanduser()
        return p if p.is_absolute() or base is None else (base / p)

    fetch = _fetch_options(corpus)
    urls: list[WebSource | SiteSource] = [WebSource(u, fetch) for u in setting("corpus.urls").read(corpus)]
    crawl = _crawl_limits(corpus)
    urls += [SiteSource(u, fetch, crawl) for u in setting("corpus.sites").read(corpus)]
    if "paths" in corpus:
        raw_paths = corpus["paths"]
        if not isinstance(raw_paths, list) or not (raw_paths or urls):
            raise ConfigError("corpus.paths must be a non-empty list of paths (or URLs)")
        corpus_paths: tuple[Path | WebSource | SiteSource, ...] = tuple(
            WebSource(p.strip(), fetch) if isinstance(p, str) and is_url(p) else resolve(p, "corpus.paths[]")
            for p in raw_paths
        ) + tuple(urls)
    else:
        corpus_paths = tuple(urls) if urls else (bundled_corpus(),)

    data_dir = default_data_dir()
    db_path = resolve(index["db"], "index.db") if index.get("db") else data_dir / "index.sqlite3"
    state_db = resolve(log["state_db"], "log.state_db") if log.get("state_db") else data_dir / "state.sqlite3"

    try:
        ix = read_section("index", index)
        bm25 = _params(BM25Params, "index", k1=ix["k1"], b=ix["b"])
        passages = _params(PassageParams, "index", max_words=ix["max_words"], join_below=ix["join_below"])
        max_file_mb = setting("corpus.max_file_mb").read(corpus)
        params = _params(
            IndexParams,
            "index",
            bm25=bm25,
            passages=passages,
            context_weight=ix["context_weight"],
            max_file_bytes=int(max_file_mb * MB),
            sources=_source_rules(corpus),
        )
        answer_params = _answer(answer)
        discord_settings = _discord(discord_cfg)
        log_settings = _log(log)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    refresh_minutes = setting("corpus.refresh_minutes").read(corpus)
    collections = parse_collections(
        data.get("collections", []),
        resolve=resolve,
        fetch=fetch,
        crawl=crawl,
        default_db=db_path,
        default_db_is_derived=not index.get("db"),
    )
    settings = Settings(
        corpus_paths=corpus_paths,
        db_path=db_path,
        state_db_path=state_db,
        index=params,
        answer=answer_params,
        discord=discord_settings,
        log=log_settings,
        fetch=fetch,
        crawl=crawl,
        source=source,
        default_db=not index.get("db"),
        collections=collections,
        refresh_minutes=refresh_minutes,
    )
    return replace(settings, corpus_paths=tuple(corpus_sources(settings)))


def _source_rules(corpus: dict[str, Any]) -> SourceRules:
    """corpus.exclude (glob patterns) and corpus.weights ([[corpus.weights]] tables with a
    pattern and a weight); the messages name the key and the entry at fault."""
    try:
        return SourceRules(
            exclude=parse_exclude(corpus.get("exclude", [])), weights=parse_weights(corpus.get("weights", []))
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _answer(answer: dict[str, Any]) -> AnswerParams:
    """[answer]: the keys given, over AnswerParams' defaults; the re-rank weights (RERANK_KEYS)
    go into one RerankWeights."""
    given = read_section("answer", answer, answer)
    weights = RerankWeights(**{attr: given.pop(key) for key, attr in RERANK_KEYS.items() if key in given})
    return _params(AnswerParams, "answer", weights=weights, **given)


def _log(log: dict[str, Any]) -> LogSettings:
    """[log]: every row but the state_db path (resolved with the other paths). log.state_url may
    not hold a password; CITEBOT_STATE_URL, which may, overrides it."""
    values = {key: value for key, value in read_section("log", log).items() if key != "state_db"}
    values["state_url"] = effective_url(config_url(values["state_url"]))
    return LogSettings(**values)


def _fetch_options(corpus: dict[str, Any]) -> FetchOptions:
    c = read_section(
        "corpus", corpus, ("allow_private_addresses", "max_page_mb", "fetch_timeout_seconds", "max_redirects")
    )
    try:
        return FetchOptions(
            allow_private_addresses=c["allow_private_addresses"],
            max_bytes=int(c["max_page_mb"] * MB),
            timeout=c["fetch_timeout_seconds"],
            max_redirects=c["max_redirects"],
        )
    except ValueError as exc:
        raise ConfigError(f"corpus: {exc} (see corpus.max_page_mb, fetch_timeout_seconds, max_redirects)") from exc


def _crawl_limits(corpus: dict[str, Any]) -> CrawlLimits:
    """corpus.crawl_max_pages and corpus.crawl_depth, for the sites in corpus.sites (and --crawl)."""
    try:
        return CrawlLimits(
            max_pages=setting("corpus.crawl_max_pages").read(corpus),
            max_depth=setting("corpus.crawl_depth").read(corpus),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def web_cache_dir(settings: Settings) -> Path:
    """Where the last good copy of each fetched page is kept: `web-cache/` beside the index file."""
    return settings.db_path.parent / "web-cache"


def corpus_sources(
    settings: Settings,
    given: Sequence[str | os.PathLike[str]] | None = None,
    allow_private_addresses: bool = False,
    crawl: bool = False,
) -> list[Path | WebSource | SiteSource]:
    """The sources to index: `given` (paths and URLs, e.g. from the command line) or the
    configured ones, with URLs fetched by the configured options into the cache beside the
    index (`settings.db_path`, so `--db` moves it too). `crawl`: each given URL is a whole
    site (`citebot index URL --crawl`), crawled within corpus.crawl_max_pages and crawl_depth."""
    options = replace(
        settings.fetch,
        cache_dir=web_cache_dir(settings),
        allow_private_addresses=settings.fetch.allow_private_addresses or allow_private_addresses,
    )
    if given is None:
        return [
            replace(s, options=options) if isinstance(s, (WebSource, SiteSource)) else s for s in settings.corpus_paths
        ]
    if crawl:
        return [
            SiteSource(str(g).strip(), options, settings.crawl)
            if isinstance(g, str) and is_url(g)
            else Path(g).expanduser()
            for g in given
        ]
    return [
        WebSource(str(g).strip(), options) if isinstance(g, str) and is_url(g) else Path(g).expanduser() for g in given
    ]


def _params(cls: type, section: str, **kwargs: Any) -> Any:
    """Build a parameter dataclass, turning its validation error into one that names the key."""
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if message.startswith(f"{section}."):  # it names its key already
            raise ConfigError(message) from exc
        # The key the message starts with is the one at fault ("join_below must be ... max_words").
        named = sorted(kwargs, key=lambda k: message.find(k) if k in message else len(message))
        if named and named[0] in message:
            raise ConfigError(f"{section}.{named[0]}: {message}") from exc
        raise ConfigError(f"[{section}]: {message}") from exc


def _discord(cfg: dict[str, Any]) -> DiscordSettings:
    """[discord]: every row checked by the table (types, bounds, URL schemes)."""
    values = read_section("discord", cfg)
    values["dev_guild"] = values["dev_guild"] or None  # 0: sync to no guild
    check_shards(values["shard_count"], values["shard_ids"])
    return DiscordSettings(**values)


def check_shards(count: int | str, ids: tuple[int, ...], *, names: tuple[str, str] | None = None) -> None:
    """discord.shard_ids must fit discord.shard_count: ids need a number of shards to pick from
    (discord.py refuses ids with "auto" or none), and each must be below it. `names` are what the
    error calls the two (the CLI's flags); by default the config keys."""
    count_name, ids_name = names or ("discord.shard_count", "discord.shard_ids")
    if not ids:
        return
    if not isinstance(count, int) or count == 0:
        raise ConfigError(f"{ids_name} needs {count_name} to be a number of shards, got {count!r}")
    too_big = [i for i in ids if i >= count]
    if too_big:
        raise ConfigError(f"{ids_name} must each be below {count_name} ({count}), got {too_big[0]}")


def discord_token() -> str:
    """The bot token, from the environment only; a clear error naming the variable otherwise."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(f"set the {TOKEN_ENV} environment variable to your bot's token to run the bot")
    return token
