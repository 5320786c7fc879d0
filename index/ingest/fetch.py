"""Fetching web pages for the corpus like a good citizen, and never from the inside network.

A URL source is fetched with aiohttp: a clear User-Agent, a timeout for the whole fetch, a size
cap on the (decompressed) body, a content-type check, and redirects followed by hand, at most
`max_redirects` of them. Every hop is checked before any traffic is sent: only http(s), and no
loopback, private, link-local, multicast, reserved or unspecified address -- IP literals are
checked directly, host names by a resolver that validates every address it returns, and the
connection goes to exactly those addresses, so a DNS answer cannot change between the check
and the connect. `allow_private_addresses` turns the address check off (tests, intranets).

The last good copy of each page is kept in a cache folder (one body and one JSON file of
headers per URL). Its ETag and Last-Modified make the next fetch conditional, so an unchanged
page is not downloaded again (304); and when a fetch fails, the cached copy is used and the
failure is reported as a warning naming the URL. Refusals (scheme, address) never fall back
to a cached copy: what is not allowed now is not indexed.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from ..corpus_warnings import CorpusWarning, WarningKind
from ..run_sync import run_sync

if TYPE_CHECKING:
    from aiohttp.abc import ResolveResult

log = logging.getLogger(__name__)

USER_AGENT = "Citebot/0.1 (+https://citebot.example/bot; indexes pages its operator listed)"
ACCEPTED_TYPES = ("text/html", "application/xhtml+xml", "application/pdf", "application/x-pdf")
REDIRECTS = (301, 302, 303, 307, 308)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Progress = Callable[[int, int, str], None]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(value: object) -> bool:
    """Whether a corpus source names a URL (`scheme://...`) rather than a file or folder."""
    return isinstance(value, str) and bool(_SCHEME.match(value.strip()))


def is_public_address(ip: IPAddress) -> bool:
    """A globally routable unicast address; IPv6 forms that embed an IPv4 address are judged by it."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour:
            embedded.append(ip.sixtofour)
        if ip.teredo:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(not is_public_address(e) for e in embedded):
            return False
        if ip.is_site_local:
            return False
    return (
        not (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_multicast
            or ip.is_reserved
            or ip.is_unspecified
        )
        and ip.is_global
    )


@dataclass(frozen=True)
class FetchOptions:
    """How URL sources are fetched. `address_allowed` replaces the address policy (tests only)."""

    cache_dir: Path | None = None
    allow_private_addresses: bool = False
    max_bytes: int = 5 * 1024 * 1024
    timeout: float = 20.0
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    concurrency: int = 4
    address_allowed: Callable[[IPAddress], bool] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_bytes < 1024:
            raise ValueError("the page size limit must be at least 1 KB")
        if self.timeout <= 0:
            raise ValueError("the fetch timeout must be more than 0 seconds")
        if not 0 <= self.max_redirects <= 20:
            raise ValueError("the redirect limit must be between 0 and 20")

    def allowed(self, ip: IPAddress) -> bool:
        if self.address_allowed is not None:
            return self.address_allowed(ip)
        return self.allow_private_addresses or is_public_address(ip)


@dataclass(frozen=True)
class WebSource:
    """A corpus source that is a URL, with the options to fetch it by."""

    url: str
    options: FetchOptions = FetchOptions()

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class Page:
    """A fetched (or cached) page: where it was asked for, where it ended up, and its bytes."""

    url: str
    final_url: str
    body: bytes
    content_type: str
    fetched_at: str
    status: str  # "downloaded", "not-modified" (304, cached body) or "cached" (fetch failed)


class FetchError(Exception):
    """A fetch that failed; a cached copy may stand in. `status` is the HTTP status when the
    server answered with one that is not a page (a crawl tells a page gone, 404, from a failure)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotAPageError(FetchError):
    """The URL answered with something other than a page or a PDF (an image, an archive)."""


class RefusedError(FetchError):
    """A URL that may not be fetched at all (scheme or address); no cached copy stands in."""


class BlockedAddressError(OSError):
    """Raised inside the resolver so aiohttp never connects to a refused address."""

    def __init__(self, host: str, ip: IPAddress) -> None:
        super().__init__(f"{host} resolves to {ip}, a non-public address")
        self.host = host
        self.ip = ip


def _refusal_hint(options: FetchOptions) -> str:
    return "" if options.allow_private_addresses else " (--allow-private-addresses allows it)"


def check_url(url: str, options: FetchOptions) -> None:
    """Refuse non-http(s) URLs and IP literals the policy does not allow, before any traffic."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise RefusedError(f"only http and https URLs can be fetched, not {parts.scheme or 'no scheme'}")
    host = parts.hostname
    if not host:
        raise RefusedError("the URL has no host")
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name: checked by the resolver, address by address
    if not options.allowed(ip):
        raise RefusedError(f"{ip} is not a public address{_refusal_hint(options)}")


def _guarded_resolver(options: FetchOptions) -> Any:
    from aiohttp.abc import AbstractResolver
    from aiohttp.resolver import ThreadedResolver

    class GuardedResolver(AbstractResolver):
        """Resolves with the system resolver and refuses if any address is not allowed."""

        def __init__(self) -> None:
            self._inner = ThreadedResolver()

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            infos = await self._inner.resolve(host, port, family)
            for info in infos:
                ip = ipaddress.ip_address(str(info["host"]).split("%", 1)[0])
                if not options.allowed(ip):
                    raise BlockedAddressError(host, ip)
            return infos

        async def close(self) -> None:
            await self._inner.close()

    return GuardedResolver()


# ---------------------------------------------------------------------------------------------
# The cache of last good copies


class PageCache:
    """One `<key>.body` and `<key>.json` per URL in a folder; writes are atomic."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _paths(self, url: str) -> tuple[Path, Path] | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{key}.body", self.folder / f"{key}.json"

    def load(self, url: str) -> tuple[dict[str, Any], bytes] | None:
        paths = self._paths(url)
        if paths is None or not paths[1].is_file():
            return None
        try:
            meta = json.loads(paths[1].read_text(encoding="utf-8"))
            body = paths[0].read_bytes()
        except (OSError, ValueError):
            return None
        if meta.get("url") != url or len(body) != meta.get("size"):
            return None
        return meta, body

    def save(self, url: str, meta: dict[str, Any], body: bytes) -> None:
        folder, paths = self.folder, self._paths(url)
        if folder is None or paths is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for path, data in (
                (paths[0], body),
                (paths[1], json.dumps({**meta, "url": url, "size": len(body)}, indent=1).encode("utf-8")),
            ):
                tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot write the web cache in %s: %s", self.folder, exc)


# ---------------------------------------------------------------------------------------------
# Fetching


PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, application/pdf;q=0.8"


async def fetch_page(
    session: Any,
    url: str,
    options: FetchOptions,
    cache: PageCache,
    accepted_types: Sequence[str] | None = ACCEPTED_TYPES,
    accept: str = PAGE_ACCEPT,
) -> Page:
    """Fetch one URL (conditionally when cached). Raises FetchError or RefusedError.

    `accepted_types` are the Content-Types taken (None: any; the crawler reads robots.txt and
    sitemaps this way), `accept` the Accept header sent."""
    import aiohttp

    cached = cache.load(url)
    current = url
    try:
        async with asyncio.timeout(options.timeout):
            for _hop in range(options.max_redirects + 1):
                check_url(current, options)
                headers = {"User-Agent": options.user_agent, "Accept": accept}
                # (the cached copy when it is of this URL: the request revalidates it)
                revalidating = cached if cached is not None and cached[0].get("final_url") == current else None
                if revalidating is not None:
                    meta = revalidating[0]
                    if meta.get("etag"):
                        headers["If-None-Match"] = meta["etag"]
                    if meta.get("last_modified"):
                        headers["If-Modified-Since"] = meta["last_modified"]
                async with session.get(current, headers=headers, allow_redirects=False) as resp:
                    if resp.status in REDIRECTS:
                        location = resp.headers.get("Location")
                        if not location:
                            raise FetchError(f"HTTP {resp.status} redirect without a Location")
                        current = urljoin(str(resp.url), location)
                        continue
                    if resp.status == 304 and revalidating is not None:
                        meta, body = revalidating
                        return Page(
                            url, current, body, meta.get("content_type", ""), meta.get("fetched_at", ""), "not-modified"
                        )
                    if resp.status != 200:
                        raise FetchError(f"HTTP {resp.status}", resp.status)
                    content_type = resp.headers.get("Content-Type", "")
                    if (
                        accepted_types is not None
                        and content_type.split(";", 1)[0].strip().lower() not in accepted_types
                    ):
                        raise NotAPageError(f"not an HTML page or a PDF (Content-Type {content_type or 'missing'})")
                    if resp.content_length is not None and resp.content_length > options.max_bytes:
                        raise FetchError(
                            f"larger than the {options.max_bytes:,}-byte limit ({resp.content_length:,} bytes)"
                        )
                    body = await _read_capped(resp, options.max_bytes)
                    fetched_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    cache.save(
                        url,
                        {
                            "final_url": current,
                            "etag": resp.headers.get("ETag"),
                            "last_modified": resp.headers.get("Last-Modified"),
                            "content_type": content_type,
                            "fetched_at": fetched_at,
                        },
                        body,
                    )
                    return Page(url, current, body, content_type, fetched_at, "downloaded")
            raise FetchError(f"more than {options.max_redirects} redirects")
    except TimeoutError as exc:
        raise FetchError(f"timed out after {options.timeout:g} s") from exc
    except aiohttp.ClientConnectorError as exc:
        cause = exc.os_error if isinstance(exc.os_error, BlockedAddressError) else exc.__cause__
        if isinstance(cause, BlockedAddressError):
            raise RefusedError(f"{cause}{_refusal_hint(options)}") from exc
        raise FetchError(f"cannot connect ({exc.os_error or exc})") from exc
    except aiohttp.ClientError as exc:
        raise FetchError(str(exc) or type(exc).__name__) from exc


def guarded_session(options: FetchOptions, trace_configs: Sequence[Any] = ()) -> Any:
    """An aiohttp session that connects only to addresses `options` allows (the resolver
    checks every address), sends no cookies and ignores proxy variables; for `fetch_page`."""
    import aiohttp

    connector = aiohttp.TCPConnector(
        resolver=_guarded_resolver(options), use_dns_cache=False, limit=options.concurrency
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        trace_configs=list(trace_configs) or None,
    )


async def _read_capped(resp: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise FetchError(f"larger than the {limit:,}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_sources(
    sources: Sequence[WebSource], progress: Progress | None = None
) -> tuple[list[Page], list[CorpusWarning]]:
    """Fetch every source (a few at a time); returns pages in source order and warnings.

    A failed fetch falls back to the cached copy (with a warning); with no cached copy, or
    when the URL is refused, the source is skipped with a warning.
    """
    import aiohttp

    results: list[Page | None] = [None] * len(sources)
    warnings: list[CorpusWarning | None] = [None] * len(sources)
    done = 0
    groups: dict[FetchOptions, list[int]] = {}
    for i, source in enumerate(sources):
        groups.setdefault(source.options, []).append(i)

    async def one(session: Any, i: int, limiter: asyncio.Semaphore) -> None:
        nonlocal done
        source = sources[i]
        cache = PageCache(source.options.cache_dir)
        async with limiter:
            try:
                results[i] = await fetch_page(session, source.url, source.options, cache)
            except RefusedError as exc:
                warnings[i] = CorpusWarning(WarningKind.REFUSED, source.url, f"refused, {exc}")
            except FetchError as exc:
                cached = cache.load(source.url)
                if cached is None:
                    warnings[i] = CorpusWarning(
                        WarningKind.FETCH_FAILED,
                        source.url,
                        f"skipped, fetch failed ({exc}) and there is no earlier copy",
                    )
                else:
                    meta, body = cached
                    results[i] = Page(
                        source.url,
                        meta.get("final_url") or source.url,
                        body,
                        meta.get("content_type", ""),
                        meta.get("fetched_at", ""),
                        "cached",
                    )
                    warnings[i] = CorpusWarning(
                        WarningKind.KEPT_EARLIER_COPY,
                        source.url,
                        f"fetch failed ({exc}); kept the copy fetched {meta.get('fetched_at') or 'earlier'}",
                    )
        done += 1
        if progress:
            progress(done, len(sources), source.url)

    for options, indices in groups.items():
        connector = aiohttp.TCPConnector(
            resolver=_guarded_resolver(options), use_dns_cache=False, limit=options.concurrency
        )
        async with aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
        ) as session:
            limiter = asyncio.Semaphore(options.concurrency)
            await asyncio.gather(*(one(session, i, limiter) for i in indices))
    pages = [p for p in results if p is not None]
    for page in pages:
        log.info("%s: %s", page.url, page.status)
    return pages, [w for w in warnings if w]


def fetch_sources_sync(
    sources: Sequence[WebSource], progress: Progress | None = None
) -> tuple[list[Page], list[CorpusWarning]]:
    """The same from synchronous code; runs its own event loop (in a new thread if one is running here)."""
    if not sources:
        return [], []
    return run_sync(lambda: fetch_sources(sources, progress), "citebot-fetch")
