"""Reading sitemaps (index/sitemaps.py): urlsets, indexes, gzip, the text format, and bytes
that are no sitemap. Pure functions on bytes: no server."""

from __future__ import annotations

import gzip

import pytest

from citebot.index.ingest.sitemaps import MAX_SITEMAP_BYTES, SitemapError, gunzip_capped, read_sitemap

BASE = "https://docs.example.org/sitemap.xml"


def test_urlset_locations_in_order_each_once_entities_and_cdata_decoded():
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc> https://docs.example.org/b?x=1&amp;y=2 </loc><lastmod>2025-01-01</lastmod></url>
      <url><loc><![CDATA[https://docs.example.org/a?q=<1>]]></loc></url>
      <url><loc>https://docs.example.org/b?x=1&amp;y=2</loc></url>
      <url><loc>/relative/page</loc></url>
      <url><loc>ftp://docs.example.org/file</loc></url>
      <url><loc></loc></url>
    </urlset>"""
    sitemap = read_sitemap(data, BASE)
    assert not sitemap.is_index
    assert sitemap.locations == (
        "https://docs.example.org/b?x=1&y=2",
        "https://docs.example.org/a?q=<1>",
        "https://docs.example.org/relative/page",
    )


def test_sitemap_index_with_a_namespace_prefix():
    data = (
        b"<sm:sitemapindex xmlns:sm='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        b"<sm:sitemap><sm:loc>https://docs.example.org/s1.xml.gz</sm:loc></sm:sitemap>"
        b"<sm:sitemap><sm:loc>https://docs.example.org/s2.xml</sm:loc></sm:sitemap></sm:sitemapindex>"
    )
    sitemap = read_sitemap(data, BASE)
    assert sitemap.is_index and sitemap.locations == (
        "https://docs.example.org/s1.xml.gz",
        "https://docs.example.org/s2.xml",
    )


def test_gzipped_sitemap_is_inflated():
    xml = (
        b"<urlset>"
        + b"".join(b"<url><loc>https://docs.example.org/p%d</loc></url>" % i for i in range(3))
        + b"</urlset>"
    )
    sitemap = read_sitemap(gzip.compress(xml), BASE)
    assert sitemap.locations == tuple(f"https://docs.example.org/p{i}" for i in range(3))


def test_text_sitemap_one_url_per_line():
    data = "\ufeffhttps://docs.example.org/one\n\n  https://docs.example.org/two  \nnot a url\n".encode()
    assert read_sitemap(data, BASE).locations == ("https://docs.example.org/one", "https://docs.example.org/two")


@pytest.mark.parametrize("data", [b"<html><body>Not found</body></html>", b"nothing here", b"\x1f\x8bbroken"])
def test_what_is_no_sitemap_is_refused(data):
    with pytest.raises(SitemapError):
        read_sitemap(data, BASE)


def test_a_gzip_bomb_stays_small():
    bomb = gzip.compress(b"<urlset>" + b" " * (4 * 1024 * 1024))
    with pytest.raises(SitemapError, match="inflates beyond"):
        gunzip_capped(bomb, 1024 * 1024)
    assert len(gunzip_capped(bomb, MAX_SITEMAP_BYTES)) == 8 + 4 * 1024 * 1024


def test_unclosed_locations_are_scanned_in_linear_time():
    data = b"<urlset>" + b"<loc>https://docs.example.org/x " * 50_000 + b"</urlset>"
    assert read_sitemap(data, BASE).locations == ()
