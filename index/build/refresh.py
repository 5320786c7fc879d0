"""Keeping an index fresh without anyone remembering to reindex: check cheaply, rebuild what changed.

A refresh is one check of every source against the index, then, only when something changed,
the ordinary rebuild (`reindex.rebuild_sync`: incremental when it can be, swapped in
atomically). The check is meant to run every few minutes on a corpus of thousands of files,
so it reads no file that did not change:

- files: the corpus folders are walked and every file stat'ed; a file counts as changed when
  its size or mtime differs from what the index recorded when it read it (`files` table), as
  the incremental build judges it, or when it is new; one written within a second of the build
  (the same stat could hide an edit) is read and its text compared. A file the last build saw and skipped (a
  duplicate, an empty or unreadable file) is not in that table; a refresh's rebuild records
  them with their stat (`source_checks`), and for another build's a ctime older than the build
  (which copying with preserved times cannot set back) tells they were there and skipped then.
  A removed file, or folders other than the ones the index was built from, count as a change too.
- web pages: fetched with the cache's ETag/Last-Modified (`fetch.py`); a 304, or the same bytes
  again, is no change. A page that cannot be fetched is a failed check (its indexed copy stays).
- sites (`corpus.sites`): crawled again, with the same conditional requests (`check_sites`); a
  new page, or one whose bytes changed, is a change, and a page the crawl no longer finds a
  removal. The rebuild reads the pages of that crawl. A site that cannot be crawled is a failed
  check, and its indexed pages stay.

What the check found is recorded beside the index (`source_checks`): when, which sources could
not be checked, and which changed but are not in the index yet because the rebuild failed (the
next refresh retries them). No discord import: the bot's loop (`bot/refresh.py`) and
`citebot index --watch` both call `refresh_sync`.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..corpus_warnings import WarningKind
from ..errors import CitebotError
from ..indexfile.tables import recorded_sources
from ..ingest.crawl import CrawlResult, SiteSource, crawl_site, page_state
from ..ingest.documents import discover_files
from ..ingest.fetch import PageCache, WebSource, fetch_sources_sync, is_url
from ..ingest.files import UnreadableDocument
from ..ingest.loading import load_document
from ..ingest.source_names import META_KEY as ROOTS_META_KEY
from ..ingest.source_names import encode_roots
from .params import IndexParams
from .reindex import Finish, ReindexResult, rebuild_sync
from .source_checks import SourceChecks, load_checks, save_checks
from .sources import CorpusSource, split_sources

log = logging.getLogger(__name__)

_TICK_NS = 1_000_000_000  # the incremental build's margin for an edit in the same clock tick as its read
_ROOT_FAILURES = (WarningKind.MISSING, WarningKind.UNREADABLE, WarningKind.NOT_A_FILE)


@dataclass(frozen=True)
class SourceCheck:
    """What one check found: when, what changed (paths and URLs), what could not be checked."""

    checked_at: float
    changed: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)  # source -> reason
    seconds: float = 0.0
    file_stats: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)  # every file: (size, mtime_ns)
    crawled: dict[str, CrawlResult] = field(default_factory=dict, repr=False)  # each site's crawl, by its URL


@dataclass(frozen=True)
class RefreshResult:
    """One refresh: its check, and the rebuild when something changed (None: nothing did)."""

    check: SourceCheck
    rebuilt: ReindexResult | None = None
    retried: tuple[str, ...] = ()  # changes an earlier failed refresh left pending, taken in now


@dataclass(frozen=True)
class _IndexedFiles:
    files: dict[str, tuple[int, int, str]]  # path -> (size, mtime_ns) when read, and the text's hash
    urls: set[str]  # documents fetched from URLs
    built_at_ns: int
    roots: str | None


def _indexed(db_path: Path) -> _IndexedFiles | None:
    """What the index at `db_path` recorded of its sources; None when there is no readable index."""
    try:
        meta, files, paths = recorded_sources(db_path)
        urls = {p for p in paths if is_url(p)}
    except sqlite3.Error:
        return None
    return _IndexedFiles(files, urls, int(float(meta.get("built_at", "0")) * 1e9), meta.get(ROOTS_META_KEY))


def check_files(
    folders: Sequence[Path],
    db_path: Path,
    params: IndexParams,
    indexed: _IndexedFiles | None = None,
    skipped: dict[str, tuple[int, int]] | None = None,
    stats: dict[str, tuple[int, int]] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The files under `folders` that changed since the index read them (new, changed or
    removed), and the roots that could not be checked (missing, unreadable). `skipped`: files
    the last rebuild skipped, by stat (`source_checks`); `stats` receives every file's stat."""
    indexed = indexed if indexed is not None else _indexed(db_path)
    skipped = skipped or {}
    if indexed is None:
        return [str(db_path)], {}  # no index to compare with: build one
    files, warnings = discover_files(list(folders), params.sources) if folders else ([], [])
    roots = {str(f) for f in folders}
    failed = {w.path: w.reason for w in warnings if w.kind in _ROOT_FAILURES and w.path in roots}
    changed: list[str] = []
    if folders and encode_roots(folders) != indexed.roots:
        changed.append("(the corpus folders)")  # built from other folders or files than these
    margin = indexed.built_at_ns - _TICK_NS
    seen: set[str] = set()
    for path in files:
        key = str(path)
        try:
            st = path.stat()
        except OSError:
            continue  # vanished since the walk: counted as removed below if it was indexed
        seen.add(key)
        if stats is not None:
            stats[key] = (st.st_size, st.st_mtime_ns)
        known = indexed.files.get(key)
        if known is not None:
            if known[:2] != (st.st_size, st.st_mtime_ns):
                changed.append(key)
            elif st.st_mtime_ns >= margin and not _same_text(path, known[2], params):
                changed.append(key)  # written in the clock tick the build read it: only its text tells
        elif skipped.get(key) != (st.st_size, st.st_mtime_ns) and st.st_ctime_ns >= margin:
            changed.append(key)  # new (else: there at the last build, which skipped it)
    # (The table holds crawled pages too, by URL: `check_sites` judges those.)
    changed.extend(sorted(p for p in indexed.files if p not in seen and not is_url(p)))
    return changed, failed


def _same_text(path: Path, indexed_hash: str, params: IndexParams) -> bool:
    """Whether the file still reads as the text the index holds (for the few files whose stat
    cannot tell, `check_files`)."""
    try:
        return load_document(path, max_bytes=params.max_file_bytes).content_hash == indexed_hash
    except (UnreadableDocument, OSError):
        return False


def check_pages(web: Sequence[WebSource], indexed_urls: set[str]) -> tuple[list[str], dict[str, str]]:
    """The pages that changed since they were last fetched (a new body, or a page no longer in
    the corpus), and the ones that could not be fetched (URL -> reason). Fetches conditionally;
    the cache keeps what was downloaded, so a change whose rebuild failed is remembered as
    pending (`refresh_sync`), not found again."""
    before = {s.url: _cached_digest(s) for s in web}
    pages, warnings = fetch_sources_sync(web)
    changed = sorted(indexed_urls - {s.url for s in web})  # pages no longer listed
    for page in pages:
        if page.status == "downloaded" and hashlib.sha256(page.body).hexdigest() != before.get(page.url):
            changed.append(page.url)
    failed = {w.path: w.reason for w in warnings}
    return changed, failed


def check_sites(
    sites: Sequence[SiteSource], indexed: _IndexedFiles
) -> tuple[list[str], dict[str, str], dict[str, CrawlResult]]:
    """Crawl each site again (conditional requests: an unchanged page costs a 304) and list its
    pages that are new or whose bytes changed (`crawl.page_state`, as the incremental build
    judges them), the sites that could not be crawled (URL -> reason), and each crawl's result
    by the site's URL, so the rebuild need not crawl again."""
    changed: list[str] = []
    failed: dict[str, str] = {}
    crawled: dict[str, CrawlResult] = {}
    for site in sites:
        try:
            result = crawl_site(site.url, site.options, site.limits)
        except CitebotError as exc:
            failed[site.url] = str(exc)
            continue
        if not result.pages:
            failed[site.url] = f"the site yields no page ({result.problem})"
            continue
        crawled[site.url] = result
        for page in result.pages:
            known = indexed.files.get(page.url)
            if known is None or known[:2] != page_state(page):
                changed.append(page.url)
        # Its indexed pages the crawl no longer finds (the crawl never leaves the start folder).
        found = {page.url for page in result.pages}
        changed.extend(sorted(u for u in indexed.files if is_url(u) and u.startswith(site.url) and u not in found))
    return changed, failed, crawled


def _cached_digest(source: WebSource) -> str | None:
    cached = PageCache(source.options.cache_dir).load(source.url)
    return hashlib.sha256(cached[1]).hexdigest() if cached is not None else None


def check_sources(
    sources: Sequence[CorpusSource],
    db_path: Path,
    params: IndexParams,
    *,
    pages: bool = True,
    skipped: dict[str, tuple[int, int]] | None = None,
) -> SourceCheck:
    """Check every source against the index at `db_path` (see the module docstring). With
    `pages` False the web pages are not fetched (`citebot index --watch` polls files only)."""
    started = time.perf_counter()
    checked_at = time.time()
    folders, web = split_sources(sources)
    indexed = _indexed(db_path)
    stats: dict[str, tuple[int, int]] = {}
    changed, failed = check_files(folders, db_path, params, indexed, skipped, stats)
    crawled: dict[str, CrawlResult] = {}
    if pages and web and indexed is not None:
        single = [w for w in web if isinstance(w, WebSource)]
        sites = [w for w in web if isinstance(w, SiteSource)]
        site_changes, site_failures, crawled = check_sites(sites, indexed)
        # Single pages are the indexed URLs the files table does not hold (it holds crawled pages).
        single_pages = {u for u in indexed.urls if u not in indexed.files}
        page_changes, page_failures = check_pages(single, single_pages)
        changed += page_changes + site_changes
        failed.update(page_failures)
        failed.update(site_failures)
    return SourceCheck(checked_at, tuple(changed), failed, time.perf_counter() - started, stats, crawled)


def refresh_sync(
    sources: Sequence[CorpusSource],
    db_path: Path,
    params: IndexParams,
    finish: Finish | None = None,
    *,
    pages: bool = True,
) -> RefreshResult:
    """Check, and rebuild when something changed (or a failed refresh left changes pending).

    Raises what the rebuild raises (IndexLockedError when another build holds the index,
    EmptyCorpusError, IndexWriteError, ...); the old index then stays in place, and the changes
    are recorded as pending so the next refresh takes them in."""
    previous = load_checks(db_path)
    skipped = previous.skipped if previous else {}
    check = check_sources(sources, db_path, params, pages=pages, skipped=skipped)
    pending = tuple(p for p in (previous.pending if previous else ()) if p not in check.changed)
    skipped = {p: st for p, st in skipped.items() if check.file_stats.get(p) == st}
    if not check.changed and not pending:
        save_checks(db_path, SourceChecks(check.checked_at, check.failed, (), skipped))
        return RefreshResult(check)
    # The sites as this check crawled them: the rebuild reads those pages, not a second crawl.
    sources = [check.crawled.get(s.url, s) if isinstance(s, SiteSource) else s for s in sources]
    try:
        result = rebuild_sync(sources, db_path, params, wait_for_lock=False, finish=finish)
    except BaseException:
        save_checks(db_path, SourceChecks(check.checked_at, check.failed, (*pending, *check.changed), skipped))
        raise
    # The files it skipped, by the stat taken before it read them (an edit since looks changed).
    skipped = {w.path: check.file_stats[w.path] for w in result.warnings if w.path in check.file_stats}
    save_checks(db_path, SourceChecks(check.checked_at, check.failed, (), skipped))
    return RefreshResult(check, result, pending)
