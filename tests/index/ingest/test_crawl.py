"""Crawling whole sites (index/crawl.py) against a loopback site of ~50 pages
(tests/support/loopback_site.py) on 127.0.0.1: sitemap indexes and gzipped sitemaps, link-following
where there are none, robots.txt, redirects, a 404, a link loop, a file that is no page,
duplicates, limits, and a second crawl that asks conditionally and re-analyses only the page
that changed. As in test_fetch.py, the loopback server is reached by turning the address
check off (`allow_private_addresses=True`); a crawl without it is refused before any traffic."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.corpus_warnings import WarningKind
from citebot.index.ingest.crawl import (
    CrawlLimits,
    EmptySiteError,
    SiteSource,
    crawl_site,
    crawl_sources,
    normalise_url,
)
from citebot.index.ingest.fetch import USER_AGENT, FetchOptions
from tests.support.helpers import built_passages
from tests.support.loopback_site import GUIDE_PAGES, PRIVATE_PAGES, LoopbackSite, guide_path
from tests.support.web_server import PageServer

SIMPLE = (
    "<html><head><title>{title}</title>{head}</head><body><article><p>This page about {title} holds one "
    "paragraph of real text, long enough to count as a paragraph of an article.</p>{links}</article>"
    "</body></html>"
)


def simple(title: str, links: tuple[str, ...] = (), head: str = "") -> str:
    return SIMPLE.format(title=title, head=head, links="".join(f'<a href="{h}">{h}</a>' for h in links))


@pytest.fixture
def options(tmp_path: Path) -> FetchOptions:
    return FetchOptions(cache_dir=tmp_path / "web-cache", allow_private_addresses=True, timeout=5)


def page_paths(server: PageServer, *, exclude: tuple[str, ...] = ("/robots.txt",)) -> list[str]:
    return [r.path for r in server.requests if r.path not in exclude]


# ---------------------------------------------------------------------------------------------
# Discovery


@pytest.mark.parametrize("with_sitemaps", [True, False], ids=["sitemaps", "links"])
def test_crawl_keeps_each_page_once_and_obeys_robots(server, options, with_sitemaps):
    site = LoopbackSite(server, with_sitemaps=with_sitemaps)
    result = crawl_site(site.root, options)
    assert result.problem is None
    assert [p.url for p in result.pages][0] == site.root
    assert {p.url for p in result.pages} == site.indexable
    assert len(result.pages) == len(site.indexable) == GUIDE_PAGES + 3
    stats = result.stats
    assert stats.discovery == ("sitemap" if with_sitemaps else "links")
    # Found: home, 40 guides, 3 private, old-name, moved, missing, export, ?ref=nav, print copy, changing.
    assert stats.found == GUIDE_PAGES + PRIVATE_PAGES + 8
    assert (stats.robots, stats.duplicates, stats.not_pages, stats.failed) == (PRIVATE_PAGES, 3, 1, 1)
    assert stats.fetched == len(site.indexable) + stats.duplicates and stats.unchanged == 0
    # robots.txt first; the disallowed folder, the folder outside, the image and the other host never.
    assert server.requests[0].path == "/robots.txt"
    seen = [r.path for r in server.requests]
    assert not [p for p in seen if p.startswith(("/docs/private/", "/blog/")) or p.endswith(".png")]
    assert all(r.headers["User-Agent"] == USER_AGENT for r in server.requests)
    # The link loop (a ring of guide pages, every page linking home) requests each URL once; only
    # guide page 5 twice, once by itself and once as where /docs/old-name redirects.
    assert len(seen) == stats.requests
    assert Counter(seen) - Counter(set(seen)) == Counter([guide_path(5)])
    if with_sitemaps:
        assert {"/sitemap-index.xml", "/sitemaps/guide.xml.gz", "/sitemaps/more.xml"} <= set(seen)
    else:
        assert "/sitemap.xml" in seen
    # One warning: the 404, which no earlier copy may stand in for.
    assert [(w.kind, w.path) for w in result.warnings] == [(WarningKind.FETCH_FAILED, server.url("/docs/missing"))]
    # Redirects: the page reached through /docs/moved cites where it ended up.
    moved = next(p for p in result.pages if p.url == server.url("/docs/moved"))
    assert moved.final_url == server.url("/docs/new-home")


def test_pages_come_in_discovery_order_not_fetch_order(server, options):
    site = LoopbackSite(server, with_sitemaps=False)
    server.routes[guide_path(1)].delay = 0.3  # finishes last, still listed first of the guides
    urls = [p.url for p in crawl_site(site.root, options).pages]
    assert urls[:3] == [site.root, server.url(guide_path(1)), server.url(guide_path(2))]


def test_depth_and_page_limits(server, options):
    site = LoopbackSite(server, with_sitemaps=False)
    server.page("/docs/guide/deep", simple("Deep Page"))
    server.routes[guide_path(40)].body += b'<a href="/docs/guide/deep">deep</a>'
    shallow = crawl_site(site.root, options, CrawlLimits(max_depth=1))
    assert server.url("/docs/guide/deep") not in {p.url for p in shallow.pages}
    assert len(shallow.pages) == len(site.indexable)  # everything else is one link from home
    deep = crawl_site(site.root, options, CrawlLimits(max_depth=2))
    assert server.url("/docs/guide/deep") in {p.url for p in deep.pages}

    server.requests.clear()
    limited = crawl_site(site.root, options, CrawlLimits(max_pages=10))
    assert len(page_paths(server, exclude=("/robots.txt", "/sitemap.xml"))) == 10 and len(limited.pages) == 10
    (warning,) = [w for w in limited.warnings if w.kind is WarningKind.CRAWL_LIMIT]
    assert warning.path == site.root and "corpus.crawl_max_pages = 10" in warning.reason

    only_start = crawl_site(site.root, options, CrawlLimits(max_depth=0))
    assert [p.url for p in only_start.pages] == [site.root]


def test_scope_is_the_start_folder(server, options):
    LoopbackSite(server, with_sitemaps=True)
    result = crawl_site(server.url("/docs/guide/"), options)
    assert {p.url for p in result.pages} == {server.url(guide_path(n)) for n in range(1, GUIDE_PAGES + 1)}
    # /docs/guide/ itself is no page here: a warning, and its guide pages are still found (sitemap).
    assert [(w.kind, w.path) for w in result.warnings] == [(WarningKind.FETCH_FAILED, server.url("/docs/guide/"))]


def test_canonical_noindex_and_nofollow(server, options):
    server.page("/robots.txt", status=404, content_type="text/plain")
    server.page("/", simple("Home", ("/a", "/a-copy", "/hidden", "/shy")))
    server.page("/a", simple("Alpha"))
    server.page("/a-copy", simple("Alpha copy", head='<link rel="canonical" href="/a">'))
    server.page("/hidden", simple("Hidden", ("/behind-hidden",), head='<meta name="robots" content="noindex">'))
    server.page("/behind-hidden", simple("Behind"))
    server.page("/shy", simple("Shy", ("/behind-shy",), head='<meta name="ROBOTS" content="nofollow">'))
    server.page("/behind-shy", simple("Unreached"))
    result = crawl_site(server.url("/"), options)
    assert [p.url for p in result.pages] == [server.url(p) for p in ("/", "/a", "/shy", "/behind-hidden")]
    assert "/behind-shy" not in page_paths(server)
    assert result.stats.duplicates == 1 and result.stats.robots == 1


# ---------------------------------------------------------------------------------------------
# Politeness


def test_crawl_delay_spaces_requests_and_at_most_two_at_a_time(server, options):
    server.page("/robots.txt", "User-agent: citebot\nCrawl-delay: 0.2\n", content_type="text/plain")
    server.page("/", simple("Home", ("/p1", "/p2", "/p3")))
    for n in (1, 2, 3):
        server.page(f"/p{n}", simple(f"Page {n}"))
    result = crawl_site(server.url("/"), options)
    assert len(result.pages) == 4
    times = [r.at for r in server.requests[1:]]  # after robots.txt, which sets the delay
    assert len(times) == 5 and all(b - a >= 0.19 for a, b in zip(times, times[1:]))  # a busy machine only adds

    with PageServer() as busy:
        busy.page("/", simple("Home", tuple(f"/p{n}" for n in range(8))))
        for n in range(8):
            busy.page(f"/p{n}", simple(f"Page {n}"), delay=0.15)
        assert len(crawl_site(busy.url("/"), options).pages) == 9
        assert busy.max_in_flight == 2


def test_robots_txt_that_cannot_be_fetched_forbids_the_crawl(server, options):
    server.page("/robots.txt", "down", status=503, content_type="text/plain")
    server.page("/", simple("Home"))
    result = crawl_site(server.url("/"), options)
    assert result.pages == () and "robots.txt could not be fetched (HTTP 503)" in result.problem
    assert page_paths(server) == []
    with pytest.raises(EmptySiteError) as caught:
        crawl_sources([SiteSource(server.url("/"), options)])
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{server.url('/')}: the site yields no page to index (robots.txt could")


def test_robots_txt_disallowing_the_start_page(server, options):
    server.page("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    server.page("/", simple("Home"))
    result = crawl_site(server.url("/"), options)
    assert result.problem == "robots.txt disallows it" and page_paths(server) == []


def test_loopback_is_refused_without_the_flag(server, tmp_path):
    LoopbackSite(server)
    result = crawl_site(server.url("/docs/"), FetchOptions(cache_dir=tmp_path / "c"))
    assert result.pages == () and result.problem.startswith("refused, 127.0.0.1 is not a public address")
    assert server.requests == []


def test_redirect_off_the_site_is_a_warning(server, options):
    with PageServer() as other:
        away = other.page("/elsewhere", simple("Elsewhere"))
        server.page("/", simple("Home", ("/away",)))
        server.redirect("/away", away)
        result = crawl_site(server.url("/"), options)
    assert [p.url for p in result.pages] == [server.url("/")]
    (warning,) = result.warnings
    assert warning.kind is WarningKind.OFF_SITE and warning.path == server.url("/away")


# ---------------------------------------------------------------------------------------------
# A second crawl


def test_second_crawl_is_conditional_and_reanalyses_only_the_changed_page(server, tmp_path):
    site = LoopbackSite(server)
    options = FetchOptions(cache_dir=tmp_path / "web-cache", allow_private_addresses=True, timeout=5)
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync([SiteSource(site.root, options)], db, IndexParams())
    assert not first.incremental and first.info.documents == len(site.indexable)
    first_requests = len(server.requests)

    site.change()
    second = rebuild_sync([SiteSource(site.root, options)], db, IndexParams())
    again = server.requests[first_requests:]
    assert len(again) == first_requests  # the same URLs asked again...
    with_etag = [r for r in again if r.path not in ("/docs/missing", "/docs/export", "/docs/moved", "/docs/old-name")]
    assert all("If-None-Match" in r.headers for r in with_etag)  # ...conditionally
    assert sorted(r.path for r in again if r.status == 200) == ["/docs/changing", "/docs/export"]
    assert second.incremental and (second.analysed, second.reused, second.removed) == (1, len(site.indexable) - 1, 0)
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute(
            "SELECT p.text FROM passages p JOIN documents d ON p.doc_id = d.id WHERE d.path = ?",
            (server.url("/docs/changing"),),
        ).fetchone()
    assert "second version" in text and "first version" not in text

    # The incremental result is the index a full build of the same pages gives.
    full = built_passages([SiteSource(site.root, options)])
    with sqlite3.connect(db) as conn:
        stored = [row[0] for row in conn.execute("SELECT text FROM passages")]
    assert sorted(stored) == sorted(s.passage.text for s in full)


def test_failures_on_a_second_crawl(server, options):
    site = LoopbackSite(server)
    crawl_site(site.root, options)
    server.page(guide_path(3), "busy", status=503, content_type="text/plain")
    server.page(guide_path(4), "gone", status=404, content_type="text/plain")
    result = crawl_site(site.root, options)
    urls = {p.url for p in result.pages}
    assert server.url(guide_path(3)) in urls  # the last good copy stands in for a failure...
    assert server.url(guide_path(4)) not in urls  # ...but not for a page that is gone
    kinds = {w.path: w.kind for w in result.warnings}
    assert kinds[server.url(guide_path(3))] is WarningKind.KEPT_EARLIER_COPY
    assert kinds[server.url(guide_path(4))] is WarningKind.FETCH_FAILED
    assert result.stats.failed == 3  # and /docs/missing


def test_normalise_url():
    assert normalise_url("HTTP://Docs.Example.org:80/a?b=1#frag") == "http://docs.example.org/a?b=1"
    assert normalise_url("https://docs.example.org") == "https://docs.example.org/"
    assert normalise_url("https://docs.example.org:8443/x") == "https://docs.example.org:8443/x"
    assert normalise_url("mailto:crew@example.org") is None and normalise_url("http://[::1]:99/") == "http://[::1]:99/"


def test_limits_are_validated():
    with pytest.raises(ValueError, match="corpus.crawl_max_pages"):
        CrawlLimits(max_pages=0)
    with pytest.raises(ValueError, match="corpus.crawl_depth"):
        CrawlLimits(max_depth=-1)
    with pytest.raises(ValueError, match="at most 2"):
        replace(CrawlLimits(), per_host=3)
