"""Settings: config.toml parsed once into frozen dataclasses, validated with messages that name the key.

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
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from index.answering import AnswerParams
from index.bm25 import BM25Params
from index.build.params import IndexParams
from index.crawl import CrawlLimits, SiteSource
from index.errors import ConfigError
from index.fetch import FetchOptions, WebSource, is_url
from index.passages import PassageParams
from index.source_rules import SourceRules, parse_exclude, parse_weights

from .collections_config import CollectionSettings, parse_collections

TOKEN_ENV = "DISCORD_TOKEN"
CONFIG_ENV = "CITEBOT_CONFIG"


def bundled_corpus() -> Path:
    """The folder holding the bundled article, installed as package data (`citebot_corpus`)."""
    spec = importlib.util.find_spec("citebot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the bundled corpus is missing from this installation; reinstall citebot")
    return Path(list(spec.submodule_search_locations)[0])


def default_data_dir() -> Path:
    """Per-user data folder (e.g. ~/.local/share/citebot): never inside site-packages."""
    return Path(platformdirs.user_data_dir("citebot", appauthor=False))


@dataclass(frozen=True)
class DiscordSettings:
    """How the bot connects and where it answers."""

    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    answer_channels: tuple[int, ...] = ()
    answer_dms: bool = False
    dev_guild: int | None = None
    owner_ids: tuple[int, ...] = ()
    cooldown_seconds: float = 10.0
    cooldown_questions: int = 3
    max_question_chars: int = 500
    reload_check_seconds: float = 2.0
    reply_in_thread: bool = False  # answer in a new thread started on the question
    answer_forums: tuple[int, ...] = ()  # forum channels whose every new post is answered in its thread


@dataclass(frozen=True)
class LogSettings:
    """What the bot remembers about questions, and how the process logs."""

    questions: bool = True
    retention_days: int = 30
    level: str = "INFO"


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
    refresh_minutes: float = 0.0


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


_KNOWN = {
    "corpus": {"paths", "urls", "max_file_mb", "max_page_mb", "fetch_timeout_seconds", "max_redirects",
               "allow_private_addresses", "exclude", "weights", "sites", "crawl_max_pages", "crawl_depth",
               "refresh_minutes"},
    "index": {"db", "k1", "b", "max_words", "join_below", "context_weight"},
    "answer": {f.name for f in fields(AnswerParams)},
    "discord": {f.name for f in fields(DiscordSettings)},
    "log": {"questions", "retention_days", "level", "state_db"},
}


def _build(data: dict[str, Any], base: Path | None, source: Path | None) -> Settings:
    secret_keys = [k for k in data.get("discord", {}) if isinstance(data.get("discord"), dict)
                   and k.lower() in ("token", "discord_token", "bot_token")]
    if secret_keys:
        raise ConfigError(f"never put the token in {source} (discord.{secret_keys[0]}): "
                          f"set the {TOKEN_ENV} environment variable instead")
    for section, value in data.items():
        if section == "collections":
            continue  # a list of tables, checked by parse_collections
        if section not in _KNOWN:
            raise ConfigError(f"unknown section [{section}] in {source}")
        if not isinstance(value, dict):
            raise ConfigError(f"[{section}] in {source} must be a table")
        for key in value:
            if key not in _KNOWN[section]:
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
    raw_urls = corpus.get("urls", [])
    if not isinstance(raw_urls, list) or not all(isinstance(u, str) and is_url(u) for u in raw_urls):
        raise ConfigError("corpus.urls must be a list of http(s) URLs")
    urls: list[WebSource | SiteSource] = [WebSource(u.strip(), fetch) for u in raw_urls]
    crawl = _crawl_limits(corpus)
    raw_sites = corpus.get("sites", [])
    if not isinstance(raw_sites, list) or not all(isinstance(u, str) and is_url(u) for u in raw_sites):
        raise ConfigError("corpus.sites must be a list of http(s) URLs, e.g. [\"https://docs.example.org/\"]")
    urls += [SiteSource(u.strip(), fetch, crawl) for u in raw_sites]
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
        bm25 = _params(BM25Params, "index", k1=_num(index, "k1", 0.7, "index"), b=_num(index, "b", 0.9, "index"))
        passages = _params(PassageParams, "index", max_words=_int(index, "max_words", 200, "index"),
                           join_below=_int(index, "join_below", 25, "index"))
        max_file_mb = _num(corpus, "max_file_mb", 50, "corpus")
        if max_file_mb <= 0:
            raise ConfigError(f"corpus.max_file_mb must be more than 0, got {max_file_mb:g}")
        params = _params(IndexParams, "index", bm25=bm25, passages=passages,
                         context_weight=_int(index, "context_weight", 1, "index"),
                         max_file_bytes=int(max_file_mb * 1024 * 1024), sources=_source_rules(corpus))
        answer_params = _params(AnswerParams, "answer", **{
            f.name: _typed(answer, f.name, f.type, "answer") for f in fields(AnswerParams) if f.name in answer})
        discord_settings = _discord(discord_cfg)
        log_settings = LogSettings(
            questions=_bool(log, "questions", True, "log"),
            retention_days=_int(log, "retention_days", 30, "log"),
            level=str(log.get("level", "INFO")).upper(),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if log_settings.retention_days < 0:
        raise ConfigError("log.retention_days must be 0 or more")
    if log_settings.level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log.level must be one of DEBUG, INFO, WARNING, ERROR")
    refresh_minutes = _num(corpus, "refresh_minutes", 0, "corpus")
    if refresh_minutes < 0:
        raise ConfigError(f"corpus.refresh_minutes must be 0 (off) or more, got {refresh_minutes:g}")
    collections = parse_collections(data.get("collections", []), resolve=resolve, fetch=fetch, crawl=crawl,
                                    default_db=db_path, default_db_is_derived=not index.get("db"))
    settings = Settings(corpus_paths=corpus_paths, db_path=db_path, state_db_path=state_db, index=params,
                        answer=answer_params, discord=discord_settings, log=log_settings, fetch=fetch, crawl=crawl,
                        source=source, default_db=not index.get("db"), collections=collections,
                        refresh_minutes=refresh_minutes)
    return replace(settings, corpus_paths=tuple(corpus_sources(settings)))


def _source_rules(corpus: dict[str, Any]) -> SourceRules:
    """corpus.exclude (glob patterns) and corpus.weights ([[corpus.weights]] tables with a
    pattern and a weight); the messages name the key and the entry at fault."""
    try:
        return SourceRules(exclude=parse_exclude(corpus.get("exclude", [])),
                           weights=parse_weights(corpus.get("weights", [])))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _fetch_options(corpus: dict[str, Any]) -> FetchOptions:
    try:
        return FetchOptions(
            allow_private_addresses=_bool(corpus, "allow_private_addresses", False, "corpus"),
            max_bytes=int(_num(corpus, "max_page_mb", 5, "corpus") * 1024 * 1024),
            timeout=_num(corpus, "fetch_timeout_seconds", 20, "corpus"),
            max_redirects=_int(corpus, "max_redirects", 5, "corpus"),
        )
    except ValueError as exc:
        raise ConfigError(f"corpus: {exc} (see corpus.max_page_mb, fetch_timeout_seconds, max_redirects)") from exc


def _crawl_limits(corpus: dict[str, Any]) -> CrawlLimits:
    """corpus.crawl_max_pages and corpus.crawl_depth, for the sites in corpus.sites (and --crawl)."""
    try:
        return CrawlLimits(max_pages=_int(corpus, "crawl_max_pages", CrawlLimits.max_pages, "corpus"),
                           max_depth=_int(corpus, "crawl_depth", CrawlLimits.max_depth, "corpus"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def web_cache_dir(settings: Settings) -> Path:
    """Where the last good copy of each fetched page is kept: `web-cache/` beside the index file."""
    return settings.db_path.parent / "web-cache"


def corpus_sources(settings: Settings, given: Sequence[str | os.PathLike[str]] | None = None,
                   allow_private_addresses: bool = False, crawl: bool = False
                   ) -> list[Path | WebSource | SiteSource]:
    """The sources to index: `given` (paths and URLs, e.g. from the command line) or the
    configured ones, with URLs fetched by the configured options into the cache beside the
    index (`settings.db_path`, so `--db` moves it too). `crawl`: each given URL is a whole
    site (`citebot index URL --crawl`), crawled within corpus.crawl_max_pages and crawl_depth."""
    options = replace(settings.fetch, cache_dir=web_cache_dir(settings),
                      allow_private_addresses=settings.fetch.allow_private_addresses or allow_private_addresses)
    if given is None:
        return [replace(s, options=options) if isinstance(s, (WebSource, SiteSource)) else s
                for s in settings.corpus_paths]
    if crawl:
        return [SiteSource(str(g).strip(), options, settings.crawl) if isinstance(g, str) and is_url(g)
                else Path(g).expanduser() for g in given]
    return [WebSource(str(g).strip(), options) if isinstance(g, str) and is_url(g) else Path(g).expanduser()
            for g in given]


def _params(cls: type, section: str, **kwargs: Any) -> Any:
    """Build a parameter dataclass, turning its validation error into one that names the key."""
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if any(message.startswith(f"{section}.{key}") for key in kwargs):
            raise ConfigError(message) from exc
        # The key the message starts with is the one at fault ("join_below must be ... max_words").
        named = sorted(kwargs, key=lambda k: (message.find(k) if k in message else len(message)))
        if named and named[0] in message:
            raise ConfigError(f"{section}.{named[0]}: {message}") from exc
        raise ConfigError(f"[{section}]: {message}") from exc


def _discord(cfg: dict[str, Any]) -> DiscordSettings:
    defaults = DiscordSettings()
    ids = lambda key: tuple(_id_list(cfg, key))  # noqa: E731
    dev_guild = cfg.get("dev_guild", 0)
    if not isinstance(dev_guild, int) or isinstance(dev_guild, bool) or dev_guild < 0:
        raise ConfigError("discord.dev_guild must be a guild id (a whole number), or 0 for none")
    settings = DiscordSettings(
        api_base=str(cfg.get("api_base", defaults.api_base)).rstrip("/"),
        gateway_url=str(cfg.get("gateway_url", defaults.gateway_url)).rstrip("/"),
        answer_channels=ids("answer_channels"),
        answer_dms=_bool(cfg, "answer_dms", False, "discord"),
        dev_guild=dev_guild or None,
        owner_ids=ids("owner_ids"),
        cooldown_seconds=_num(cfg, "cooldown_seconds", defaults.cooldown_seconds, "discord"),
        cooldown_questions=_int(cfg, "cooldown_questions", defaults.cooldown_questions, "discord"),
        max_question_chars=_int(cfg, "max_question_chars", defaults.max_question_chars, "discord"),
        reload_check_seconds=_num(cfg, "reload_check_seconds", defaults.reload_check_seconds, "discord"),
        reply_in_thread=_bool(cfg, "reply_in_thread", False, "discord"),
        answer_forums=ids("answer_forums"),
    )
    if not settings.api_base.startswith(("http://", "https://")):
        raise ConfigError("discord.api_base must be an http(s) URL")
    if not settings.gateway_url.startswith(("ws://", "wss://")):
        raise ConfigError("discord.gateway_url must be a ws(s) URL")
    if settings.cooldown_seconds < 0 or settings.cooldown_questions < 1:
        raise ConfigError("discord.cooldown_seconds must be >= 0 and discord.cooldown_questions >= 1")
    if not 1 <= settings.max_question_chars <= 4000:
        raise ConfigError("discord.max_question_chars must be between 1 and 4000")
    if settings.reload_check_seconds <= 0:
        raise ConfigError("discord.reload_check_seconds must be more than 0")
    return settings


def _id_list(cfg: dict[str, Any], key: str) -> list[int]:
    value = cfg.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ConfigError(f"discord.{key} must be a list of ids (whole numbers)")
    return value


def _num(cfg: dict[str, Any], key: str, default: float, section: str) -> float:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{section}.{key} must be a number, got {value!r}")
    return float(value)


def _int(cfg: dict[str, Any], key: str, default: int, section: str) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{section}.{key} must be a whole number, got {value!r}")
    return value


def _bool(cfg: dict[str, Any], key: str, default: bool, section: str) -> bool:
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{section}.{key} must be true or false, got {value!r}")
    return value


def _typed(cfg: dict[str, Any], key: str, type_name: Any, section: str) -> Any:
    if str(type_name) in ("bool", "<class 'bool'>"):
        return _bool(cfg, key, False, section)
    if str(type_name) in ("int", "<class 'int'>"):
        return _int(cfg, key, 0, section)
    if str(type_name) in ("bool", "<class 'bool'>"):
        return _bool(cfg, key, False, section)
    return _num(cfg, key, 0.0, section)


def discord_token() -> str:
    """The bot token, from the environment only; a clear error naming the variable otherwise."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(f"set the {TOKEN_ENV} environment variable to your bot's token to run the bot")
    return token
