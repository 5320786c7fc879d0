"""Replacing the index file atomically: the build lock, the temporary file, the swap.

Why a new file each time: a bot may be answering from the index while `citebot index` runs. A
build writes a temporary file beside the live one, commits and closes it, then `os.replace`s
it over the old name. Readers that opened the old file keep reading it until they reopen;
nobody ever sees half an index, and a build that dies half-way leaves the old file untouched
(`replacing`: the one place that removes the temporary file on failure). A lock file makes a
second concurrent build wait instead of racing.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import IndexLockedError, IndexWriteError
from ..file_guard import ensure_ours_or_absent
from .schema import APPLICATION_ID


@contextlib.contextmanager
def build_lock(db_path: Path, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on `<db>.lock` while building; a second builder waits or fails.

    The folder must exist: an index path with a mistyped folder is an error to show, not a
    tree of folders to create. The file at `db_path`, if any, must be an index of ours
    (`ensure_replaceable`), checked before the lock file is made beside it.
    """
    ensure_replaceable(db_path)
    ensure_folder(db_path)
    lock_path = db_path.with_name(db_path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write in {db_path.parent} ({exc.strerror or exc}); choose another --db or index.db"
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise IndexLockedError(f"another 'citebot index' is building {db_path}; wait for it to finish") from exc
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(db_path: Path) -> Iterator[Path]:
    """The temporary file a build writes the next index into, for the `with` block.

    Whatever fails inside the block (the build, a full disk, a kill signal turned into an
    exception) removes the temporary file and re-raises, a disk or SQLite error as one
    `IndexWriteError` (`raise_write_error`): the previous index stays in place. The block
    installs the file itself (`install`) when it is complete; a block that decides not to
    (the incremental build finding it does not apply) leaves it to be removed here.
    """
    tmp = temporary_path(db_path)
    try:
        yield tmp
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        raise_write_error(exc, db_path)
        raise
    tmp.unlink(missing_ok=True)  # not installed: nothing of it may stay behind


def temporary_path(db_path: Path) -> Path:
    """Where a build writes the next index file (beside the live one, so `os.replace` is atomic)."""
    ensure_folder(db_path)
    tmp = db_path.with_name(f".{db_path.name}.building-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    return tmp


def install(tmp: Path, db_path: Path) -> None:
    """Make the finished file at `tmp` the index: flushed to disk first, then renamed over.

    Checked again here, just before the rename: the build may have taken minutes, and a file
    put at the path meanwhile is just as much not ours to replace."""
    _fsync(tmp)
    ensure_replaceable(db_path)
    os.replace(tmp, db_path)
    _fsync_dir(db_path.parent)


def ensure_replaceable(db_path: Path) -> None:
    """Refuse (ForeignFileError) to build over a file that is not a Citebot index; an index of
    ours, even a damaged one, an empty file or no file at all may be replaced."""
    ensure_ours_or_absent(
        db_path,
        APPLICATION_ID,
        "index",
        "Choose another path (--db or index.db), or move that file away if it is really meant to be replaced",
    )


def ensure_folder(db_path: Path) -> None:
    """IndexWriteError unless the index's folder exists (the caller creates default folders)."""
    if not db_path.parent.is_dir():
        what = "is not a folder" if db_path.parent.exists() else "does not exist"
        raise IndexWriteError(
            f"cannot write the index {db_path}: the folder {db_path.parent} {what}; "
            f"create it first or choose another --db or index.db"
        )


def raise_write_error(exc: BaseException, db_path: Path) -> None:
    """Turn a full disk, a file size limit or a read-only folder into one clear error."""
    if isinstance(exc, (sqlite3.Error, OSError)):
        raise IndexWriteError(
            f"could not write the new index beside {db_path} ({exc}); is the disk full or the folder "
            f"read-only? The previous index is unchanged and still in use"
        ) from exc


def remove_stale_builds(db_path: Path) -> int:
    """Delete temporary files left beside `db_path` by builds that were killed mid-write.

    Call only while holding `build_lock(db_path)`: then no other build is writing one.
    """
    removed = 0
    for stale in db_path.parent.glob(f".{glob.escape(db_path.name)}.building-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed += 1
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path)
