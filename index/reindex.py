"""Rebuilding the index file from a corpus: lock, build off the event loop, swap in atomically."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .builder import BuiltIndex, IndexParams, Progress, build_from_paths
from .analysis import ANALYZER_VERSION
from .incremental import plan_update
from .store import IndexInfo, build_lock, load_analysis_cache, remove_stale_builds, update_index, write_index


@dataclass(frozen=True)
class ReindexResult:
    """What a rebuild produced: the new index's description, the build's time and warnings."""

    info: IndexInfo
    seconds: float
    warnings: list[str]
    incremental: bool = False  # True when only the changed files were analysed


def rebuild_sync(paths: Sequence[Path], db_path: Path, params: IndexParams,
                 progress: Progress | None = None, wait_for_lock: bool = True) -> ReindexResult:
    """Build and swap in a new index; blocking. Raises EmptyCorpusError and leaves the old index."""
    with build_lock(db_path, wait=wait_for_lock):
        remove_stale_builds(db_path)  # what a build killed mid-write (SIGKILL, power loss) left behind
        started = time.perf_counter()
        plan = plan_update(paths, db_path, params)
        if plan is not None:
            # A few files changed: patch a copy of the index instead of rebuilding it.
            info = update_index(plan, params, db_path)
            if info is not None:
                return ReindexResult(info, time.perf_counter() - started, plan.warnings, incremental=True)
        # Unchanged documents reuse the analysis stored in the index being replaced.
        cache = load_analysis_cache(db_path, params, ANALYZER_VERSION)
        built: BuiltIndex = build_from_paths(paths, params, progress, cache=cache)
        del cache
        info = asyncio.run(write_index(built, db_path))
    return ReindexResult(info, built.seconds, built.warnings)


async def rebuild(paths: Sequence[Path], db_path: Path, params: IndexParams,
                  progress: Progress | None = None, wait_for_lock: bool = True) -> ReindexResult:
    """The same, from async code: the whole build runs in a worker thread."""
    return await asyncio.to_thread(rebuild_sync, paths, db_path, params, progress, wait_for_lock)
