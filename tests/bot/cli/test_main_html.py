"""`citebot index` and `citebot eval` with web pages: URLs on the command line and in config.toml,
the private-address flag and setting, a mixed corpus, and the same answers from the page as
from the text (answer hits; gold paragraph numbers refer to the .txt file)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from citebot.index.ingest.fetch import FetchOptions, WebSource
from tests.support.helpers import built_passages, citebot

TESTS = Path(__file__).resolve().parents[2]
ROOT = TESTS.parent
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
PAGE = TESTS / "fixtures" / "nasa-roscosmos-2025.html"
SEED = TESTS.parents[1] / "shared" / "eval" / "seed-dev.jsonl"


def test_index_a_url_and_cite_it(server, tmp_path):
    url = server.page("/news/nasa-roscosmos", PAGE.read_bytes(), etag='"v1"')
    db = tmp_path / "data" / "index.sqlite3"
    db.parent.mkdir()
    refused = citebot("index", "--db", str(db), url, cwd=tmp_path)
    assert refused.returncode == 2
    assert f"{url}: refused, 127.0.0.1 is not a public address" in refused.stderr
    assert server.requests == []

    done = citebot("index", "--db", str(db), "--allow-private-addresses", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Indexed 1 documents")
    assert list((db.parent / "web-cache").glob("*.body"))
    asked = citebot("ask", "--db", str(db), "--json", "Who is the head of Roscosmos?", cwd=tmp_path)
    answer = json.loads(asked.stdout)
    assert answer["answered"] and "Dmitry Bakanov" in answer["passages"][0]["text"]
    citation = answer["passages"][0]["citation"]
    assert citation["url"] == url and citation["label"].endswith(f"({url})")

    again = citebot("index", "--db", str(db), "--allow-private-addresses", url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [r.status for r in server.requests] == [200, 304]


def test_urls_from_config_with_a_mixed_corpus(server, tmp_path):
    url = server.page("/news/nasa-roscosmos", PAGE.read_bytes())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "moon.md").write_text(
        "---\ntitle: Moon Notes\n---\n## Dust\n\nLunar dust is abrasive and clings to spacesuits because "
        "sunlight charges it electrostatically.\n",
        encoding="utf-8",
    )
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    conf = tmp_path / "conf"
    (conf / "data").mkdir(parents=True)
    (conf / "config.toml").write_text(
        f'[corpus]\npaths = ["../corpus"]\nurls = ["{url}"]\nallow_private_addresses = true\n'
        f'max_page_mb = 1\n\n[index]\ndb = "data/index.sqlite3"\n',
        encoding="utf-8",
    )
    done = citebot("index", "--config", str(conf / "config.toml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Indexed 3 documents")
    assert list((conf / "data" / "web-cache").glob("*.json"))

    bad = conf / "bad.toml"
    bad.write_text('[corpus]\nurls = ["not a url"]\n', encoding="utf-8")
    failed = citebot("index", "--config", str(bad), cwd=tmp_path)
    assert failed.returncode == 2 and "corpus.urls" in failed.stderr


def test_mixed_corpus_citations_say_which_kind(server, tmp_path):
    url = server.page("/page", PAGE.read_bytes())
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "plain.txt").write_text(
        "Lunar Dust\n\nLunar dust is abrasive and clings to spacesuits because it is electrostatically "
        "charged by sunlight and the solar wind.\n",
        encoding="utf-8",
    )
    (folder / "notes.md").write_text(
        "# Mars Notes\n\n## Atmosphere\n\nThe Martian atmosphere is about one percent as dense as Earth's "
        "and is mostly carbon dioxide, so parachutes alone cannot land heavy craft.\n",
        encoding="utf-8",
    )
    page = folder / "saved.html"
    page.write_text(PAGE.read_text(encoding="utf-8").replace("Dmitry Bakanov", "Dmitry B."), encoding="utf-8")
    options = FetchOptions(cache_dir=tmp_path / "cache", allow_private_addresses=True)
    built = [s.passage for s in built_passages([folder, WebSource(url, options)])]
    kinds = {p.citation.path: p.citation.kind for p in built}
    assert kinds == {str(folder / "notes.md"): "md", str(folder / "plain.txt"): "txt", str(page): "html", url: "url"}


@pytest.mark.skipif(not SEED.is_file(), reason=f"the seed question set is not at {SEED}")
def test_eval_scores_the_page_as_well_as_the_text(server, tmp_path):
    url = server.page("/news/nasa-roscosmos", PAGE.read_bytes())
    figures = {}
    for name, corpus, extra in (
        ("txt", str(ARTICLE), []),
        ("html", str(PAGE), []),
        ("url", url, ["--allow-private-addresses"]),
    ):
        (tmp_path / name).mkdir()
        done = citebot(
            "eval",
            str(SEED),
            "--corpus",
            corpus,
            *extra,
            "--json",
            "--db",
            str(tmp_path / name / "index.sqlite3"),
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("corpus: 1 documents")
        figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
    for k in (1, 3, 5):
        key = f"answer_hit@{k}"
        assert figures["html"][key] >= figures["txt"][key], (key, figures)
        assert figures["url"][key] >= figures["txt"][key], (key, figures)
    assert figures["url"]["declined"] <= figures["txt"]["declined"]
    refused = citebot("eval", str(SEED), "--corpus", url, cwd=tmp_path)
    assert refused.returncode == 2 and "refused" in refused.stderr
