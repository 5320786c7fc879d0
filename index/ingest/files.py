"""Reading a corpus file's bytes and text, and the error that says why one cannot be read."""

from __future__ import annotations

from pathlib import Path

from ..corpus_warnings import CorpusWarning, WarningKind
from .textdecode import NotText, decode_text


class UnreadableDocument(Exception):
    """A corpus file that cannot be read as text; the indexer skips it with a warning."""

    def __init__(self, path: Path, reason: str, kind: WarningKind = WarningKind.UNREADABLE) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.kind = kind

    def warning(self) -> CorpusWarning:
        """The warning that says this file was skipped, and why."""
        return CorpusWarning(self.kind, str(self.path), f"skipped, {self.reason}")


def read_bytes_file(path: Path, max_bytes: int | None = None) -> bytes:
    """Read a file's bytes, refusing one larger than `max_bytes`."""
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise UnreadableDocument(
                path, f"larger than the {max_bytes:,}-byte limit ({size:,} bytes)", WarningKind.TOO_LARGE
            )
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableDocument(path, f"cannot be read ({exc.strerror or exc})") from exc


def read_text_file(path: Path, max_bytes: int | None = None) -> tuple[str, str]:
    """Read a file as text in the encoding it was saved in (`textdecode`); returns the text
    and that encoding, and refuses binary data with a reason a user can act on."""
    data = read_bytes_file(path, max_bytes)
    try:
        return decode_text(data)
    except NotText as exc:
        raise UnreadableDocument(path, str(exc), WarningKind.BINARY) from exc
