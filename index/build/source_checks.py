"""The last refresh check of an index's sources, in a small file beside the index.

Why not in the index: a check that finds nothing changed must not write a new index (every
running bot would reload it, and at a million passages that is a gigabyte copied for nothing).
So the check's time, the sources it could not check (and why), the sources found changed
but not yet reindexed (a rebuild that failed: the next check must not forget them) and the
files the last rebuild skipped (so they are not taken for new files at every check) are kept
in `<index file>.checks.json`, written atomically, mode 0600. A file at that name that is not
ours is never overwritten. The times of a build itself are in the index (`source_times`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MARKER = "citebot-source-checks"
VERSION = 1


@dataclass(frozen=True)
class SourceChecks:
    """One refresh check: when, which sources failed (source -> reason), which wait for a rebuild."""

    checked_at: float
    failed: dict[str, str] = field(default_factory=dict)
    pending: tuple[str, ...] = ()
    # Files the last rebuild read and skipped (duplicates, empty, unreadable), by their stat
    # before it read them: not in the index's file list, yet no change while the stat holds.
    skipped: dict[str, tuple[int, int]] = field(default_factory=dict)


def checks_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".checks.json")


def load_checks(db_path: Path) -> SourceChecks | None:
    """The last check recorded beside `db_path`, or None (none yet, or not a file of ours)."""
    data = _read(checks_path(db_path))
    if data is None:
        return None
    try:
        return SourceChecks(
            float(data["checked_at"]),
            {str(k): str(v) for k, v in dict(data["failed"]).items()},
            tuple(str(p) for p in data.get("pending", [])),
            {str(k): (int(v[0]), int(v[1])) for k, v in dict(data.get("skipped", {})).items()},
        )
    except (KeyError, TypeError, ValueError):
        return None


def save_checks(db_path: Path, checks: SourceChecks) -> bool:
    """Record `checks` beside `db_path`; False (and one log line) when it cannot be written."""
    path = checks_path(db_path)
    if path.exists() and _read(path) is None:
        log.warning("not writing the refresh check to %s: the file there is not one of citebot's", path)
        return False
    body = json.dumps(
        {
            "format": MARKER,
            "version": VERSION,
            "checked_at": checks.checked_at,
            "failed": checks.failed,
            "pending": list(checks.pending),
            "skipped": {k: list(v) for k, v in checks.skipped.items()},
        },
        ensure_ascii=False,
        indent=1,
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("cannot write the refresh check to %s: %s", path, exc)
        return False
    return True


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MARKER or data.get("version") != VERSION:
        return None
    return data
