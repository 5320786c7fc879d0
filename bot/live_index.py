"""The index the bot answers from right now, swapped for a new one without a restart.

Why: `citebot index` (or `/reindex`) atomically replaces the index file while the bot runs.
The bot notices (`IndexReader.changed_on_disk`), opens the new file, and from then on every new
question uses it. Questions already being answered keep the reader they started with; the old
reader is closed only when the last of them finishes, so no question is lost or half-answered.
No discord import: `citebot chat` uses it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from citebot.index.answering.answerer import Answerer, AnswerParams
from citebot.index.errors import CitebotError
from citebot.index.indexfile import IndexReader

log = logging.getLogger(__name__)


@dataclass
class _Slot:
    """One open reader, its answerer, and how many questions are using it."""

    reader: IndexReader
    answerer: Answerer
    users: int = 0
    owned: bool = True
    idle: asyncio.Event = field(default_factory=asyncio.Event)


class LiveIndex:
    """Holds the current reader; `use()` borrows it, `reload_if_changed()` swaps it."""

    def __init__(self, reader: IndexReader, params: AnswerParams, *, owns_reader: bool = True) -> None:
        """`owns_reader`: whether this LiveIndex closes `reader` when done with it (readers it
        opens itself after a reindex are always its own)."""
        self.params = params
        self._slot = _Slot(reader, Answerer(reader, params), owned=owns_reader)
        self._slot.idle.set()
        self._swap_lock = asyncio.Lock()
        self._refused: tuple[int, int, int] | None = None  # the damaged file last refused, by identity
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def reader(self) -> IndexReader:
        """The current reader (for figures such as `/stats`; borrow with `use()` to query)."""
        return self._slot.reader

    @property
    def path(self) -> Path:
        return self._slot.reader.path

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[Answerer]:
        """Borrow the current answerer (and its `.reader`) for the length of one question."""
        slot = self._slot
        slot.users += 1
        slot.idle.clear()
        try:
            yield slot.answerer
        finally:
            slot.users -= 1
            if slot.users == 0:
                slot.idle.set()

    async def reload_if_changed(self) -> bool:
        """Open the new index if the file was replaced; True when a new one was swapped in."""
        if not self._slot.reader.changed_on_disk() or _identity(self.path) == self._refused:
            return False  # unchanged, or the same damaged file we already refused (warned once)
        return await self.reload()

    async def reload(self) -> bool:
        """Open the index file again and swap it in; keeps the old one if the new one fails."""
        async with self._swap_lock:
            old = self._slot
            if not old.reader.changed_on_disk():
                return False
            refused = _identity(old.reader.path)
            try:
                reader = await IndexReader.open(old.reader.path)
            except CitebotError as exc:
                self._refused = refused
                log.warning("index file changed but cannot be opened, still answering from the old one: %s", exc)
                return False
            self._refused = None
            # In a thread: with answer.semantic on, the Answerer reads the index's passage vectors
            # (up to 30 MB at answer.semantic_max_passages), which must not stall the event loop.
            try:
                answerer = await asyncio.to_thread(Answerer, reader, self.params)
            except BaseException:
                await reader.close()
                raise
            self._slot = _Slot(reader, answerer)
            self._slot.idle.set()
            log.info(
                "reloaded index: generation %d, %d documents, %d passages",
                reader.info.generation,
                reader.info.documents,
                reader.info.passages,
            )
            task = asyncio.create_task(self._retire(old), name="citebot-retire-reader")
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            return True

    @staticmethod
    async def _retire(slot: _Slot) -> None:
        await slot.idle.wait()
        if slot.owned:
            await slot.reader.close()

    async def close(self) -> None:
        """Close the current reader and any old one still draining."""
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
        if self._slot.owned:
            await self._slot.reader.close()


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What tells one file at `path` from the next (the test IndexReader.changed_on_disk uses)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns)
