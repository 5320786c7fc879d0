"""Telling our own SQLite files from a user's, before anything is replaced or written into.

A path given to `--db` (or `index.db`, `log.state_db`) may name anything: a Markdown note, a
photo, another program's database. Citebot replaces its index file whole and writes tables into
its state file, so either would destroy such a file without a word. Both of our files carry an
SQLite application id in their header (offset 68, big-endian), and that is what we check: the
header is read as bytes, without opening the file through SQLite (which could write a journal
beside it or change it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ForeignFileError

SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100
_APPLICATION_ID_AT = 68


@dataclass(frozen=True)
class FileHeader:
    """What the first bytes of an existing file say about it."""

    exists: bool
    empty: bool = False
    is_sqlite: bool = False
    application_id: int = 0
    # The size SQLite's header gives the database (page size x page count; 0: not recorded), and
    # the file's size: a file shorter than its header says was cut off (a copy or a disk that
    # failed mid-write), even where the pages lost are ones a reader seldom touches.
    declared_bytes: int = 0
    size: int = 0

    @property
    def truncated(self) -> bool:
        return self.is_sqlite and self.declared_bytes > self.size


def read_header(path: Path) -> FileHeader:
    """The header facts of `path` (following symlinks); a folder or device is not a file we own."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return FileHeader(exists=path.is_symlink())  # a broken symlink still names something
    except OSError:
        return FileHeader(exists=True)
    if not os.path.isfile(path):
        return FileHeader(exists=True)
    if st.st_size == 0:
        return FileHeader(exists=True, empty=True)
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER_BYTES)
    except OSError:
        return FileHeader(exists=True)
    if not head.startswith(SQLITE_MAGIC) or len(head) < _APPLICATION_ID_AT + 4:
        return FileHeader(exists=True)
    app = int.from_bytes(head[_APPLICATION_ID_AT : _APPLICATION_ID_AT + 4], "big")
    return FileHeader(
        exists=True, is_sqlite=True, application_id=app, declared_bytes=_declared_bytes(head), size=st.st_size
    )


def _declared_bytes(head: bytes) -> int:
    """Page size x the in-header page count, when the header's count is valid (its change
    counter at offset 24 equals the version-valid-for number at offset 92), else 0."""
    if len(head) < _HEADER_BYTES or head[24:28] != head[92:96]:
        return 0
    page_size = int.from_bytes(head[16:18], "big")
    return (65536 if page_size == 1 else page_size) * int.from_bytes(head[28:32], "big")


def describe(path: Path, header: FileHeader) -> str:
    """A few words on what the file is, for an error message."""
    if path.is_dir():
        return "a folder"
    if not header.is_sqlite:
        return "not an SQLite file"
    if header.application_id:
        return f"an SQLite database of another program (application id {header.application_id:#x})"
    return "an SQLite database that is not Citebot's"


def ensure_ours_or_absent(
    path: Path,
    application_id: int,
    what: str,
    advice: str,
    legacy_ok: bool = False,
    error: type[Exception] = ForeignFileError,
) -> None:
    """Raise `error` unless `path` is absent, empty, or one of our `what` files; the message
    names the file, says it was left untouched, and ends with `advice`.

    `legacy_ok` accepts an SQLite file with no application id at all (state files written
    before Citebot marked them); the caller must then check its tables itself.
    """
    header = read_header(path)
    if not header.exists or header.empty:
        return
    if header.is_sqlite and header.application_id == application_id:
        return
    if legacy_ok and header.is_sqlite and header.application_id == 0:
        return
    raise error(f"{path} is not a Citebot {what} ({describe(path, header)}); it was left untouched. {advice}")
