"""Rebuilding the index file from a corpus: lock, build off the event loop, swap in atomically."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..corpus_warnings import CorpusWarning, WarningKind
from ..indexfile import (
    IndexInfo,
    build_lock,
    install,
    read_generation,
    read_info,
    remove_stale_builds,
    replacing,
)
from ..ingest.crawl import crawl_sources
from .full import build_index_file
from .gc_pause import no_cyclic_gc
from .incremental import UpdatePlan, apply_update, plan_update
from .params import IndexParams
from .source_times import stamp_source_times
from .sources import CorpusSource, Progress

log = logging.getLogger(__name__)

# Completes a new index file (tmp) before it replaces the one at db_path: (tmp, db_path) -> None.
Finish = Callable[[Path, Path], None]


@dataclass(frozen=True)
class ReindexResult:
    """What a rebuild produced: the new index's description, the build's time and warnings."""

    info: IndexInfo
    seconds: float
    warnings: list[CorpusWarning]
    incremental: bool = False  # True when only the changed files were analysed, and then:
    analysed: int = 0  # documents new or changed
    reused: int = 0  # documents unchanged, kept from the previous index
    removed: int = 0  # documents no longer in the corpus


def rebuild_sync(
    paths: Sequence[CorpusSource],
    db_path: Path,
    params: IndexParams,
    progress: Progress | None = None,
    wait_for_lock: bool = True,
    finish: Finish | None = None,
) -> ReindexResult:
    """Build and swap in a new index; blocking. Raises EmptyCorpusError and leaves the old index.

    `finish(tmp, db_path)`, if given, completes the new file before it is swapped in, on both
    the full and the incremental path (the semantic re-rank's passage vectors: index/build/vectors.py).
    Sites (`crawl.SiteSource`) are crawled first, outside the lock; a site that yields no page
    raises `crawl.EmptySiteError`."""
    paths = crawl_sources(paths)
    with build_lock(db_path, wait=wait_for_lock):
        remove_stale_builds(db_path)  # what a build killed mid-write (SIGKILL, power loss) left behind
        started = time.perf_counter()
        checked_at = time.time()  # every source is looked at from here on (source_times)
        with no_cyclic_gc():
            plan = plan_update(paths, db_path, params)
            if plan is not None and _update(plan, params, db_path, _stamped(finish, checked_at, plan.warnings)):
                analysed = len(plan.new_documents)
                return ReindexResult(
                    read_info(db_path),
                    time.perf_counter() - started,
                    plan.warnings,
                    incremental=True,
                    analysed=analysed,
                    reused=len(plan.order) - analysed,
                    removed=plan.removed_paths,
                )
        generation = read_generation(db_path) + 1
        with replacing(db_path) as tmp:
            _, _, warnings = build_index_file(paths, tmp, params, generation, progress)
            _stamped(finish, checked_at, warnings)(tmp, db_path)
            install(tmp, db_path)
        for warning in warnings:
            # Debug only: the adapters show `warnings` themselves (`corpus_warnings.summarise`:
            # the CLI on stderr, the bot in its log).
            log.debug("%s", warning)
        return ReindexResult(read_info(db_path), time.perf_counter() - started, warnings)


def _stamped(finish: Finish | None, checked_at: float, warnings: Sequence[CorpusWarning]) -> Finish:
    """`finish` preceded by writing the documents' changed/checked times (`source_times`); a
    page served from the cache because its fetch failed was not checked this time."""
    not_checked = {w.path for w in warnings if w.kind is WarningKind.KEPT_EARLIER_COPY}

    def run(tmp: Path, db_path: Path) -> None:
        stamp_source_times(tmp, db_path, checked_at, not_checked)
        if finish is not None:
            finish(tmp, db_path)

    return run


def _update(plan: UpdatePlan, params: IndexParams, db_path: Path, finish: Finish | None = None) -> bool:
    """Patch a copy of the index with the plan's changes and swap it in; False when the plan
    turns out not to apply (the caller builds in full)."""
    with replacing(db_path) as tmp:
        if not apply_update(plan, params, tmp):
            return False  # (`replacing` removes what was written)
        if finish is not None:
            finish(tmp, db_path)
        install(tmp, db_path)
    return True


async def rebuild(
    paths: Sequence[CorpusSource],
    db_path: Path,
    params: IndexParams,
    progress: Progress | None = None,
    wait_for_lock: bool = True,
    finish: Finish | None = None,
) -> ReindexResult:
    """The same, from async code: the whole build runs in a worker thread."""
    return await asyncio.to_thread(rebuild_sync, paths, db_path, params, progress, wait_for_lock, finish)
