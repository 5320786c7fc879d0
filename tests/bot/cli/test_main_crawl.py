"""`citebot index URL --crawl` and `corpus.sites` in config.toml, against the loopback site
(tests/support/loopback_site.py): the summary line, the warnings, the incremental second crawl, the
page limit, the one-line error for a site that yields nothing, and the settings' validation."""

from __future__ import annotations

import io

import pytest

from citebot.bot.building import CrawlProgressLine
from citebot.bot.settings import load_settings
from citebot.index.errors import ConfigError
from citebot.index.ingest.crawl import CrawlLimits, SiteSource, crawl_site
from citebot.index.ingest.fetch import FetchOptions
from tests.support.helpers import citebot
from tests.support.loopback_site import LoopbackSite


def test_index_a_site_with_crawl_then_again_after_one_page_changed(server, tmp_path):
    site = LoopbackSite(server)
    db = tmp_path / "data" / "index.sqlite3"
    db.parent.mkdir()
    first = citebot("index", "--db", str(db), "--allow-private-addresses", site.root, "--crawl", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Indexed {len(site.indexable)} documents")
    assert (
        f"Crawled {site.root}: 51 found (sitemap), 46 fetched, 0 unchanged, 1 failed, 3 skipped by robots, "
        "3 duplicates, 1 not a page; 54 requests in "
    ) in first.stderr
    assert f"warning: {server.url('/docs/missing')}: skipped, fetch failed (HTTP 404)" in first.stderr

    site.change()
    second = citebot("index", "--db", str(db), "--allow-private-addresses", site.root, "--crawl", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(
        f"Updated: 1 new or changed documents analysed, {len(site.indexable) - 1} unchanged kept, 0 removed."
    )
    assert "1 fetched, 45 unchanged, 1 failed" in second.stderr

    private = server.url("/docs/private/")
    refused = citebot("index", "--db", str(db), "--allow-private-addresses", private, "--crawl", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"citebot: error: {private}: the site yields no page to index (robots.txt disallows it)"
    )


def test_sites_from_config_with_a_page_limit(server, tmp_path):
    site = LoopbackSite(server)
    (tmp_path / "data").mkdir()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[corpus]\nsites = ["{site.root}"]\ncrawl_max_pages = 5\ncrawl_depth = 3\n'
        f'allow_private_addresses = true\n\n[index]\ndb = "data/index.sqlite3"\n',
        encoding="utf-8",
    )
    done = citebot("index", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Indexed 5 documents")  # home and the first four guide pages
    assert (
        f"warning: {site.root}: stopped at corpus.crawl_max_pages = 5; 43 more pages found were not fetched"
        in done.stderr
    )
    assert (tmp_path / "data" / "web-cache").is_dir()


def test_site_settings(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[corpus]\nsites = ["https://docs.example.org/"]\ncrawl_max_pages = 20\ncrawl_depth = 2\n', encoding="utf-8"
    )
    settings = load_settings(config)
    (site,) = [s for s in settings.corpus_paths if isinstance(s, SiteSource)]
    assert site.url == "https://docs.example.org/" and site.limits == CrawlLimits(max_pages=20, max_depth=2)
    assert site.options.cache_dir == settings.db_path.parent / "web-cache"
    for body, key in (
        ('sites = "https://docs.example.org/"', "corpus.sites"),
        ('sites = ["docs"]', "corpus.sites"),
        ("crawl_max_pages = 0", "corpus.crawl_max_pages"),
        ('crawl_depth = "deep"', "corpus.crawl_depth"),
    ):
        config.write_text(f"[corpus]\n{body}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_settings(config)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_progress_line_counts_found_fetched_unchanged_failed_on_a_terminal_only(server, tmp_path, tty):
    site = LoopbackSite(server)
    stream = _Terminal() if tty else io.StringIO()
    line = CrawlProgressLine(stream)
    options = FetchOptions(cache_dir=tmp_path / "cache", allow_private_addresses=True, timeout=5)
    crawl_site(site.root, options, progress=line)
    line.end()
    shown = stream.getvalue()
    if not tty:
        assert shown == ""
        return
    assert shown.startswith("\rcrawling ") and shown.endswith("\n") and shown.count("\n") == 1
    last = shown.rstrip("\n").rsplit("\r", 1)[-1]
    assert last.strip().endswith("51 found, 46 fetched, 0 unchanged, 1 failed")
