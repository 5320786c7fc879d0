"""The running bot keeps its index fresh: every `corpus.refresh_minutes` it checks its sources
and reindexes what changed (`index.refresh`), off the event loop, and swaps the new index in
as `/reindex` does.

A refresh never runs beside another one or beside `/reindex` (they share the collection's lock,
`bot.reindex_lock_for(name)`; a cycle that finds it taken is skipped), nor beside `citebot index` (the index
file's build lock: skipped too, one log line). A refresh that fails keeps the old index
answering and logs one line; what it could not take in is retried by the next one. No discord
import: the loop needs only the live index.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from citebot.index.build.refresh import RefreshResult, refresh_sync
from citebot.index.build.sources import CorpusSource
from citebot.index.build.vectors import vector_step
from citebot.index.errors import CitebotError, IndexLockedError

from ..live_index import LiveIndex
from ..settings import Settings

log = logging.getLogger(__name__)


def refresh_sources(settings: Settings) -> list[CorpusSource]:
    """What a refresh checks and rebuilds from: the configured corpus, as `/reindex` uses it.
    The one place where other kinds of source (e.g. crawled sites) join the refresh."""
    return list(settings.corpus_paths)


@dataclass(frozen=True)
class RefreshStatus:
    """How the last refresh went, for `/stats`: when it finished and what it did in words."""

    finished_at: float
    outcome: str  # "no change", "reindexed 2 changed sources", "failed (…)", "skipped: …"; never a path
    ok: bool = True


class RefreshLoop:
    """Runs a refresh every `every_seconds` (`run_forever`), or when asked (`run_once`)."""

    def __init__(
        self,
        settings: Settings,
        live: LiveIndex,
        lock: asyncio.Lock,
        every_seconds: float,
        *,
        sources: Callable[[Settings], Sequence[CorpusSource]] = refresh_sources,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.live = live
        self.every_seconds = every_seconds
        self.last: RefreshStatus | None = None
        self._lock = lock
        self._sources = sources
        self._sleep = sleep
        self._started = 0  # cycles begun
        self._finished = 0  # the number of the last cycle that finished
        self._changed = asyncio.Condition()

    async def run_forever(self) -> None:
        while True:
            await self._sleep(self.every_seconds)
            await self.run_once()

    async def run_once(self) -> RefreshResult | None:
        """One cycle; the result, or None when it was skipped or failed (then logged)."""
        self._started += 1
        number = self._started
        try:
            return await self._cycle()
        finally:
            async with self._changed:
                self._finished = max(self._finished, number)
                self._changed.notify_all()

    async def next_cycle(self) -> None:
        """Wait until a cycle that begins after this call has finished (tests; an operator's
        "refresh now" would call run_once instead)."""
        target = self._started + 1
        async with self._changed:
            await self._changed.wait_for(lambda: self._finished >= target)

    async def _cycle(self) -> RefreshResult | None:
        if self._lock.locked():
            self._status("skipped: a reindex was running", ok=True)
            log.info("refresh skipped: a /reindex or refresh is running")
            return None
        settings = self.settings
        generation = self.live.reader.info.generation
        async with self._lock:
            finish = vector_step(settings.answer.semantic, settings.answer.semantic_max_passages)
            try:
                result = await asyncio.to_thread(
                    refresh_sync, list(self._sources(settings)), settings.db_path, settings.index, finish
                )
            except IndexLockedError:
                self._status("skipped: another build of the index was running", ok=True)
                log.info("refresh skipped: another build (perhaps 'citebot index') holds the index")
                return None
            except CitebotError as exc:
                self._status("failed (the reason is in the bot's log)", ok=False)
                log.warning("refresh failed, still answering from generation %d: %s", generation, exc)
                return None
            except Exception as exc:
                self._status("failed (the reason is in the bot's log)", ok=False)
                log.error(
                    "refresh failed (%s: %s), still answering from generation %d; will try again",
                    type(exc).__name__,
                    exc,
                    generation,
                )
                log.debug("the refresh's traceback", exc_info=True)
                return None
            for source, reason in result.check.failed.items():
                log.warning("refresh could not check %s (its indexed copy stays): %s", source, reason)
            if result.rebuilt is None:
                self._status("no change" + _failures(result), ok=not result.check.failed)
                log.debug("refresh: no change (checked in %.3f s)", result.check.seconds)
                return result
            await self.live.reload()
            changed = len(result.check.changed) + len(result.retried)
            info = result.rebuilt.info
            self._status(f"reindexed {changed} changed source{'s' * (changed != 1)}" + _failures(result))
            log.info(
                "refresh: %d changed, reindexed in %.2f s (%s); now generation %d, %d documents, %d passages",
                changed,
                result.rebuilt.seconds,
                "incremental" if result.rebuilt.incremental else "full",
                info.generation,
                info.documents,
                info.passages,
            )
            return result

    def _status(self, outcome: str, ok: bool = True) -> None:
        self.last = RefreshStatus(time.time(), outcome, ok)


def _failures(result: RefreshResult) -> str:
    n = len(result.check.failed)
    return f"; {n} source{'s' * (n != 1)} could not be checked" if n else ""
