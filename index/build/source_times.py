"""When each indexed document last changed and was last checked: stored with the index.

Why: a bot that refreshes its corpus on a schedule (`refresh.py`) must be able to say how fresh
each source is (`citebot sources`, `/stats`). Two times per document:

- `changed_at`: when this version of the document entered the index (the build that first
  analysed this text at this path). A build keeps the previous index's time for a document
  whose path and text are unchanged, so a reindex does not make everything look new.
- `checked_at`: when the document's source was last looked at and found readable: every build
  checks every file and page it reads, except a page whose fetch failed (its cached copy
  stands in; its time stays as it was).

They live in a table of their own (`source_times`, keyed by the document's path), written
after the rows are in by `stamp_source_times` on the new file before it is swapped in, by the
full and the incremental build alike. The table is additive: an index written before it has
none, and reads simply report the times as unknown (no schema change, no reindex needed).

Checks that find nothing changed write no new index (that would make every running bot
reload it): their time goes to a small file beside the index (`source_checks`), and a reader
takes the later of the two.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..indexfile.tables import (
    document_paths_and_hashes,
    previous_source_time_rows,
    replace_source_times,
    source_time_rows,
    unpublished,
)


@dataclass(frozen=True)
class SourceTime:
    """One document's times (seconds since the epoch)."""

    hash: str
    changed_at: float
    checked_at: float


def read_source_times(conn: sqlite3.Connection) -> dict[str, SourceTime]:
    """The `source_times` rows of an open index by path; empty when the index has no such
    table (it was built before there was one)."""
    return source_times_by_path(source_time_rows(conn))


def source_times_by_path(rows: Iterable[tuple[str, str, float, float]]) -> dict[str, SourceTime]:
    return {path: SourceTime(h, changed, checked) for path, h, changed, checked in rows}


def stamp_source_times(tmp: Path, previous: Path, now: float, not_checked: Collection[str] = ()) -> None:
    """Write `source_times` for every document of the new index file `tmp`, carrying over the
    times of `previous` (the index it replaces, if any) where path and text are unchanged.

    `not_checked`: paths (URLs) the build could not check this time (a failed fetch served
    from the cache); their `checked_at` stays the previous one."""
    old = source_times_by_path(previous_source_time_rows(previous))
    with unpublished(tmp) as db:
        documents = document_paths_and_hashes(db)
        replace_source_times(db, list(_rows(documents, old, now, set(not_checked))))


def _rows(
    documents: Iterable[tuple[str, str]], old: dict[str, SourceTime], now: float, not_checked: set[str]
) -> Iterable[tuple[str, str, float, float]]:
    for path, h in documents:
        before = old.get(path)
        changed = before.changed_at if before is not None and before.hash == h else now
        checked = before.checked_at if before is not None and path in not_checked else now
        yield path, h, changed, checked
