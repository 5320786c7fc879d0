"""Crawling a whole site for the corpus: its sitemaps first, else its links, politely.

`crawl_site(url, options, limits, cache)` is the one entry point (the indexer calls it for each
`corpus.sites` entry and `citebot index URL --crawl`; a refresh can call it to re-check a site).
It returns a `CrawlResult`: the pages in a stable order, the warnings, and counts.

How pages are found. The site's `robots.txt` is read first (`urllib.robotparser`, matched
against our User-Agent) and obeyed: disallowed URLs are never requested, its `Crawl-delay` (or
`Request-rate`) spaces the requests, and its `Sitemap:` lines name the sitemaps (else
`/sitemap.xml`). Sitemaps, sitemap indexes and gzipped sitemaps are read (`sitemaps.py`) and
their in-scope URLs are the pages. Only when there are none are links followed, breadth-first
from the start URL, at most `limits.max_depth` links away; either way at most
`limits.max_pages` pages are requested. A robots.txt that answers 4xx allows everything (RFC
9309); one that cannot be fetched at all (5xx, no connection) forbids everything unless an
earlier copy is cached.

The site ("scope") is the start URL's scheme, host and port, and its folder: crawling
`https://example.org/docs/` never leaves `/docs/`. Each page goes through `fetch.fetch_page`,
so the SSRF rules, size, timeout and redirect limits and the ETag/Last-Modified cache are those
of single URLs: a second crawl asks conditionally and gets 304 for unchanged pages. At most
`limits.per_host` requests run at a time. A page that cannot be fetched is a warning (its
cached copy is kept, except for a 404/410: the page is gone); a URL that is no page (an image,
an archive) is counted, not indexed. Duplicates are kept once: a URL that redirects to a page
already found, a page whose `<link rel=canonical>` names one already found, the same bytes
under two URLs, and pages marked `<meta name=robots content=noindex>` are left out
(`nofollow` stops their links being followed).

Pages are returned in discovery order (sitemap order, or breadth-first level by level, each
level in the order its links were found), never in the order fetches finished, so two crawls
of an unchanged site give the same corpus.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import posixpath
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from ..corpus_warnings import CorpusWarning, WarningKind
from ..errors import EmptyCorpusError
from ..run_sync import run_sync
from .fetch import (
    ACCEPTED_TYPES,
    PAGE_ACCEPT,
    FetchError,
    FetchOptions,
    NotAPageError,
    Page,
    PageCache,
    RefusedError,
    check_url,
    fetch_page,
    guarded_session,
)
from .sitemaps import SITEMAP_ACCEPT, SitemapError, read_sitemap

log = logging.getLogger(__name__)

# Links to files of these kinds are never requested: they are no pages (a PDF is: it is read).
NOT_PAGE_SUFFIXES = frozenset(
    (
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".bmp",
        ".tif",
        ".tiff",
        ".avif",
        ".css",
        ".js",
        ".mjs",
        ".json",
        ".xml",
        ".rss",
        ".atom",
        ".txt",
        ".csv",
        ".map",
        ".zip",
        ".gz",
        ".tgz",
        ".tar",
        ".bz2",
        ".xz",
        ".7z",
        ".rar",
        ".whl",
        ".jar",
        ".mp3",
        ".mp4",
        ".m4a",
        ".ogg",
        ".wav",
        ".webm",
        ".avi",
        ".mov",
        ".mkv",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".exe",
        ".dmg",
        ".iso",
        ".apk",
        ".deb",
        ".rpm",
        ".doc",
        ".docx",
        ".xls",
        ".xlsx",
        ".ppt",
        ".pptx",
        ".odt",
        ".ods",
        ".epub",
    )
)
# How deep sitemap indexes may nest, and how many sitemaps one site may make us read.
MAX_SITEMAP_LEVELS = 3
MAX_SITEMAPS = 100
ROBOTS_ACCEPT = "text/plain, */*;q=0.5"
# urllib.robotparser reads only whole seconds of Crawl-delay ("0.5" is dropped): the values are
# handed to it in milliseconds instead.
_CRAWL_DELAY = re.compile(r"^(\s*crawl-delay\s*:\s*)(\d*\.?\d+)\s*(#.*)?$", re.I | re.M)


@dataclass(frozen=True)
class CrawlLimits:
    """How far a crawl may go: `corpus.crawl_max_pages`, `corpus.crawl_depth`, and the
    requests at a time to the site (at most 2, out of politeness)."""

    max_pages: int = 500
    max_depth: int = 10
    per_host: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_pages <= 100_000:
            raise ValueError(f"corpus.crawl_max_pages must be between 1 and 100000, got {self.max_pages}")
        if not 0 <= self.max_depth <= 100:
            raise ValueError(f"corpus.crawl_depth must be between 0 and 100, got {self.max_depth}")
        if not 1 <= self.per_host <= 2:
            raise ValueError(f"at most 2 requests at a time per host, got {self.per_host}")


@dataclass(frozen=True)
class SiteSource:
    """A corpus source that is a whole site: crawled from `url` (`corpus.sites`, `--crawl`)."""

    url: str
    options: FetchOptions = FetchOptions()
    limits: CrawlLimits = CrawlLimits()

    def __str__(self) -> str:
        return self.url


@dataclass
class CrawlStats:
    """What a crawl did, for its progress line and summary."""

    found: int = 0  # distinct page URLs of the site discovered (sitemaps or links)
    fetched: int = 0  # pages downloaded (200)
    unchanged: int = 0  # pages the server said are unchanged since the cached copy (304)
    failed: int = 0  # pages that could not be fetched (each a warning)
    robots: int = 0  # pages robots.txt (or the page's own robots meta tag) keeps out
    not_pages: int = 0  # URLs that answered with something other than a page
    duplicates: int = 0  # pages that repeat another one (redirect, canonical URL, same bytes)
    not_fetched: int = 0  # pages found beyond limits.max_pages
    requests: int = 0  # HTTP requests sent (robots.txt, sitemaps, pages and every redirect)
    seconds: float = 0.0
    discovery: str = "links"  # "sitemap" when the pages came from sitemaps

    def line(self) -> str:
        """One line for a person: `48 found (sitemap), 45 fetched, 2 unchanged, 1 failed, ...`."""
        parts = [
            f"{self.found} found ({self.discovery})",
            f"{self.fetched} fetched",
            f"{self.unchanged} unchanged",
            f"{self.failed} failed",
        ]
        for count, words in (
            (self.robots, "skipped by robots"),
            (self.duplicates, "duplicates"),
            (self.not_pages, "not a page" if self.not_pages == 1 else "not pages"),
            (self.not_fetched, "over the page limit"),
        ):
            if count:
                parts.append(f"{count} {words}")
        return ", ".join(parts) + f"; {self.requests} requests in {self.seconds:.2f} s"


CrawlProgress = Callable[[str, CrawlStats], None]
"""Called as progress(site url, stats so far) whenever a count changes."""


@dataclass(frozen=True)
class CrawlResult:
    """A crawled site: its pages (discovery order), warnings, counts, and why it yielded no
    page when it did not (`problem`, one line)."""

    url: str
    pages: tuple[Page, ...]
    warnings: tuple[CorpusWarning, ...]
    stats: CrawlStats
    problem: str | None = None

    def __str__(self) -> str:
        return self.url


class EmptySiteError(EmptyCorpusError):
    """A site gave no page to index; the message says why in one line."""


# ---------------------------------------------------------------------------------------------
# URLs and the site's scope


def normalise_url(url: str) -> str | None:
    """The form URLs are compared in: no fragment, lower-case scheme and host, no default
    port, "/" for an empty path; None for anything that is not http(s)."""
    url, _ = urldefrag(url.strip())
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != (80 if scheme == "http" else 443):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


@dataclass(frozen=True)
class Scope:
    """The site a crawl stays in: the start URL's origin and folder."""

    origin: str  # scheme://host[:port]
    folder: str  # a path ending in "/"

    @classmethod
    def of(cls, start: str) -> Scope:
        parts = urlsplit(start)
        path = parts.path or "/"
        folder = path if path.endswith("/") else posixpath.dirname(path).rstrip("/") + "/"
        return cls(f"{parts.scheme}://{parts.netloc}", folder)

    def contains(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin and (parts.path or "/").startswith(self.folder)

    def same_host(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin


def _looks_like_a_file(url: str) -> bool:
    return posixpath.splitext(urlsplit(url).path)[1].lower() in NOT_PAGE_SUFFIXES


def page_state(page: Page) -> tuple[int, int]:
    """What identifies a fetched page's bytes, in the index's `files` table columns (size,
    mtime_ns): its length and the first 60 bits of its sha256. An incremental reindex keeps a
    page's stored analysis when its state is unchanged."""
    return len(page.body), int(hashlib.sha256(page.body).hexdigest()[:15], 16)


# ---------------------------------------------------------------------------------------------
# Reading pages for links


@dataclass(frozen=True)
class _PageLinks:
    links: tuple[str, ...]
    canonical: str | None
    noindex: bool
    nofollow: bool


def read_links(page: Page) -> _PageLinks:
    """The links of an HTML page (resolved against its `<base>` and final URL), its canonical
    URL and what its robots meta tag says. A PDF or an unparsable page has none."""
    from .html import html_text
    from .pdf import is_pdf

    if is_pdf(page.content_type) or not page.body.strip():
        return _PageLinks((), None, False, False)
    import lxml.html
    from lxml.etree import ParserError

    try:
        tree = lxml.html.document_fromstring(html_text(page.body, page.content_type)[0])
    except (ParserError, ValueError):
        return _PageLinks((), None, False, False)
    base = page.final_url
    for href in tree.xpath("//base/@href")[:1]:
        base = urljoin(base, str(href).strip())
    directives = (
        ",".join(
            str(c)
            for c in tree.xpath(
                "//meta[translate(@name, 'ROBTS', 'robts')='robots'"
                " or translate(@name, 'CITEBOT', 'citebot')='citebot']/@content"
            )
        )
        .lower()
        .replace(" ", "")
    )
    words = set(directives.split(","))
    canonical = None
    for el in tree.xpath("//link[@href]"):
        if "canonical" in (el.get("rel") or "").lower().split():
            canonical = normalise_url(urljoin(base, el.get("href").strip()))
            break
    links: dict[str, None] = {}
    for href in tree.xpath("//a/@href | //area/@href"):
        found = normalise_url(urljoin(base, str(href).strip()))
        if found:
            links.setdefault(found, None)
    return _PageLinks(
        tuple(links), canonical, "noindex" in words or "none" in words, "nofollow" in words or "none" in words
    )


# ---------------------------------------------------------------------------------------------
# The crawl


class _Pacer:
    """Spaces the starts of requests by the site's Crawl-delay (an aiohttp trace hook, so
    redirects are spaced too) and counts them."""

    def __init__(self, stats: CrawlStats) -> None:
        self.delay = 0.0
        self.stats = stats
        self._lock = asyncio.Lock()
        self._last = float("-inf")

    async def on_request_start(self, _session: Any, _ctx: Any, _params: Any) -> None:
        async with self._lock:
            wait = self._last + self.delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last = time.monotonic()
            self.stats.requests += 1

    def trace(self) -> Any:
        import aiohttp

        config = aiohttp.TraceConfig()
        config.on_request_start.append(self.on_request_start)
        return config


@dataclass
class _Fetched:
    """One page URL's outcome: the page to keep (or None) and the links to follow."""

    page: Page | None = None
    links: tuple[str, ...] = ()


@dataclass
class _Crawl:
    start: str
    options: FetchOptions
    limits: CrawlLimits
    cache: PageCache
    progress: CrawlProgress | None
    session: Any = None
    pacer: _Pacer | None = None
    stats: CrawlStats = field(default_factory=CrawlStats)
    warnings: list[CorpusWarning] = field(default_factory=list)
    robots: RobotFileParser | None = None
    queued: set[str] = field(default_factory=set)
    keys: dict[str, str] = field(default_factory=dict)  # final or canonical URL, body hash -> first page URL
    requested: int = 0  # page URLs requested so far (at most limits.max_pages)

    def __post_init__(self) -> None:
        self.scope = Scope.of(self.start)
        self.limiter = asyncio.Semaphore(self.limits.per_host)

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.start, self.stats)

    def allowed(self, url: str) -> bool:
        return self.robots is None or self.robots.can_fetch(self.options.user_agent, url)

    async def get(self, url: str, accepted: Sequence[str] | None, accept: str) -> Page:
        async with self.limiter:
            return await fetch_page(self.session, url, self.options, self.cache, accepted, accept)

    def cached(self, url: str) -> Page | None:
        found = self.cache.load(url)
        if found is None:
            return None
        meta, body = found
        return Page(
            url, meta.get("final_url") or url, body, meta.get("content_type", ""), meta.get("fetched_at", ""), "cached"
        )

    def kept_copy(self, url: str, exc: FetchError) -> Page | None:
        """The cached copy of `url` after a failed fetch, with a warning either way."""
        page = self.cached(url)
        if page is None:
            self.warnings.append(
                CorpusWarning(
                    WarningKind.FETCH_FAILED, url, f"skipped, fetch failed ({exc}) and there is no earlier copy"
                )
            )
        else:
            self.warnings.append(
                CorpusWarning(
                    WarningKind.KEPT_EARLIER_COPY,
                    url,
                    f"fetch failed ({exc}); kept the copy fetched {page.fetched_at or 'earlier'}",
                )
            )
        return page

    # -- robots.txt and sitemaps ------------------------------------------------------------

    async def read_robots(self) -> str | None:
        """Read robots.txt; returns why nothing may be crawled, or None."""
        url = f"{self.scope.origin}/robots.txt"
        try:
            page = await self.get(url, None, ROBOTS_ACCEPT)
        except RefusedError as exc:
            return f"refused, {exc}"
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return None  # no robots.txt: everything is allowed
            kept = self.kept_copy(url, exc)
            if kept is None:
                self.warnings.pop()  # the one-line error says it instead
                return f"robots.txt could not be fetched ({exc}), so no page may be crawled"
            page = kept
        text = page.body.decode("utf-8-sig", "replace")
        text = _CRAWL_DELAY.sub(lambda m: f"{m.group(1)}{round(float(m.group(2)) * 1000)}", text)
        robots = RobotFileParser(url)
        robots.parse(text.splitlines())
        self.robots = robots
        agent = self.options.user_agent
        delay = robots.crawl_delay(agent)  # in milliseconds (above)
        rate = robots.request_rate(agent)
        seconds = (
            float(delay) / 1000
            if delay is not None
            else (rate.seconds / rate.requests if rate and rate.requests else 0)
        )
        if self.pacer is not None:
            self.pacer.delay = max(0.0, seconds)
        if seconds > 0:
            log.info("%s: robots.txt asks for %.3g s between requests", self.start, seconds)
        return None

    async def sitemap_pages(self) -> list[str]:
        """The page URLs the site's sitemaps list (in scope, in order, each once)."""
        listed = (self.robots.site_maps() if self.robots is not None else None) or []
        default = f"{self.scope.origin}/sitemap.xml"
        queue = [(url, 0, True) for url in listed] or [(default, 0, False)]
        seen: set[str] = set()
        pages: dict[str, None] = {}
        while queue and len(seen) < MAX_SITEMAPS:
            url, level, named = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if not self.scope.same_host(url):
                self.warnings.append(
                    CorpusWarning(WarningKind.OFF_SITE, url, "skipped, a sitemap on another host than the site")
                )
                continue
            if not self.allowed(url):
                continue
            try:
                page = await self.get(url, None, SITEMAP_ACCEPT)
            except RefusedError as exc:
                self.warnings.append(CorpusWarning(WarningKind.REFUSED, url, f"refused, {exc}"))
                continue
            except FetchError as exc:
                if not named and exc.status in (404, 410):
                    continue  # the site has no /sitemap.xml: its links are followed instead
                kept = self.kept_copy(url, exc)
                if kept is None:
                    continue
                page = kept
            try:
                sitemap = read_sitemap(page.body, page.final_url)
            except SitemapError as exc:
                if named:
                    self.warnings.append(CorpusWarning(WarningKind.NO_SITEMAP, url, f"skipped, {exc}"))
                continue
            for loc in sitemap.locations:
                if sitemap.is_index:
                    if level + 1 < MAX_SITEMAP_LEVELS:
                        queue.append((loc, level + 1, True))
                    continue
                found = normalise_url(loc)
                if found and self.scope.contains(found):
                    pages.setdefault(found, None)
        return list(pages)

    # -- pages ------------------------------------------------------------------------------

    def admit(self, urls: Sequence[str]) -> list[str]:
        """The URLs of `urls` to request: in scope, new, no file by their name, allowed by
        robots.txt (the rest are counted)."""
        admitted = []
        for url in urls:
            if url in self.queued or not self.scope.contains(url) or _looks_like_a_file(url):
                continue
            self.queued.add(url)
            self.stats.found += 1
            if not self.allowed(url):
                self.stats.robots += 1
                continue
            admitted.append(url)
        self.report()
        return admitted

    async def fetch(self, url: str) -> _Fetched:
        try:
            page = await self.get(url, ACCEPTED_TYPES, PAGE_ACCEPT)
        except NotAPageError:
            self.stats.not_pages += 1
            log.info("%s: not a page, not indexed", url)
            return _Fetched()
        except RefusedError as exc:
            self.stats.failed += 1
            self.warnings.append(CorpusWarning(WarningKind.REFUSED, url, f"refused, {exc}"))
            return _Fetched()
        except FetchError as exc:
            self.stats.failed += 1
            if exc.status in (404, 410):  # gone: an earlier copy must not stand in
                self.warnings.append(CorpusWarning(WarningKind.FETCH_FAILED, url, f"skipped, fetch failed ({exc})"))
                return _Fetched()
            cached = self.kept_copy(url, exc)
            return self.keep(url, cached, counted=True) if cached is not None else _Fetched()
        finally:
            self.report()
        return self.keep(url, page)

    def keep(self, url: str, page: Page, counted: bool = False) -> _Fetched:
        """Whether a fetched page joins the corpus (not off the site, not a duplicate, not
        noindex), and the links to follow from it. `counted`: a cached copy standing in for a
        failed fetch, already counted as failed."""
        final = normalise_url(page.final_url) or page.final_url
        if final != url and not self.scope.contains(final):
            self.stats.failed += 0 if counted else 1
            self.warnings.append(
                CorpusWarning(
                    WarningKind.OFF_SITE, url, f"skipped, redirected to {page.final_url}, outside {self.start}"
                )
            )
            return _Fetched()
        if final != url and not self.allowed(final):
            self.stats.robots += 1
            return _Fetched()
        self.queued.add(final)  # a link to where it redirected is not requested again
        if page.status == "not-modified":
            self.stats.unchanged += 1
        elif page.status == "downloaded":
            self.stats.fetched += 1
        found = read_links(page)
        links = () if found.nofollow else found.links
        digest = "sha256:" + hashlib.sha256(page.body).hexdigest()
        keys = [final, digest] + ([found.canonical] if found.canonical and self.scope.contains(found.canonical) else [])
        first = next((self.keys[k] for k in keys if k in self.keys), None)
        if first is not None:
            self.stats.duplicates += 1
            log.info("%s: the same page as %s, kept once", url, first)
            return _Fetched(None, links)
        for k in keys:
            self.keys.setdefault(k, url)
        if found.noindex:
            self.stats.robots += 1
            return _Fetched(None, links)
        return _Fetched(page, links)

    async def fetch_all(self, urls: Sequence[str]) -> list[_Fetched]:
        """Fetch `urls` (as many as the page limit leaves), outcomes in the order given."""
        budget = max(self.limits.max_pages - self.requested, 0)
        taken = list(urls[:budget])
        self.stats.not_fetched += len(urls) - len(taken)
        self.requested += len(taken)
        return list(await asyncio.gather(*(self.fetch(u) for u in taken)))

    async def run(self) -> tuple[list[Page], str | None]:
        try:
            check_url(self.start, self.options)
        except RefusedError as exc:
            return [], f"refused, {exc}"
        problem = await self.read_robots()
        if problem:
            return [], problem
        pages: list[Page] = []
        listed = await self.sitemap_pages()
        if listed:
            self.stats.discovery = "sitemap"
            # The start URL first: the user named it, whether or not the sitemap does.
            for outcome in await self.fetch_all(self.admit([self.start, *listed])):
                if outcome.page is not None:
                    pages.append(outcome.page)
        else:
            level = self.admit([self.start])
            depth = 0
            while level:
                next_links: list[str] = []
                for outcome in await self.fetch_all(level):
                    if outcome.page is not None:
                        pages.append(outcome.page)
                    next_links.extend(outcome.links)
                depth += 1
                if depth > self.limits.max_depth:
                    break
                level = self.admit(next_links)
        if self.stats.not_fetched:
            self.warnings.append(
                CorpusWarning(
                    WarningKind.CRAWL_LIMIT,
                    self.start,
                    f"stopped at corpus.crawl_max_pages = {self.limits.max_pages}; "
                    f"{self.stats.not_fetched} more pages found were not fetched",
                )
            )
        if not pages:
            return [], self.why_empty()
        return pages, None

    def why_empty(self) -> str:
        if self.start in self.queued and not self.allowed(self.start):
            return "robots.txt disallows it"
        start = next((w for w in self.warnings if w.path == self.start), None)
        if start is not None:
            return f"its start page {start.reason.removeprefix('skipped, ')}"
        return (
            f"no page found could be indexed ({self.stats.found} found, {self.stats.failed} failed, "
            f"{self.stats.robots} skipped by robots, {self.stats.not_pages} not pages)"
        )


async def crawl_site_async(
    url: str,
    options: FetchOptions = FetchOptions(),
    limits: CrawlLimits = CrawlLimits(),
    cache: PageCache | None = None,
    progress: CrawlProgress | None = None,
) -> CrawlResult:
    """Crawl the site at `url` (see the module docstring). Never raises for a page or a site
    that fails: the result's `warnings` and `problem` say what went wrong."""
    started = time.perf_counter()
    start = normalise_url(url)
    if start is None:
        return CrawlResult(url, (), (), CrawlStats(), "only http(s) URLs can be crawled")
    crawl = _Crawl(start, options, limits, cache if cache is not None else PageCache(options.cache_dir), progress)
    crawl.pacer = _Pacer(crawl.stats)
    async with guarded_session(options, [crawl.pacer.trace()]) as session:
        crawl.session = session
        pages, problem = await crawl.run()
    crawl.stats.seconds = time.perf_counter() - started
    crawl.report()
    log.info("crawled %s: %s", start, crawl.stats.line())
    return CrawlResult(start, tuple(pages), tuple(crawl.warnings), crawl.stats, problem)


def crawl_site(
    url: str,
    options: FetchOptions = FetchOptions(),
    limits: CrawlLimits = CrawlLimits(),
    cache: PageCache | None = None,
    progress: CrawlProgress | None = None,
) -> CrawlResult:
    """`crawl_site_async` from synchronous code (in a thread of its own when an event loop
    runs in this one). `cache` defaults to the one in `options.cache_dir`."""
    return run_sync(lambda: crawl_site_async(url, options, limits, cache, progress), "citebot-crawl")


def crawl_sources(sources: Sequence[Any], progress: CrawlProgress | None = None) -> list[Any]:
    """`sources` with every SiteSource crawled into its CrawlResult (other sources as they
    are). Raises EmptySiteError, with the crawl's warnings, for a site that yields no page."""
    out: list[Any] = []
    for source in sources:
        if isinstance(source, SiteSource):
            result = crawl_site(source.url, source.options, source.limits, progress=progress)
            if not result.pages:
                raise EmptySiteError(
                    f"{source.url}: the site yields no page to index ({result.problem})", list(result.warnings)
                )
            source = result
        out.append(source)
    return out
