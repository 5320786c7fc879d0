"""`citebot sources` (what is indexed, and how fresh) and `citebot index --watch`, run as the
installed command in subprocesses on real folders."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.corpora import age_files

TESTS = Path(__file__).resolve().parents[2]
ARTICLE = TESTS.parent / "corpus" / "nasa-roscosmos-2025.txt"
PAGE = TESTS / "fixtures" / "nasa-roscosmos-2025.html"
CITEBOT = Path(sys.executable).with_name("citebot")
NOTE = "Greenhouse notes\n\nThe Zorblax greenhouse grows purple potatoes under inflatable domes on the Moon.\n"


def citebot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    return subprocess.run([str(CITEBOT), *args], capture_output=True, text=True, cwd=cwd, env=environ, timeout=120)


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "article.txt").write_bytes(ARTICLE.read_bytes())
    (corpus / "notes.md").write_text(NOTE, encoding="utf-8")
    (corpus / "page.html").write_bytes(PAGE.read_bytes().replace(b"2028", b"2031"))  # not a duplicate
    db = tmp_path / "index.sqlite3"
    done = citebot("index", "--db", str(db), str(corpus), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return corpus, db


def test_sources_lists_every_document_with_its_times(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    corpus, db = indexed
    done = citebot("sources", "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["KIND", "PASSAGES", "LAST", "CHANGED", "LAST", "CHECKED", "TITLE", "PATH", "OR", "URL"]
    body = lines[1:4]
    assert [line.split()[0] for line in body] == ["txt", "md", "html"]
    assert body[1].split()[1] == "1" and "Greenhouse notes" in body[1] and str(corpus / "notes.md") in body[1]
    assert "unknown" not in done.stdout
    assert lines[4].startswith("3 documents (html 1, md 1, txt 1), ")

    data = json.loads(citebot("sources", "--db", str(db), "--json", cwd=tmp_path).stdout)
    assert data["documents"] == 3 and data["by_kind"] == {"html": 1, "md": 1, "txt": 1}
    by_name = {s["name"]: s for s in data["sources"]}
    notes = by_name["corpus/notes.md"]
    assert (notes["kind"], notes["title"], notes["path"], notes["passages"]) == (
        "md",
        "Greenhouse notes",
        str(corpus / "notes.md"),
        1,
    )
    assert notes["last_changed"].endswith("Z") and notes["last_checked"] >= notes["last_changed"]
    assert by_name["corpus/page.html"]["url"].startswith("https://news.example/")
    with sqlite3.connect(db) as conn:
        passages = dict(conn.execute("SELECT path, n_passages FROM documents"))
    assert {s["path"]: s["passages"] for s in data["sources"]} == passages


def test_sources_of_an_index_built_before_the_times_were_recorded(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    _, db = indexed
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE source_times")
    done = citebot("sources", "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "unknown" in done.stdout.splitlines()[1]
    assert "'citebot index' records them" in done.stdout.splitlines()[-1]


def test_sources_without_an_index_is_one_clear_error(tmp_path: Path) -> None:
    done = citebot("sources", "--db", str(tmp_path / "none.sqlite3"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("citebot: error: no index at ") and len(done.stderr.splitlines()) == 1


def _lines(stream: object, out: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line)


def _next_line(lines: queue.Queue[str], containing: str) -> str:
    while True:
        line = lines.get(timeout=60)
        if containing in line:
            return line


def test_watch_reindexes_a_changed_file_and_stops_on_ctrl_c(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    corpus, db = indexed
    age_files(corpus)
    environ = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    proc = subprocess.Popen(
        [str(CITEBOT), "index", "--db", str(db), str(corpus), "--watch", "--every", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=environ,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        _next_line(lines, f"Watching {corpus} every 0.1 s for changes; Ctrl-C stops.")
        (corpus / "notes.md").write_text(NOTE.replace("purple potatoes", "golden turnips"), encoding="utf-8")
        line = _next_line(lines, "reindexed")
        assert "(1 changed: notes.md; 1 analysed, 2 kept, 0 removed): 3 documents" in line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        _next_line(lines, "Stopped watching")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in proc.stderr.read()
    with sqlite3.connect(db) as conn:
        [(text,)] = conn.execute(
            "SELECT p.text FROM passages p JOIN documents d ON d.id = p.doc_id WHERE d.path LIKE '%notes.md'"
        ).fetchall()
    assert "golden turnips" in text
    assert not list(tmp_path.glob(".index.sqlite3.building-*"))
