"""Crawl the loopback test site (tests/support/loopback_site.py) and print what it took.

    python benchmarks/crawl_site.py [--repeat 3] [--links]

Per run, in a fresh cache and index: a first crawl and build (pages found, fetched, skipped by
robots.txt, requests, crawl time, pages/s, build time), then one page changes and a second
crawl and reindex (requests made, 304s, pages re-analysed, times). `--links` serves the site
without sitemaps, so pages are found by following links. Medians over `--repeat` runs. Every
server is on 127.0.0.1, so the figures measure the crawler, not a network.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT,):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from citebot.index.build.params import IndexParams  # noqa: E402
from citebot.index.build.reindex import rebuild_sync  # noqa: E402
from citebot.index.ingest.crawl import SiteSource, crawl_sources  # noqa: E402
from citebot.index.ingest.fetch import FetchOptions  # noqa: E402
from tests.support.loopback_site import LoopbackSite  # noqa: E402
from tests.support.web_server import PageServer  # noqa: E402


def one_run(with_sitemaps: bool) -> dict[str, float]:
    with PageServer() as server, tempfile.TemporaryDirectory(prefix="citebot-crawl-") as tmp:
        site = LoopbackSite(server, with_sitemaps=with_sitemaps)
        options = FetchOptions(cache_dir=Path(tmp) / "web-cache", allow_private_addresses=True)
        db = Path(tmp) / "index.sqlite3"
        out: dict[str, float] = {}
        for label in ("first", "second"):
            if label == "second":
                site.change()
            before = len(server.requests)
            started = time.perf_counter()
            (crawled,) = crawl_sources([SiteSource(site.root, options)])
            crawl_s = time.perf_counter() - started
            result = rebuild_sync([crawled], db, IndexParams())
            total_s = time.perf_counter() - started
            stats = crawled.stats
            out.update(
                {
                    f"{label}_found": stats.found,
                    f"{label}_fetched": stats.fetched,
                    f"{label}_unchanged": stats.unchanged,
                    f"{label}_robots": stats.robots,
                    f"{label}_requests": len(server.requests) - before,
                    f"{label}_304": sum(r.status == 304 for r in server.requests[before:]),
                    f"{label}_pages": len(crawled.pages),
                    f"{label}_crawl_s": crawl_s,
                    f"{label}_pages_per_s": len(crawled.pages) / crawl_s,
                    f"{label}_total_s": total_s,
                    f"{label}_analysed": result.analysed if result.incremental else result.info.documents,
                }
            )
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--links", action="store_true", help="no sitemaps: find pages by following links")
    args = parser.parse_args()
    runs = [one_run(not args.links) for _ in range(args.repeat)]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"loopback site, {'links' if args.links else 'sitemaps'}, median of {args.repeat} runs")
    for label, title in (("first", "first crawl"), ("second", "after one page changed")):
        m = {k.removeprefix(f"{label}_"): v for k, v in median.items() if k.startswith(label)}
        print(
            f"{title:>24}: {m['found']:.0f} found, {m['fetched']:.0f} fetched, {m['unchanged']:.0f} unchanged "
            f"({m['304']:.0f} answered 304), {m['robots']:.0f} skipped by robots; {m['requests']:.0f} requests; "
            f"{m['pages']:.0f} pages kept, {m['analysed']:.0f} analysed; crawl {m['crawl_s']:.2f} s "
            f"({m['pages_per_s']:.0f} pages/s), crawl + index {m['total_s']:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
