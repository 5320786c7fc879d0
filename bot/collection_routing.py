"""Which collection serves a channel, and a Settings narrowed to one collection.

The CLI and the Discord side both resolve collections here (no discord import); parsing the
`[[collections]]` tables is `collections_config.py`, which this module reads the result of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from citebot.index.errors import ConfigError

from .collections_config import DEFAULT_COLLECTION, CollectionSettings
from .settings import Settings, corpus_sources


def collection_names(settings: Settings) -> list[str]:
    """Every collection's name, the default first."""
    return [DEFAULT_COLLECTION] + [c.name for c in settings.collections]


def find_collection(settings: Settings, name: str, key: str = "--collection") -> CollectionSettings | None:
    """The named collection (None for the default); ConfigError naming `key` for an unknown name."""
    if name == DEFAULT_COLLECTION:
        return None
    for collection in settings.collections:
        if collection.name == name:
            return collection
    raise ConfigError(f"{key}: no collection named {name!r} (configured: {', '.join(collection_names(settings))})")


def settings_for_collection(settings: Settings, name: str, key: str = "--collection") -> Settings:
    """`settings` as if the named collection were the only corpus: its paths, its index file,
    its exclude and weights. Everything that works on a Settings (indexing, opening, the web
    cache beside the index) then works on the collection unchanged."""
    collection = find_collection(settings, name, key)
    if collection is None:
        return settings
    narrowed = replace(
        settings,
        corpus_paths=collection.corpus_paths,
        db_path=collection.db_path,
        index=replace(settings.index, sources=collection.sources),
        default_db=collection.default_db,
    )
    return replace(narrowed, corpus_paths=tuple(corpus_sources(narrowed)))


def collection_for_channel(settings: Settings, guild_id: int | None, channel_ids: Iterable[int | None]) -> str:
    """The collection that serves a channel (its id, then its parent's for a thread), else its
    guild's, else the default."""
    ids = [c for c in channel_ids if c]
    for channel in ids:
        for collection in settings.collections:
            if channel in collection.channels:
                return collection.name
    if guild_id:
        for collection in settings.collections:
            if guild_id in collection.guilds:
                return collection.name
    return DEFAULT_COLLECTION


def available_collections(settings: Settings, guild_id: int | None, channel_ids: Iterable[int | None]) -> list[str]:
    """The collections that may be chosen here: the default, those open to all, those mapped
    to this guild or to this channel (or its parent); the channel's own first."""
    ids = {c for c in channel_ids if c}
    own = collection_for_channel(settings, guild_id, ids)
    names = [own]
    for name in collection_names(settings):
        if name in names:
            continue
        collection = find_collection(settings, name)
        if (
            collection is None
            or collection.open_to_all
            or (guild_id and guild_id in collection.guilds)
            or ids & set(collection.channels)
        ):
            names.append(name)
    return names
