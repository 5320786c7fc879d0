"""`citebot index --watch`: keep the index of local folders fresh while you edit them.

After the first build, the files are polled every few seconds (size and mtime, the cheap check
of `index.refresh`; web pages are not fetched on each poll, only when a rebuild runs) and what
changed is reindexed (incrementally, swapped in atomically, so a bot running on the same index
picks it up). One line per rebuild on stdout; a failed one prints one line on stderr and the
old index stays. Ctrl-C (or SIGTERM) stops cleanly: a rebuild it interrupts leaves the old index in place.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence

from citebot.index.build.refresh import RefreshResult, refresh_sync
from citebot.index.build.sources import CorpusSource, split_sources
from citebot.index.build.vectors import vector_step
from citebot.index.corpus_warnings import summarise
from citebot.index.errors import CitebotError, IndexLockedError

from ..settings import Settings


def watch(
    settings: Settings,
    sources: Sequence[CorpusSource],
    every: float,
    *,
    verbose: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll and reindex until Ctrl-C; returns the exit code (0)."""
    if not every > 0:
        raise CitebotError(f"--every must be more than 0 seconds, got {every:g}")
    folders, _ = split_sources(list(sources))
    if not folders:
        raise CitebotError(
            "--watch polls files and folders; give at least one (web pages are fetched only "
            "when a rebuild runs; the bot's corpus.refresh_minutes checks them on a schedule)"
        )
    finish = vector_step(settings.answer.semantic, settings.answer.semantic_max_passages)
    print(f"Watching {', '.join(str(f) for f in folders)} every {every:g} s for changes; Ctrl-C stops.", flush=True)
    shown: set[str] = set()  # warnings already printed: a duplicate is not reported at every rebuild
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill`, systemd: stop as cleanly as on Ctrl-C
    try:
        while True:
            sleep(every)
            try:
                result = refresh_sync(sources, settings.db_path, settings.index, finish, pages=False)
            except IndexLockedError:
                continue  # another build is running; its index is the new one, checked next time
            except CitebotError as exc:
                print(f"{_now()} reindex failed, the index is unchanged: {exc}", file=sys.stderr, flush=True)
                continue
            if result.rebuilt is not None:
                print(rebuild_line(result), flush=True)
                new = [w for w in result.rebuilt.warnings if str(w) not in shown]
                shown.update(str(w) for w in new)
                for line in summarise(new, verbose):
                    print(f"warning: {line}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("Stopped watching; the index is as last reindexed.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def rebuild_line(result: RefreshResult) -> str:
    """`12:03:04 reindexed (1 changed: notes.md): 17 documents, 230 passages, generation 5, 0.21 s`."""
    rebuilt = result.rebuilt
    assert rebuilt is not None
    changed = [*result.retried, *result.check.changed]
    names = ", ".join(c.rsplit("/", 1)[-1] for c in changed[:3]) + (
        f", … {len(changed) - 3} more" if len(changed) > 3 else ""
    )
    how = (
        f"{rebuilt.analysed} analysed, {rebuilt.reused} kept, {rebuilt.removed} removed"
        if rebuilt.incremental
        else "full build"
    )
    info = rebuilt.info
    return (
        f"{_now()} reindexed ({len(changed)} changed: {names}; {how}): {info.documents} documents, "
        f"{info.passages} passages, generation {info.generation}, {rebuilt.seconds:.2f} s"
    )


def _now() -> str:
    return time.strftime("%H:%M:%S")
