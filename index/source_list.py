"""What is indexed: every document with its kind, title, place, passages and freshness.

`citebot sources` prints it, `/stats` shows a short version (`summarise`). The times come from
the index (`source_times`, written by each build) and from the last refresh check beside it
(`source_checks`): a document was last checked at the later of its build's check and the last
refresh check, unless that refresh could not check its source (a page that failed to fetch, a
folder that was missing), and last changed when its current text entered the index.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .build.source_checks import SourceChecks, load_checks
from .build.source_times import source_times_by_path
from .indexfile import read_info
from .indexfile.tables import document_listing
from .ingest.source_names import META_KEY as ROOTS_META_KEY
from .ingest.source_names import decode_roots, shown_name


@dataclass(frozen=True)
class IndexedSource:
    """One indexed document as `citebot sources` lists it (times: seconds since the epoch; None: unknown)."""

    kind: str
    title: str
    path: str  # as the index stores it: a file's path or a page's URL
    name: str  # as people see it (never an absolute path: `source_names`)
    url: str | None
    passages: int
    changed_at: float | None
    checked_at: float | None
    check_failed: str | None = None  # why the last refresh could not check it

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "title": self.title,
            "path": self.path,
            "name": self.name,
            "url": self.url,
            "passages": self.passages,
            "last_changed": iso_time(self.changed_at),
            "last_checked": iso_time(self.checked_at),
            "check_failed": self.check_failed,
        }


@dataclass(frozen=True)
class SourcesSummary:
    """The short version for `/stats`."""

    documents: int
    by_kind: list[tuple[str, int]]  # most documents first
    oldest_checked: float | None
    latest_changed: float | None
    failed: int  # documents whose source the last refresh could not check


def list_sources(db_path: Path) -> list[IndexedSource]:
    """Every document of the index at `db_path`, in build order. Raises the store's errors for
    a missing, damaged or incompatible index (with their message to reindex)."""
    info = read_info(db_path)
    roots = decode_roots(info.meta.get(ROOTS_META_KEY))
    rows, time_rows = document_listing(db_path)
    times = source_times_by_path(time_rows)
    checks = load_checks(db_path)
    out = []
    for kind, title, path, url, n_passages in rows:
        stamp = times.get(path)
        failed = _failure(path, checks)
        checked = stamp.checked_at if stamp is not None else None
        if checks is not None and failed is None:
            checked = max(checked or 0.0, checks.checked_at)
        out.append(
            IndexedSource(
                kind,
                title,
                path,
                shown_name(path, roots),
                url,
                n_passages,
                stamp.changed_at if stamp is not None else None,
                checked,
                failed,
            )
        )
    return out


def _failure(path: str, checks: SourceChecks | None) -> str | None:
    """Why the last refresh could not check the source holding `path` (None: it could)."""
    if checks is None:
        return None
    for source, reason in checks.failed.items():
        if path == source or path.startswith(source.rstrip("/") + "/"):
            return reason
    return None


def summarise(sources: list[IndexedSource]) -> SourcesSummary:
    kinds = Counter(s.kind for s in sources)
    checked = [s.checked_at for s in sources if s.checked_at is not None]
    changed = [s.changed_at for s in sources if s.changed_at is not None]
    return SourcesSummary(
        len(sources),
        sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])),
        min(checked) if len(checked) == len(sources) and checked else None,
        max(changed) if changed else None,
        sum(s.check_failed is not None for s in sources),
    )


def iso_time(seconds: float | None) -> str | None:
    """UTC, to the second (`2025-07-30T12:00:00Z`); None stays None."""
    return None if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
