"""Fetching URLs for the corpus: conditional requests from the cache, failures that keep the last
good copy, size/redirect/content-type limits, and SSRF refusals. Every server is ours, on
127.0.0.1; refused addresses are checked before any traffic, so nothing leaves the machine."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import WarningKind
from citebot.index.ingest.fetch import (
    USER_AGENT,
    FetchOptions,
    RefusedError,
    WebSource,
    check_url,
    is_public_address,
)
from citebot.index.ingest.loading import load_document
from tests.support.helpers import built_passages
from tests.support.web_server import PageServer

TESTS = Path(__file__).resolve().parents[2]
ROOT = TESTS.parent
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
PAGE = TESTS / "fixtures" / "nasa-roscosmos-2025.html"
PAGE_BYTES = PAGE.read_bytes()
LOOPBACK = ipaddress.ip_address("127.0.0.1")
SMALL_PAGE = (
    "<html><head><title>Small Page</title></head><body><article><p>This small page holds one "
    "paragraph of real text, long enough to count as a paragraph of an article.</p></article></body></html>"
)


@pytest.fixture
def options(tmp_path: Path) -> FetchOptions:
    return FetchOptions(cache_dir=tmp_path / "web-cache", allow_private_addresses=True, timeout=5)


def load(url: str, options: FetchOptions):
    """The documents of one URL and its warnings as the lines a person reads."""
    docs, warnings = load_corpus([WebSource(url, options)])
    return docs, [str(w) for w in warnings]


def norm(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Fetching and indexing a page


def test_url_page_is_indexed_with_its_url_and_metadata(server, options):
    url = server.page("/news/nasa-roscosmos", PAGE_BYTES)
    docs, warnings = load(url, options)
    assert warnings == []
    (doc,) = docs
    assert doc.kind == "url" and doc.path == url
    # The canonical link names another site, so citations link to where the page was fetched.
    assert doc.url == url
    assert doc.metadata["canonical"].startswith("https://news.example/")
    assert (doc.title, doc.author, doc.date) == (
        "NASA and Roscosmos Reignite Space Ties After 8-Year Hiatus",
        "Joseph P. Chacko",
        "2025-07-30",
    )
    text_doc = load_document(ARTICLE)
    assert [norm(b.text) for b in doc.paragraphs] == [norm(b.text) for b in text_doc.paragraphs]
    (seen,) = server.requests
    assert seen.headers["User-Agent"] == USER_AGENT
    built = [s.passage for s in built_passages([WebSource(url, options)])]
    assert built and all(p.citation.url == url and p.citation.kind == "url" for p in built)
    assert all(p.citation.label.endswith(f"({url})") for p in built)


def test_same_site_canonical_is_cited(server, options):
    html = PAGE_BYTES.replace(
        b"https://news.example/nasa-and-roscosmos-reignite-space-ties-after-8-year-hiatus/",
        f"http://127.0.0.1:{server.port}/canonical/".encode(),
    )
    url = server.page("/news/nasa-roscosmos?utm_source=feed", html)
    (doc,), _ = load(url, options)
    assert doc.url == server.url("/canonical/")


def test_etag_makes_the_reindex_conditional(server, options):
    url = server.page("/etag", PAGE_BYTES, etag='"v1"')
    first, _ = load(url, options)
    second, warnings = load(url, options)
    assert warnings == []
    assert [d.content_hash for d in second] == [d.content_hash for d in first]
    one, two = server.hits("/etag")
    assert "If-None-Match" not in one.headers and one.status == 200
    assert two.headers["If-None-Match"] == '"v1"' and two.status == 304  # no body sent the second time
    assert list((options.cache_dir).glob("*.body"))


def test_last_modified_makes_the_reindex_conditional(server, options):
    stamp = "Wed, 30 Jul 2025 09:15:42 GMT"
    url = server.page("/lm", PAGE_BYTES, last_modified=stamp)
    load(url, options)
    docs, warnings = load(url, options)
    assert warnings == [] and len(docs) == 1
    one, two = server.hits("/lm")
    assert one.status == 200 and two.headers["If-Modified-Since"] == stamp and two.status == 304


def test_changed_page_is_downloaded_again(server, options):
    url = server.page("/changing", SMALL_PAGE, etag='"a"')
    load(url, options)
    server.page("/changing", SMALL_PAGE.replace("one", "a single"), etag='"b"')
    (doc,), _ = load(url, options)
    assert "a single paragraph" in doc.paragraphs[0].text
    assert [h.status for h in server.hits("/changing")] == [200, 200]


def test_failure_keeps_the_last_good_copy_with_a_warning(server, options):
    url = server.page("/flaky", PAGE_BYTES)
    (good,), _ = load(url, options)
    server.page("/flaky", "gone", status=503, content_type="text/plain")
    docs, warnings = load(url, options)
    assert [d.content_hash for d in docs] == [good.content_hash]
    (warning,) = warnings
    assert warning.startswith(f"{url}: fetch failed (HTTP 503); kept the copy fetched ")


def test_failure_without_a_copy_is_a_warning_and_skipped(server, options):
    url = server.page("/missing", "nope", status=404, content_type="text/plain")
    docs, warnings = load(url, options)
    assert docs == []
    assert warnings == [f"{url}: skipped, fetch failed (HTTP 404) and there is no earlier copy"]


def test_connection_failure_and_timeout(server, options):
    url = server.page("/slow", SMALL_PAGE, delay=3)
    docs, warnings = load(url, replace(options, timeout=0.3))
    assert docs == [] and "timed out after 0.3 s" in warnings[0] and warnings[0].startswith(url)
    with PageServer() as closed:
        dead = closed.url("/x")
    docs, warnings = load(dead, options)
    assert docs == [] and warnings[0].startswith(f"{dead}: skipped, fetch failed (cannot connect")


@pytest.mark.parametrize("chunked", [False, True])
def test_size_cap(server, options, chunked):
    big = "<html><body><article>" + "<p>" + "Words of a very long page. " * 2000 + "</p></article></body></html>"
    url = server.page("/big", big, chunked=chunked)
    docs, warnings = load(url, replace(options, max_bytes=16 * 1024))
    assert docs == []
    assert warnings[0].startswith(url) and "larger than the 16,384-byte limit" in warnings[0]


def test_redirects_are_followed_up_to_the_limit(server, options):
    server.page("/final", SMALL_PAGE)
    server.redirect("/r2", "/final")
    server.redirect("/r1", server.url("/r2"), status=301)
    start = server.redirect("/r0", "r1", status=307)
    (doc,), warnings = load(start, replace(options, max_redirects=3))
    assert warnings == [] and doc.path == start and doc.url == server.url("/final")
    docs, warnings = load(start, replace(options, max_redirects=2))  # the cached copy stands in
    assert len(docs) == 1 and warnings[0].startswith(f"{start}: fetch failed (more than 2 redirects); kept the copy")
    docs, warnings = load(start, replace(options, max_redirects=2, cache_dir=None))
    assert docs == [] and warnings[0].startswith(f"{start}: skipped, fetch failed (more than 2 redirects)")


@pytest.mark.parametrize("content_type", ["application/json", "image/png", "text/plain; charset=utf-8", ""])
def test_wrong_content_type_is_refused(server, options, content_type):
    url = server.page("/data", SMALL_PAGE, content_type=content_type)
    docs, warnings = load(url, options)
    assert docs == [] and "not an HTML page" in warnings[0] and warnings[0].startswith(url)


def test_xhtml_is_accepted(server, options):
    url = server.page("/x.xhtml", SMALL_PAGE, content_type="application/xhtml+xml")
    docs, warnings = load(url, options)
    assert warnings == [] and len(docs) == 1


def test_progress_counts_files_and_urls(server, options, tmp_path):
    urls = [
        server.page(f"/p{i}", SMALL_PAGE.replace("Small Page", f"Page {i}").replace("one", f"{i} one"))
        for i in range(3)
    ]
    calls = []
    docs, warnings = load_corpus(
        [ARTICLE, *(WebSource(u, options) for u in urls)],
        progress=lambda done, total, what: calls.append((done, total, what)),
    )
    assert warnings == [] and len(docs) == 4
    assert [c[:2] for c in calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert {c[2] for c in calls[1:]} == set(urls)


# ---------------------------------------------------------------------------------------------
# SSRF


def test_loopback_is_refused_without_the_flag(server, tmp_path):
    url = server.page("/page", PAGE_BYTES)
    opts = FetchOptions(cache_dir=tmp_path / "c")
    for target in (url, f"http://localhost:{server.port}/page"):
        docs, warnings = load(target, opts)
        assert docs == []
        assert warnings[0].startswith(f"{target}: refused, ") and "--allow-private-addresses" in warnings[0]
    assert server.requests == []  # nothing was sent


def test_cached_copy_does_not_outlive_a_refusal(server, options):
    url = server.page("/page", PAGE_BYTES)
    assert len(load(url, options)[0]) == 1
    docs, warnings = load(url, replace(options, allow_private_addresses=False))
    assert docs == [] and "refused" in warnings[0]


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/secret",
        "http://127.0.0.2:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://0.0.0.0:{port}/secret",
    ],
)
def test_redirect_to_a_private_address_is_refused(server, tmp_path, target):
    # Simulate a public site: exactly 127.0.0.1 counts as public here, nothing else that is private.
    opts = FetchOptions(
        cache_dir=tmp_path / "c", timeout=5, address_allowed=lambda ip: ip == LOOPBACK or is_public_address(ip)
    )
    server.page("/secret", "secret", content_type="text/html")
    start = server.redirect("/innocent", target.format(port=server.port))
    docs, warnings = load(start, opts)
    assert docs == []
    assert warnings[0].startswith(f"{start}: refused, "), warnings
    assert server.hits("/secret") == []
    assert [r.path for r in server.requests] == ["/innocent"]


async def test_resolver_refuses_names_that_resolve_to_private_addresses():
    from citebot.index.ingest.fetch import BlockedAddressError, _guarded_resolver

    resolver = _guarded_resolver(FetchOptions())
    try:
        with pytest.raises(BlockedAddressError, match="localhost resolves to 127.0.0.1"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    allowing = _guarded_resolver(FetchOptions(allow_private_addresses=True))
    try:
        assert "127.0.0.1" in {info["host"] for info in await allowing.resolve("localhost", 80)}
    finally:
        await allowing.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[2002:a00:1::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[fec0::1]/",
    ],
)
def test_non_public_literals_are_refused(url):
    with pytest.raises(RefusedError, match="not a public address"):
        check_url(url, FetchOptions())
    check_url(url, FetchOptions(allow_private_addresses=True))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/a.html",
        "gopher://x/",
        "data:text/html,x",
        "javascript:alert(1)",
        "http:///nohost",
    ],
)
def test_other_schemes_are_refused(url):
    with pytest.raises(RefusedError):
        check_url(url, FetchOptions(allow_private_addresses=True))


@pytest.mark.parametrize(
    "public, private",
    [
        ("http://93.184.215.14/", "http://10.0.0.7/"),
        ("https://[2606:4700::6810:84e5]/", "https://[fd00::1]/"),
    ],
)
def test_public_literals_pass_where_private_ones_of_the_same_form_are_refused(public, private):
    """The check parses the literal and judges its address, not the URL's shape: the public
    address passes (nothing is fetched) and the private one written the same way is refused."""
    assert check_url(public, FetchOptions()) is None
    with pytest.raises(RefusedError, match="is not a public address"):
        check_url(private, FetchOptions())


def test_a_host_name_is_left_to_the_resolver():
    """A name cannot be judged before it is resolved: the check lets it through, and the
    guarded resolver checks each address it resolves to."""
    assert check_url("https://example.org/a", FetchOptions()) is None


def test_file_and_ftp_urls_in_a_corpus_are_warnings(tmp_path):
    docs, warnings = load_corpus(["file:///etc/passwd", WebSource("ftp://example.org/x")])
    assert docs == []
    assert [str(w) for w in warnings] == [
        "file:///etc/passwd: refused, only http and https URLs can be fetched, not file",
        "ftp://example.org/x: refused, only http and https URLs can be fetched, not ftp",
    ]
    assert {w.kind for w in warnings} == {WarningKind.REFUSED}
