"""Exceptions that carry what a user needs to recover, raised by the library, shown by adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .corpus_warnings import CorpusWarning


class CitebotError(Exception):
    """Base class: the message is written for the person running citebot."""


class EmptyCorpusError(CitebotError):
    """Nothing could be indexed; `warnings` says why for each file that was skipped."""

    def __init__(self, message: str, warnings: list[CorpusWarning] | None = None) -> None:
        super().__init__(message)
        self.warnings = list(warnings or [])


class IndexMissingError(CitebotError):
    """There is no index file yet."""


class IncompatibleIndexError(CitebotError):
    """The index was built by a version of citebot this one cannot read; reindexing fixes it."""


class CorruptIndexError(CitebotError):
    """The index file is damaged or not an index; rebuilding it fixes it."""


class IndexLockedError(CitebotError):
    """Another `citebot index` is building into the same file."""


class ForeignFileError(CitebotError):
    """A path where Citebot would write names a file that is not Citebot's; it is left untouched."""


class IndexWriteError(CitebotError):
    """The new index could not be written (a full disk, a read-only folder); the old one is kept."""


class StateDatabaseError(CitebotError):
    """The question log (state database) is damaged or not ours; the message says how to recover."""


class ConfigError(CitebotError):
    """A setting is invalid; the message names the key."""
