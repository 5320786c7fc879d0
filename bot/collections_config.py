"""`[[collections]]`: several corpora, each with its own index file, and the channels each serves.

Why: one bot often serves several communities (a game's wiki in one channel, the handbook in
another). Each collection is a corpus of its own (`paths`, `urls`, `sites`, optionally `exclude` and
`weights`), indexed into a file of its own, `index-NAME.sqlite3` beside the default index (the
per-user data folder unless index.db says otherwise), built and hot-reloaded on its own.

The `[corpus]` section stays what it was: the collection named "default", answering wherever
no collection is mapped, from index.db. A config without `[[collections]]` works unchanged.

Which collection a question is about: the one that lists its channel (a thread counts as its
parent channel), else the one that lists its guild, else the default. A collection can be
chosen explicitly (`/ask collection:`, `citebot ask --collection`) where it serves: in its
guilds and channels, anywhere when it lists neither; the default serves everywhere.

Parsing only; which collection serves a channel is `collection_routing.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citebot.index.errors import ConfigError
from citebot.index.ingest.crawl import CrawlLimits, SiteSource
from citebot.index.ingest.fetch import FetchOptions, WebSource, is_url
from citebot.index.ingest.source_rules import SourceRules, parse_exclude, parse_weights

from .settings_table import COLLECTION_ROWS

DEFAULT_COLLECTION = "default"
# Lower-case letters, digits, "-" and "_": safe in a file name and as a Discord choice value.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# The keys a [[collections]] table takes: the rows of bot/settings_table.py (which also shows them
# in the sample config.toml and the README).
COLLECTION_KEYS = frozenset(key for key, _, _ in COLLECTION_ROWS)


@dataclass(frozen=True)
class CollectionSettings:
    """One `[[collections]]` table, resolved: its corpus, its index file, where it answers."""

    name: str
    corpus_paths: tuple[Path | WebSource | SiteSource, ...]
    db_path: Path
    guilds: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    # corpus.exclude / corpus.weights of this collection (none unless it sets them).
    sources: SourceRules = SourceRules()
    # True when the index file is at the derived default (no `db` key, no index.db): only then
    # is a missing index built on first use, as for the default collection.
    default_db: bool = False

    @property
    def open_to_all(self) -> bool:
        """A collection mapped to no guild and no channel can be chosen anywhere."""
        return not self.guilds and not self.channels


def collection_index_path(default_db: Path, name: str) -> Path:
    """Where a collection's index lives when its table has no `db`: beside the default index."""
    return default_db.parent / f"index-{name}.sqlite3"


def parse_collections(
    raw: Any,
    *,
    resolve: Callable[[Any, str], Path],
    fetch: FetchOptions,
    default_db: Path,
    default_db_is_derived: bool,
    crawl: CrawlLimits = CrawlLimits(),
) -> tuple[CollectionSettings, ...]:
    """The `[[collections]]` tables, validated; every message names the key at fault.

    `resolve(raw, key)` turns a configured path into an absolute one (relative to the config
    file's folder); `default_db` is the default collection's index file; `crawl` bounds the
    crawl of each collection's `sites` (corpus.crawl_max_pages, corpus.crawl_depth)."""
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ConfigError("collections must be a list of [[collections]] tables (name, paths, channels, ...)")
    out: list[CollectionSettings] = []
    seen_names: dict[str, int] = {}
    mapped_channels: dict[int, tuple[str, int]] = {}
    mapped_guilds: dict[int, tuple[str, int]] = {}
    index_files: dict[Path, str] = {default_db: DEFAULT_COLLECTION}
    for n, table in enumerate(raw):
        key = f"collections[{n}]"
        unknown = sorted(set(table) - COLLECTION_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown setting {key}.{unknown[0]} (a collection takes: {', '.join(sorted(COLLECTION_KEYS))})"
            )
        name = table.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ConfigError(
                f"{key}.name must be 1-32 lower-case letters, digits, '-' or '_' "
                f"(starting with a letter or digit), got {name!r}"
            )
        if name == DEFAULT_COLLECTION:
            raise ConfigError(f"{key}.name: {DEFAULT_COLLECTION!r} is the collection of [corpus]; choose another name")
        if name in seen_names:
            raise ConfigError(
                f"{key}.name: duplicate collection name {name!r} (also collections[{seen_names[name]}].name)"
            )
        seen_names[name] = n
        corpus_paths = _corpus(table, key, resolve, fetch, crawl)
        try:
            sources = SourceRules(
                exclude=parse_exclude(table.get("exclude", []), f"{key}.exclude"),
                weights=parse_weights(table.get("weights", []), f"{key}.weights"),
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        guilds = _ids(table, "guilds", key)
        channels = _ids(table, "channels", key)
        _claim(channels, mapped_channels, name, n, key, "channels", "channel")
        _claim(guilds, mapped_guilds, name, n, key, "guilds", "guild")
        if table.get("db"):
            db_path = resolve(table["db"], f"{key}.db")
        else:
            db_path = collection_index_path(default_db, name)
        owner = index_files.get(db_path)
        if owner is not None:
            raise ConfigError(
                f"{key}.db: {db_path} is already the index file of collection {owner!r}; each collection needs its own"
            )
        index_files[db_path] = name
        out.append(
            CollectionSettings(
                name=name,
                corpus_paths=corpus_paths,
                db_path=db_path,
                guilds=guilds,
                channels=channels,
                sources=sources,
                default_db=default_db_is_derived and not table.get("db"),
            )
        )
    return tuple(out)


def _corpus(
    table: dict[str, Any], key: str, resolve: Callable[[Any, str], Path], fetch: FetchOptions, crawl: CrawlLimits
) -> tuple[Path | WebSource | SiteSource, ...]:
    raw_paths = table.get("paths", [])
    raw_urls = table.get("urls", [])
    raw_sites = table.get("sites", [])
    for name, raw in (("urls", raw_urls), ("sites", raw_sites)):
        if not isinstance(raw, list) or not all(isinstance(u, str) and is_url(u) for u in raw):
            raise ConfigError(f"{key}.{name} must be a list of http(s) URLs")
    if not isinstance(raw_paths, list):
        raise ConfigError(f"{key}.paths must be a list of paths (or URLs)")
    if not raw_paths and not raw_urls and not raw_sites:
        raise ConfigError(
            f"{key}.paths must be a non-empty list of paths (or {key}.urls of URLs, {key}.sites of sites)"
        )
    paths = tuple(
        WebSource(p.strip(), fetch) if isinstance(p, str) and is_url(p) else resolve(p, f"{key}.paths[]")
        for p in raw_paths
    )
    return (
        paths
        + tuple(WebSource(u.strip(), fetch) for u in raw_urls)
        + tuple(SiteSource(u.strip(), fetch, crawl) for u in raw_sites)
    )


def _ids(table: dict[str, Any], field: str, key: str) -> tuple[int, ...]:
    value = table.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ConfigError(f"{key}.{field} must be a list of ids (whole numbers)")
    return tuple(value)


def _claim(
    ids: Iterable[int], mapped: dict[int, tuple[str, int]], name: str, n: int, key: str, field: str, what: str
) -> None:
    """Refuse an id already mapped to a collection (or listed twice in this one)."""
    mine: set[int] = set()
    for i in ids:
        if i in mine:
            raise ConfigError(f"{key}.{field}: {what} {i} is listed twice")
        if i in mapped:
            other, m = mapped[i]
            raise ConfigError(
                f"{key}.{field}: {what} {i} is already mapped to collection {other!r} "
                f"(collections[{m}].{field}); a {what} serves one collection"
            )
        mine.add(i)
    for i in mine:
        mapped[i] = (name, n)
