"""Refreshing an index (index/refresh.py): the cheap check of files and pages, the rebuild only
when something changed, what is recorded of each source's freshness, and failures that keep
the old index. Real files in temp folders, web pages from a server on 127.0.0.1."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from citebot.index.build.params import IndexParams
from citebot.index.build.refresh import check_sources, refresh_sync
from citebot.index.build.reindex import rebuild_sync
from citebot.index.build.source_checks import checks_path, load_checks
from citebot.index.errors import EmptyCorpusError, IndexLockedError
from citebot.index.indexfile import build_lock, read_info
from citebot.index.ingest.crawl import SiteSource
from citebot.index.ingest.fetch import FetchOptions, WebSource
from citebot.index.source_list import list_sources
from tests.support.corpora import age_files, assert_same_as_full_build
from tests.support.loopback_site import LoopbackSite
from tests.support.web_server import PageServer

TESTS = Path(__file__).resolve().parents[2]
ARTICLE = TESTS.parent / "corpus" / "nasa-roscosmos-2025.txt"
PAGE = TESTS / "fixtures" / "nasa-roscosmos-2025.html"
NOTE = "Greenhouse notes\n\nThe Zorblax greenhouse grows purple potatoes under inflatable domes on the Moon.\n"
PARAMS = IndexParams()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "article.txt").write_bytes(ARTICLE.read_bytes())
    (folder / "notes.md").write_text(NOTE, encoding="utf-8")
    age_files(folder)
    return folder


def web(url: str, tmp_path: Path) -> WebSource:
    return WebSource(url, FetchOptions(cache_dir=tmp_path / "web-cache", allow_private_addresses=True, timeout=5))


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_nothing_changed_means_no_rebuild_and_a_recorded_check(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync([corpus], db, PARAMS)
    result = refresh_sync([corpus], db, PARAMS)
    assert result.check.changed == () and result.rebuilt is None
    assert read_info(db).generation == first.info.generation
    checks = load_checks(db)
    assert checks is not None and checks.checked_at == result.check.checked_at and checks.pending == ()
    listed = {s.name: s for s in list_sources(db)}
    assert listed["corpus/notes.md"].checked_at == result.check.checked_at  # the check, not the build
    assert listed["corpus/notes.md"].changed_at <= first.info.built_at


def test_a_changed_new_and_removed_file_are_found_and_only_they_analysed(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    (corpus / "old.txt").write_text(
        "Old notes\n\nThe first dome leaked air through a seam in its fabric.\n", encoding="utf-8"
    )
    age_files(corpus)
    rebuild_sync([corpus], db, PARAMS)
    kept_before = {s.path: s for s in list_sources(db)}
    (corpus / "notes.md").write_text(NOTE.replace("purple potatoes", "golden turnips"), encoding="utf-8")
    (corpus / "more.txt").write_text(
        "More notes\n\nThe dome's water is recycled through a fungal filter.\n", encoding="utf-8"
    )
    check = check_sources([corpus], db, PARAMS)
    assert sorted(check.changed) == [str(corpus / "more.txt"), str(corpus / "notes.md")]
    (corpus / "more.txt").unlink()
    (corpus / "old.txt").unlink()
    result = refresh_sync([corpus], db, PARAMS)
    assert sorted(result.check.changed) == [str(corpus / "notes.md"), str(corpus / "old.txt")]
    assert result.rebuilt is not None and result.rebuilt.incremental
    assert (result.rebuilt.analysed, result.rebuilt.removed) == (1, 1)
    article, notes = list_sources(db)
    assert notes.changed_at > kept_before[notes.path].changed_at
    assert article.changed_at == kept_before[article.path].changed_at  # kept: not new to the index


def test_a_skipped_file_does_not_trigger_a_rebuild_every_time(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A duplicate the build skipped is not in the index's file list; it is no change once the
    build that skipped it is done (its ctime is older: here the build's one-second margin is 0)."""
    import citebot.index.build.refresh as refresh_module

    monkeypatch.setattr(refresh_module, "_TICK_NS", 0)
    db = tmp_path / "index.sqlite3"
    (corpus / "copy.md").write_bytes((corpus / "notes.md").read_bytes())
    age_files(corpus)
    rebuild_sync([corpus], db, PARAMS)
    assert [d for (d,) in rows(db, "SELECT path FROM files")] == [str(corpus / "article.txt"), str(corpus / "copy.md")]
    assert refresh_sync([corpus], db, PARAMS).rebuilt is None


def test_a_file_a_refresh_skipped_is_no_change_until_it_is_edited(corpus: Path, tmp_path: Path) -> None:
    """Just added and skipped (no text): its ctime is as new as the build, so only the refresh's
    record of what it skipped keeps the next checks from rebuilding for it again."""
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync([corpus], db, PARAMS)
    empty = corpus / "empty.md"
    empty.write_text("   \n", encoding="utf-8")
    result = refresh_sync([corpus], db, PARAMS)
    assert result.check.changed == (str(empty),) and result.rebuilt is not None
    assert [w.kind.value for w in result.rebuilt.warnings] == ["empty"]
    for _ in range(2):
        assert refresh_sync([corpus], db, PARAMS).rebuilt is None
    assert read_info(db).generation == first.info.generation + 1
    empty.write_text("Now with text\n\nThe empty file now says the dome's lights are on a timer.\n", encoding="utf-8")
    result = refresh_sync([corpus], db, PARAMS)
    assert result.check.changed == (str(empty),) and result.rebuilt.analysed == 1


def test_a_page_answering_304_is_not_analysed_again(corpus: Path, tmp_path: Path, server: PageServer) -> None:
    url = server.page("/news/iss", PAGE.read_bytes(), etag='"v1"')
    sources = [corpus, web(url, tmp_path)]
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync(sources, db, PARAMS)
    assert first.info.documents == 3
    page_row = rows(db, f"SELECT id, hash FROM documents WHERE path = '{url}'")

    result = refresh_sync(sources, db, PARAMS)
    assert result.rebuilt is None and result.check.changed == ()
    second = server.hits("/news/iss")[-1]
    assert second.headers.get("If-None-Match") == '"v1"' and second.status == 304
    assert read_info(db).generation == first.info.generation

    # A file changes: the rebuild is incremental and keeps the page's document as it was.
    (corpus / "notes.md").write_text(NOTE.replace("purple potatoes", "golden turnips"), encoding="utf-8")
    result = refresh_sync(sources, db, PARAMS)
    assert result.rebuilt is not None and result.rebuilt.incremental
    assert (result.rebuilt.analysed, result.rebuilt.reused) == (1, 2)
    assert rows(db, f"SELECT id, hash FROM documents WHERE path = '{url}'") == page_row
    assert server.hits("/news/iss")[-1].status == 304
    full = tmp_path / "full.sqlite3"
    assert not rebuild_sync(sources, full, PARAMS).incremental
    assert_same_as_full_build(db, full)


def test_a_changed_page_is_reindexed_and_a_failed_fetch_keeps_its_copy(
    corpus: Path, tmp_path: Path, server: PageServer
) -> None:
    url = server.page("/news/iss", PAGE.read_bytes(), etag='"v1"')
    sources = [corpus, web(url, tmp_path)]
    db = tmp_path / "index.sqlite3"
    rebuild_sync(sources, db, PARAMS)
    before = {s.path: s for s in list_sources(db)}

    server.page("/news/iss", PAGE.read_bytes().replace(b"2028", b"2031"), etag='"v2"')
    result = refresh_sync(sources, db, PARAMS)
    assert result.check.changed == (url,)
    assert result.rebuilt is not None and (result.rebuilt.analysed, result.rebuilt.reused) == (1, 2)
    after = {s.path: s for s in list_sources(db)}
    assert after[url].changed_at > before[url].changed_at
    assert after[str(corpus / "notes.md")].changed_at == before[str(corpus / "notes.md")].changed_at
    [(text,)] = rows(
        db,
        f"SELECT group_concat(p.text, ' ') FROM passages p JOIN documents d ON d.id = p.doc_id WHERE d.path = '{url}'",
    )
    assert "2031" in text and "2028" not in text

    server.page("/news/iss", b"down", status=503)
    result = refresh_sync(sources, db, PARAMS)
    assert result.rebuilt is None and list(result.check.failed) == [url]
    assert "503" in result.check.failed[url]
    listed = {s.path: s for s in list_sources(db)}
    assert listed[url].check_failed and listed[url].checked_at == after[url].checked_at
    assert listed[str(corpus / "notes.md")].checked_at == result.check.checked_at
    assert listed[url].passages == after[url].passages  # still indexed, from its last good copy


def test_a_failed_rebuild_keeps_the_old_index_and_is_retried(corpus: Path, tmp_path: Path, server: PageServer) -> None:
    """The check downloads a changed page into the cache; when the rebuild then fails, the next
    check gets a 304 for it, so the change is remembered as pending and taken in next time."""
    url = server.page("/news/iss", PAGE.read_bytes(), etag='"v1"')
    sources = [corpus, web(url, tmp_path)]
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync(sources, db, PARAMS)
    server.page("/news/iss", PAGE.read_bytes().replace(b"2028", b"2031"), etag='"v2"')
    with build_lock(db):  # another build (citebot index) holds the index
        with pytest.raises(IndexLockedError):
            refresh_sync(sources, db, PARAMS)
    assert read_info(db).generation == first.info.generation
    assert load_checks(db).pending == (url,)

    result = refresh_sync(sources, db, PARAMS)
    assert result.check.changed == () and result.retried == (url,)  # a 304 now: only the pending list knew
    assert result.rebuilt is not None and read_info(db).generation == first.info.generation + 1
    assert load_checks(db).pending == ()
    [(text,)] = rows(
        db,
        f"SELECT group_concat(p.text, ' ') FROM passages p JOIN documents d ON d.id = p.doc_id WHERE d.path = '{url}'",
    )
    assert "2031" in text


def test_a_corpus_gone_missing_keeps_the_old_index(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync([corpus], db, PARAMS)
    for path in corpus.iterdir():
        path.unlink()
    with pytest.raises(EmptyCorpusError):
        refresh_sync([corpus], db, PARAMS)
    assert read_info(db).generation == first.info.generation
    assert [s.name for s in list_sources(db)] == ["corpus/article.txt", "corpus/notes.md"]
    assert sorted(load_checks(db).pending) == [str(corpus / "article.txt"), str(corpus / "notes.md")]


def test_a_checks_file_that_is_not_ours_is_never_overwritten(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    rebuild_sync([corpus], db, PARAMS)
    theirs = checks_path(db)
    theirs.write_text("my own notes\n", encoding="utf-8")
    assert refresh_sync([corpus], db, PARAMS).rebuilt is None
    assert theirs.read_text(encoding="utf-8") == "my own notes\n"
    assert load_checks(db) is None


def test_a_site_is_crawled_again_and_only_its_changed_page_reindexed(
    corpus: Path, tmp_path: Path, server: PageServer
) -> None:
    site = LoopbackSite(server)
    sources = [
        corpus,
        SiteSource(site.root, FetchOptions(cache_dir=tmp_path / "web-cache", allow_private_addresses=True, timeout=5)),
    ]
    db = tmp_path / "index.sqlite3"
    first = rebuild_sync(sources, db, PARAMS)
    generation = first.info.generation

    # Nothing changed: one crawl (conditional), no rebuild, and the crawled pages are not
    # mistaken for files gone from the corpus folder.
    requests = len(server.requests)
    unchanged = refresh_sync(sources, db, PARAMS)
    assert unchanged.rebuilt is None and unchanged.check.changed == () and not unchanged.check.failed
    assert read_info(db).generation == generation
    asked = server.requests[requests:]
    assert asked and all(r.status != 200 for r in asked if r.path.startswith("/docs/guide/"))  # 304s

    site.change()
    requests = len(server.requests)
    changed = refresh_sync(sources, db, PARAMS)
    assert changed.check.changed == (server.url("/docs/changing"),)
    assert changed.rebuilt is not None and changed.rebuilt.incremental
    assert changed.rebuilt.analysed == 1 and changed.rebuilt.removed == 0
    # The rebuild read the pages of the check's crawl: the site was crawled once, not twice.
    assert (
        len(server.hits("/docs/changing")) - len([r for r in server.requests[:requests] if r.path == "/docs/changing"])
        == 1
    )
    full = tmp_path / "full.sqlite3"
    rebuild_sync(sources, full, PARAMS)
    assert_same_as_full_build(db, full)


def test_a_site_that_cannot_be_crawled_keeps_its_pages(corpus: Path, tmp_path: Path, server: PageServer) -> None:
    site = LoopbackSite(server)
    sources = [
        corpus,
        SiteSource(site.root, FetchOptions(cache_dir=tmp_path / "web-cache", allow_private_addresses=True, timeout=5)),
    ]
    db = tmp_path / "index.sqlite3"
    documents = rebuild_sync(sources, db, PARAMS).info.documents
    server.page("/robots.txt", "server trouble", status=503)  # robots.txt unreachable and, with
    shutil.rmtree(tmp_path / "web-cache")  # no earlier copy of it cached, the crawl is forbidden
    result = refresh_sync(sources, db, PARAMS)
    assert site.root in result.check.failed and result.rebuilt is None
    assert read_info(db).documents == documents
