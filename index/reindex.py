"""Rebuilding the index file from a corpus: lock, build off the event loop, swap in atomically."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .builder import IndexParams, Progress
from .incremental import plan_update
from .filebuild import build_index_file
from .store import (IndexInfo, build_lock, install, raise_write_error, read_generation, read_info,
                    remove_stale_builds, temporary_path, update_index)

log = logging.getLogger(__name__)


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
        generation = read_generation(db_path) + 1
        tmp = temporary_path(db_path)
        try:
            _, _, warnings = build_index_file(paths, tmp, params, generation, progress)
            install(tmp, db_path)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            raise_write_error(exc, db_path)
            raise
        for warning in warnings:
            # Debug only: the adapters show `warnings` themselves (the CLI one line per file, the
            # bot in its log).
            log.debug("%s", warning)
        return ReindexResult(read_info(db_path), time.perf_counter() - started, warnings)


async def rebuild(paths: Sequence[Path], db_path: Path, params: IndexParams,
                  progress: Progress | None = None, wait_for_lock: bool = True) -> ReindexResult:
    """The same, from async code: the whole build runs in a worker thread."""
    return await asyncio.to_thread(rebuild_sync, paths, db_path, params, progress, wait_for_lock)
