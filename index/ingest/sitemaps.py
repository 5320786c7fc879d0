"""Reading a site's sitemaps: the pages a site says it has, without crawling its links.

A sitemap (sitemaps.org) is an XML `<urlset>` of `<url><loc>` entries, or a `<sitemapindex>`
of `<sitemap><loc>` entries naming further sitemaps; either may be gzipped (a `.xml.gz` file:
served as `application/gzip`, its bytes are a gzip stream; served with `Content-Encoding:
gzip`, aiohttp has already undone it). The protocol also allows a plain text file of one URL
per line. Where the sitemaps are listed is the crawler's business (`crawl.py`); this module
only turns the bytes of one sitemap into locations.

The `<loc>` elements are found by a linear scan, not an XML parser: sitemaps in the wild are
often not well-formed (a stray `&`, a missing namespace), and a scan cannot be made to expand
entities. A gzip stream is inflated only up to the protocol's 50 MB, so a small bomb stays small.
"""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

# The protocol's limit for one sitemap, uncompressed; anything beyond it is not read.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
# The Content-Types a sitemap is served as (checked only for how to read it, never to refuse it).
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, application/gzip;q=0.8, text/plain;q=0.5, */*;q=0.1"

# A location's text runs to the next "<" (or is one CDATA section), so each attempt stops at the
# next tag: the scan stays linear even over a file of unclosed <loc> elements.
_LOC = re.compile(rb"<(?:[\w.-]+:)?loc\b[^>]*>(<!\[CDATA\[[^\]]*\]\]>|[^<]*)</(?:[\w.-]+:)?loc\s*>", re.I)
_INDEX = re.compile(rb"<(?:[\w.-]+:)?sitemapindex\b", re.I)
_URLSET = re.compile(rb"<(?:[\w.-]+:)?urlset\b", re.I)
_CDATA = re.compile(r"^<!\[CDATA\[(.*)\]\]>$", re.S)
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(ValueError):
    """Bytes that are no sitemap (an HTML error page, a damaged gzip stream)."""


@dataclass(frozen=True)
class Sitemap:
    """One sitemap's entries: page URLs (`is_index` False) or further sitemaps (True)."""

    is_index: bool
    locations: tuple[str, ...]


def read_sitemap(data: bytes, url: str) -> Sitemap:
    """The entries of the sitemap `data` fetched from `url` (relative locations are resolved
    against it; only http(s) locations are kept, in the order listed, each once)."""
    if data[:2] == _GZIP_MAGIC:
        data = gunzip_capped(data, MAX_SITEMAP_BYTES)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if _INDEX.search(data):
            is_index = True
        elif _URLSET.search(data):
            is_index = False
        else:
            raise SitemapError("not a sitemap (no <urlset> or <sitemapindex>)")
        raw = [_loc_text(m.group(1)) for m in _LOC.finditer(data)]
    else:  # the protocol's text format: one URL per line
        raw = [line.strip() for line in data.decode("utf-8-sig", "replace").splitlines()]
        raw = [line for line in raw if line.lower().startswith(("http://", "https://"))]
        if not raw:
            raise SitemapError("not a sitemap (no XML and no URL lines)")
        is_index = False
    seen: dict[str, None] = {}
    for loc in raw:
        absolute = urljoin(url, loc)
        if loc and urlsplit(absolute).scheme.lower() in ("http", "https"):
            seen.setdefault(absolute, None)
    return Sitemap(is_index, tuple(seen))


def _loc_text(raw: bytes) -> str:
    """A `<loc>`'s text: CDATA unwrapped, XML entities (`&amp;`) decoded, spaces trimmed."""
    text = raw.decode("utf-8", "replace").strip()
    cdata = _CDATA.match(text)
    return cdata.group(1).strip() if cdata else html.unescape(text)


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Inflate a gzip stream, refusing one that inflates beyond `limit` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SitemapError(f"a damaged gzip stream ({exc})") from exc
    if len(out) > limit:
        raise SitemapError(f"inflates beyond the sitemap limit of {limit:,} bytes")
    return out
