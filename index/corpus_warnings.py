"""What a build could not use, as typed records, and the one place they are summarised.

The builds (the full one in `build/full.py`, the incremental one in `build/incremental.py`,
with their skip rules in one place, `build/sources.py`), the folder walk and the fetcher all meet files, folders
and URLs they have to skip. Each makes a `CorpusWarning` (a kind and the path, plus the reason
in words), so the adapters can show them without parsing text: `summarise` lists a few of a
kind one by one and counts the rest, so a folder of 98 copies gives one line, not 98.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

# A kind with at most this many warnings is listed file by file; more are one line with a count.
LIST_AT_MOST = 3


class WarningKind(StrEnum):
    """Why a path or URL was skipped (or, for KEPT_EARLIER_COPY, served from the web cache, and
    for INCLUDE_DROPPED, read without a part)."""

    MISSING = "missing"  # no such file or folder
    UNSUPPORTED = "unsupported"  # a file of a kind citebot does not read (.docx, .epub, ...)
    NOT_A_FILE = "not-a-file"  # a FIFO, socket, device, broken or looping symlink, folder symlink
    UNREADABLE = "unreadable"  # the file or folder cannot be read (permissions, vanished)
    TOO_LARGE = "too-large"  # larger than corpus.max_file_mb
    BINARY = "binary"  # no text encoding fits it
    EMPTY = "empty"  # read, but nothing in it to index
    DUPLICATE = "duplicate"  # the same text as a file or page read before it
    REFUSED = "refused"  # a URL that may not be fetched (scheme, address)
    FETCH_FAILED = "fetch-failed"  # a URL that could not be fetched, with no earlier copy
    KEPT_EARLIER_COPY = "kept-earlier-copy"  # a URL that could not be fetched; its cached copy is used
    PAGE_UNREADABLE = "page-unreadable"  # a fetched page the extractor could not read
    NO_TEXT = "no-text"  # a PDF without a text layer (scanned pages)
    ENCRYPTED = "encrypted"  # a password-protected PDF
    EXCLUDED = "excluded"  # a file in a corpus folder that corpus.exclude leaves out
    OFF_SITE = "off-site"  # a crawled page that redirected to another site, or a sitemap on another host
    NO_SITEMAP = "no-sitemap"  # a sitemap a site lists that could not be read
    CRAWL_LIMIT = "crawl-limit"  # a site with more pages than corpus.crawl_max_pages
    INCLUDE_DROPPED = "include-dropped"  # a Markdown include left out (outside the corpus, missing); the file is read


# Per kind, the words after the count in a summary line (always more than LIST_AT_MOST).
_SUMMARY: dict[WarningKind, str] = {
    WarningKind.MISSING: "paths do not exist",
    WarningKind.UNSUPPORTED: "files of unsupported kinds skipped",
    WarningKind.NOT_A_FILE: "paths skipped as not regular files (FIFOs, sockets, devices or symlinks)",
    WarningKind.UNREADABLE: "files or folders skipped as unreadable",
    WarningKind.TOO_LARGE: "files skipped as larger than corpus.max_file_mb",
    WarningKind.BINARY: "files skipped as binary",
    WarningKind.EMPTY: "files skipped with no text to index",
    WarningKind.DUPLICATE: "files skipped as duplicates of others",
    WarningKind.REFUSED: "URLs refused",
    WarningKind.FETCH_FAILED: "URLs skipped: their fetches failed and there are no earlier copies",
    WarningKind.KEPT_EARLIER_COPY: "URLs could not be fetched; their earlier copies were kept",
    WarningKind.PAGE_UNREADABLE: "pages skipped as unreadable",
    WarningKind.NO_TEXT: "PDFs skipped with no text layer (scanned pages?)",
    WarningKind.ENCRYPTED: "PDFs skipped as password-protected",
    WarningKind.EXCLUDED: "files excluded by corpus.exclude",
    WarningKind.OFF_SITE: "crawled URLs skipped as leading to another site",
    WarningKind.NO_SITEMAP: "sitemaps could not be read",
    WarningKind.CRAWL_LIMIT: "sites stopped at corpus.crawl_max_pages",
    WarningKind.INCLUDE_DROPPED: "Markdown includes dropped (outside the corpus or not found)",
}


@dataclass(frozen=True, order=True)
class CorpusWarning:
    """One path or URL a build could not use as it was: what kind of problem, and the reason
    in words (`str()` is the line a person reads: "path: reason")."""

    kind: WarningKind
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    @property
    def skipped(self) -> bool:
        """Whether the path or URL is missing from the index (a page served from the web
        cache is not)."""
        return self.kind not in (WarningKind.KEPT_EARLIER_COPY, WarningKind.INCLUDE_DROPPED)

    @classmethod
    def duplicate(cls, path: str, first: str) -> CorpusWarning:
        return cls(WarningKind.DUPLICATE, path, f"skipped, same text as {first}")

    @classmethod
    def empty(cls, path: str) -> CorpusWarning:
        return cls(WarningKind.EMPTY, path, "skipped, no text to index")

    @classmethod
    def excluded(cls, path: str, pattern: str) -> CorpusWarning:
        return cls(WarningKind.EXCLUDED, path, f"excluded by corpus.exclude ({pattern!r})")

    @classmethod
    def cannot_read(cls, path: object, exc: OSError) -> CorpusWarning:
        return cls(WarningKind.UNREADABLE, str(path), f"skipped, cannot be read ({exc.strerror or exc})")


def count_skipped(warnings: Iterable[CorpusWarning]) -> int:
    """How many paths and URLs the warnings leave out of the index."""
    return sum(w.skipped for w in warnings)


def summarise(
    warnings: Iterable[CorpusWarning], verbose: bool = False, more: str = "--verbose lists them"
) -> list[str]:
    """The lines to show for `warnings`: every one when `verbose`; otherwise, per kind (in
    order of first appearance), its warnings one by one when there are at most LIST_AT_MOST,
    else one line that counts them (files of unsupported kinds counted per extension) and
    ends with `more` (how the reader gets the full list). Every warning is named or counted."""
    warnings = list(warnings)
    if verbose:
        return [str(w) for w in warnings]
    by_kind: dict[WarningKind, list[CorpusWarning]] = {}
    for w in warnings:
        by_kind.setdefault(w.kind, []).append(w)
    lines: list[str] = []
    for kind, group in by_kind.items():
        if len(group) <= LIST_AT_MOST:
            lines.extend(str(w) for w in group)
            continue
        line = f"{len(group)} {_SUMMARY[kind]}"
        if kind is WarningKind.UNSUPPORTED:
            per_suffix = Counter(PurePath(w.path).suffix.lower() or "no extension" for w in group)
            line += " (" + ", ".join(f"{suffix} {n}" for suffix, n in per_suffix.most_common()) + ")"
        lines.append(f"{line}; {more}" if more else line)
    return lines
