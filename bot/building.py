"""Building and opening the configured index, with progress on the terminal.

The CLI's `citebot index` and `citebot ask`, and `citebot run` at start-up (which builds the
default index when there is none yet), all come here, so the Discord side never imports the
CLI's command table.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from collections.abc import Sequence

from citebot.index.build.reindex import ReindexResult, rebuild_sync
from citebot.index.build.sources import CorpusSource
from citebot.index.build.vectors import vector_step
from citebot.index.corpus_warnings import CorpusWarning, summarise
from citebot.index.errors import EmptyCorpusError, IndexMissingError, IndexWriteError
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.crawl import CrawlResult, CrawlStats, SiteSource, crawl_sources

from .settings import Settings


class ProgressBar:
    """A one-line progress bar on stderr, shown only on a terminal and only for long runs."""

    def __init__(self, stream=None, min_items: int = 20) -> None:
        self.stream = stream if stream is not None else sys.stderr  # looked up now: stderr may have been replaced
        self.enabled = self.stream.isatty()
        self.min_items = min_items
        self._last = 0.0

    def __call__(self, done: int, total: int, what: str) -> None:
        if not self.enabled or total < self.min_items:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * done / max(total, 1))
        name = what[-40:]
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name:<40}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class CrawlProgressLine:
    """One line on stderr per site being crawled: pages found, fetched, unchanged, failed;
    shown only on a terminal, redrawn at most ten times a second."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, site: str, stats: CrawlStats) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and not stats.seconds:
            return
        self._last = now
        self._shown = True
        self.stream.write(
            f"\rcrawling {site[-40:]}: {stats.found} found, {stats.fetched} fetched, "
            f"{stats.unchanged} unchanged, {stats.failed} failed "
        )
        self.stream.flush()

    def end(self) -> None:
        """End the line (before any other output)."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def crawl_sites(sources: Sequence, quiet: bool = False, verbose: bool = False) -> list:
    """Crawl the sites among `sources` (a progress line each on a terminal, then one summary
    line on stderr); a site that yields no page is an EmptySiteError, its warnings shown first."""
    if not any(isinstance(s, SiteSource) for s in sources):
        return list(sources)
    line = CrawlProgressLine() if not quiet else None
    try:
        crawled = crawl_sources(sources, line)
    except EmptyCorpusError as exc:
        if line is not None:
            line.end()
        print_warnings(exc.warnings, verbose)
        raise
    if line is not None:
        line.end()
    if not quiet:
        for site in crawled:
            if isinstance(site, CrawlResult):
                print(f"Crawled {site.url}: {site.stats.line()}", file=sys.stderr)
    return crawled


def print_warnings(warnings: Sequence[CorpusWarning], verbose: bool = False) -> None:
    """What a build skipped, on stderr: a few of a kind by name, more as a count (every one
    with `verbose`)."""
    for line in summarise(warnings, verbose):
        print(f"warning: {line}", file=sys.stderr)


def prepare_default_folder(settings: Settings) -> None:
    """Create the per-user data folder for the default index; a path the user chose must
    already have its folder (the index file code says so in one line if not)."""
    if settings.default_db:
        try:
            settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexWriteError(
                f"cannot create the data folder {settings.db_path.parent} "
                f"({exc.strerror or exc}); set index.db or pass --db"
            ) from exc


def reindex(
    settings: Settings, paths: Sequence[CorpusSource] | None = None, quiet: bool = False, verbose: bool = False
) -> ReindexResult:
    """Rebuild the index at settings.db_path from `paths` (default: the configured corpus): files,
    folders, web pages and sites, as `corpus_sources` makes them."""
    sources: list[CorpusSource] = list(paths) if paths else list(settings.corpus_paths)
    prepare_default_folder(settings)
    sources = crawl_sites(sources, quiet, verbose)
    progress = ProgressBar() if not quiet else None
    finish = vector_step(settings.answer.semantic, settings.answer.semantic_max_passages, progress)
    try:
        result = rebuild_sync(sources, settings.db_path, settings.index, progress, finish=finish)
    except EmptyCorpusError as exc:
        print_warnings(exc.warnings, verbose)  # say why files were skipped before the one-line error
        raise
    print_warnings(result.warnings, verbose)
    return result


async def open_index(settings: Settings, build_if_missing: bool = True) -> IndexReader:
    """Open the index; at the default location, build it first from the configured corpus
    when there is none. A path the user chose (`--db`, `index.db`) is never built into
    unasked: a mistyped path would otherwise answer from the bundled article."""
    try:
        return await IndexReader.open(settings.db_path)
    except IndexMissingError as exc:
        if not (build_if_missing and settings.default_db):
            db = shlex.quote(str(settings.db_path))
            raise IndexMissingError(
                f"no index at {settings.db_path}; build one there with "
                f"'citebot index --db {db} [FILE_OR_FOLDER ...]' "
                f"(without paths: the configured corpus)"
            ) from exc
    print(f"No index yet at {settings.db_path}: building it from the configured corpus…", file=sys.stderr)
    await asyncio.to_thread(reindex, settings, None, True)
    return await IndexReader.open(settings.db_path)
