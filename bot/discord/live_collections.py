"""Every collection's live index, and which one a channel is served by.

Why: with `[[collections]]` the bot answers from several index files, each rebuilt and
hot-reloaded on its own (`citebot index --collection NAME`, `/reindex collection:`). Each gets
a LiveIndex of its own; this holds them by name and polls them all. The default collection's
LiveIndex is the one the runner (or a test) opened and still owns; the others are opened and
closed here. No discord import.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from citebot.index.errors import IndexMissingError

from ..collection_routing import (
    available_collections,
    collection_for_channel,
    collection_names,
    settings_for_collection,
)
from ..collections_config import DEFAULT_COLLECTION
from ..live_index import LiveIndex
from ..settings import Settings

log = logging.getLogger(__name__)


class LiveCollections:
    """Collection name -> LiveIndex; `for_channel` says which serves a channel."""

    def __init__(self, settings: Settings, lives: dict[str, LiveIndex], *, owned: Iterable[str] = ()) -> None:
        """`lives` must hold every configured collection; `owned` are those closed by `close()`."""
        missing = set(collection_names(settings)) - set(lives)
        if missing:
            raise ValueError(f"no live index for collection(s) {', '.join(sorted(missing))}")
        self.settings = settings
        self._lives = dict(lives)
        self._owned = set(owned)

    @classmethod
    def single(cls, settings: Settings, live: LiveIndex) -> LiveCollections:
        """Only the default collection (a config without [[collections]])."""
        return cls(settings, {DEFAULT_COLLECTION: live})

    @classmethod
    async def open(cls, settings: Settings, default: LiveIndex) -> LiveCollections:
        """Open every configured collection's index beside the default's (owned by the caller).
        A collection whose index is missing is built first when it lives at the default place;
        otherwise the error says how to build it."""
        from ..building import open_index

        lives: dict[str, LiveIndex] = {DEFAULT_COLLECTION: default}
        try:
            for collection in settings.collections:
                narrowed = settings_for_collection(settings, collection.name)
                try:
                    reader = await open_index(narrowed)
                except IndexMissingError as exc:
                    raise IndexMissingError(
                        f"collection {collection.name!r} has no index at {narrowed.db_path}; "
                        f"build it with 'citebot index --collection {collection.name}'"
                    ) from exc
                lives[collection.name] = LiveIndex(reader, settings.answer)
        except BaseException:
            for name, live in lives.items():
                if name != DEFAULT_COLLECTION:
                    await live.close()
            raise
        return cls(settings, lives, owned=[n for n in lives if n != DEFAULT_COLLECTION])

    @property
    def names(self) -> list[str]:
        return collection_names(self.settings)

    @property
    def several(self) -> bool:
        """Whether any collection besides the default is configured (replies then name theirs)."""
        return bool(self.settings.collections)

    def live(self, name: str) -> LiveIndex:
        """The named collection's live index (KeyError for an unknown name)."""
        return self._lives[name]

    def settings_for(self, name: str) -> Settings:
        """The settings with this collection as the corpus (for /reindex)."""
        return settings_for_collection(self.settings, name)

    def for_channel(self, guild_id: int | None, channel_ids: Iterable[int | None]) -> str:
        """The collection serving a channel (a thread: pass its id and its parent's)."""
        return collection_for_channel(self.settings, guild_id, channel_ids)

    def available(self, guild_id: int | None, channel_ids: Iterable[int | None]) -> list[str]:
        """The collections that may be chosen there, the channel's own first."""
        return available_collections(self.settings, guild_id, list(channel_ids))

    async def reload_if_changed(self) -> list[str]:
        """Swap in every index file replaced since the last look; the names swapped. One
        collection failing to reload does not keep the others from theirs."""
        swapped = []
        for name, live in self._lives.items():
            try:
                if await live.reload_if_changed():
                    swapped.append(name)
            except Exception:
                log.exception("checking collection %r for a new index failed; will try again", name)
        return swapped

    async def close(self) -> None:
        """Close the indexes opened here (not the default's, which its opener closes)."""
        for name in self._owned:
            await self._lives[name].close()
