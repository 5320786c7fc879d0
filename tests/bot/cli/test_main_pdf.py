"""PDFs end to end, as a user meets them: `citebot index` on a folder holding PDFs, then
`citebot ask --json`, `citebot ask`, `citebot show` and `citebot eval --corpus FILE.pdf`; the
Discord reply and `/source` rendered from the same index; the three builds (streaming,
in-memory, incremental) agreeing on every passage's pages.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.discord.render import citation_line, render_answer, render_source
from citebot.index.answering.answerer import Answerer
from citebot.index.build import full as filebuild
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.indexfile import IndexReader
from tests.support.corpora import age_files, assert_same_as_full_build, corpus_documents, full_build
from tests.support.helpers import BUNDLED_ARTICLE, assert_matches_reference
from tests.support.pdf_fixtures import SPRING, MadePdf, make_article, make_encrypted, make_report, make_scan

CITEBOT = Path(sys.executable).with_name("citebot")
EVAL = Path(__file__).resolve().parents[4] / "shared" / "eval"
SEED_DEV = EVAL / "seed-dev.jsonl"


def citebot(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    return subprocess.run(
        [str(CITEBOT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300, input=stdin
    )


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, MadePdf, subprocess.CompletedProcess]:
    """A folder holding the report, a scan, a locked PDF and a text file, indexed by the CLI."""
    root = tmp_path_factory.mktemp("pdfcli")
    corpus = root / "corpus"
    corpus.mkdir()
    made = make_report(corpus / "report.pdf")
    make_scan(corpus / "scan.pdf")
    make_encrypted(corpus / "locked.pdf")
    shutil.copy(BUNDLED_ARTICLE, corpus / BUNDLED_ARTICLE.name)
    db = root / "index.sqlite3"
    done = citebot(root, "index", "--db", str(db), "corpus")
    return root, db, made, done


def test_index_reads_the_pdf_and_names_the_ones_it_skips(indexed) -> None:
    root, _, _, done = indexed
    assert done.returncode == 0, done.stderr
    assert "Indexed 2 documents" in done.stdout
    warnings = sorted(line for line in done.stderr.splitlines() if line.startswith("warning: "))
    assert warnings == [
        "warning: corpus/locked.pdf: skipped, the PDF is password-protected",
        "warning: corpus/scan.pdf: skipped, the PDF has no text layer (scanned pages?); run OCR on it "
        "(e.g. ocrmypdf) to index it",
    ]


def test_ask_json_cites_the_pages_of_a_paragraph_across_a_page_break(indexed) -> None:
    root, db, made, _ = indexed
    done = citebot(root, "ask", "--db", str(db), "--json", "What was the phosphate level of the spring?")
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["answered"] and "0.02 milligrams" in reply["answer"]
    top = reply["passages"][0]
    citation = top["citation"]
    assert squash(top["text"]) == squash(SPRING)
    assert made.printed_on[SPRING] == (1, 2)
    assert citation["kind"] == "pdf" and citation["pages"] == [1, 2]
    assert citation["name"] == "corpus/report.pdf" and citation["document"] == "Water Quality in the Upper Valley"
    assert citation["section"] == "Nitrate Levels"
    assert ", pp. 1–2 (corpus/report.pdf)" in citation["label"]
    # A text file's passages have no pages.
    done = citebot(root, "ask", "--db", str(db), "--json", "Who is the head of Roscosmos?")
    cited = json.loads(done.stdout)["passages"][0]["citation"]
    assert cited["kind"] == "txt" and cited["pages"] is None and " p. " not in cited["label"]


def test_ask_text_and_show_name_the_page(indexed) -> None:
    root, db, _, _ = indexed
    done = citebot(root, "ask", "--db", str(db), "When will the board publish the reservoir results?")
    assert done.returncode == 0, done.stderr
    sources = done.stdout.split("Sources:\n", 1)[1].splitlines()
    assert sources[0].startswith('[1] "Water Quality in the Upper Valley" by Ada Lovelace, § Outlook, ¶')
    assert ", p. 4 (corpus/report.pdf) · id " in sources[0]
    passage_id = sources[0].rsplit("id ", 1)[1]
    shown = citebot(root, "show", "--db", str(db), passage_id)
    assert shown.returncode == 0, shown.stderr
    assert ", p. 4 (corpus/report.pdf)" in shown.stdout.splitlines()[1]


def test_the_discord_reply_and_source_show_p_and_pp(indexed) -> None:
    _, db, _, _ = indexed

    async def run() -> None:
        reader = await IndexReader.open(db)
        try:
            answer = await Answerer(reader).ask("What was the phosphate level of the spring?")
            field = render_answer(answer).embeds[0].fields[0].value or ""
            assert "§ Nitrate Levels · ¶" in field and " · pp. 1–2\n`corpus/report.pdf`" in field
            stored = await reader.passage_by_id(answer.hits[0].passage.id)
            before, after = await reader.neighbours(stored)
            source = render_source(stored, before, after).embeds[0].fields[0].value or ""
            assert "pp. 1–2" in source
            outlook = await Answerer(reader).ask("When will the board publish the reservoir results?")
            assert " · p. 4\n" in citation_line(outlook.hits[0].passage.citation)
        finally:
            await reader.close()

    asyncio.run(run())


# ---------------------------------------------------------------- the article as a PDF --


@pytest.mark.skipif(not SEED_DEV.exists(), reason="needs ../shared/eval/seed-dev.jsonl")
def test_eval_on_the_article_as_a_pdf_finds_the_answers_the_text_file_does(tmp_path: Path) -> None:
    made = make_article(tmp_path / "article.pdf")
    figures = {}
    for corpus in (made.path, BUNDLED_ARTICLE):
        done = citebot(tmp_path, "eval", str(SEED_DEV), "--corpus", str(corpus), "--json")
        assert done.returncode == 0, done.stderr
        figures[corpus.suffix] = json.loads(done.stdout.splitlines()[-1])
    answer_hits = {k: v for k, v in figures[".txt"].items() if k.startswith("answer_hit@")}
    assert answer_hits
    for key, value in answer_hits.items():
        assert figures[".pdf"][key] >= value, (key, figures)


@pytest.mark.skipif(not SEED_DEV.exists(), reason="needs ../shared/eval/seed-dev.jsonl")
def test_each_answer_is_cited_on_the_page_it_was_printed_on(tmp_path: Path) -> None:
    made = make_article(tmp_path / "article.pdf")
    db = tmp_path / "index.sqlite3"
    assert citebot(tmp_path, "index", "--db", str(db), str(made.path)).returncode == 0
    rows = [json.loads(line) for line in SEED_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    done = citebot(tmp_path, "ask", "--db", str(db), "--json", "-", stdin="".join(r["q"] + "\n" for r in rows))
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(replies) == len(rows)
    checked = 0
    for row, reply in zip(rows, replies):
        answers = [a.lower() for a in row["answers"]]
        holding = [p for p in reply["passages"] if any(a in p["text"].lower() for a in answers)]
        if not holding:
            continue
        passage = holding[0]
        first, last = passage["citation"]["pages"]
        text = squash(passage["text"]).lower()
        # the pages the maker printed the passage's answer-holding paragraphs on (the passage
        # holds them, or is part of one: the author's bio without the name lines above it)
        printed = {
            page
            for body, on in made.printed_on.items()
            if (squash(body).lower() in text or text in squash(body).lower())
            and any(a in body.lower() for a in answers)
            for page in on
        }
        assert printed, row["q"]
        assert (first, last) == (min(printed), max(printed)), (row["q"], passage["citation"]["label"])
        checked += 1
    assert checked == len(rows)


# ----------------------------------------------------------- every build agrees on pages --


@pytest.mark.parametrize("parallel", [False, True])
def test_streaming_reference_and_incremental_builds_store_the_same_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    corpus_documents(corpus, n_extra=16)
    make_report(corpus / "report.pdf")
    if parallel:  # PDFs read in forked workers
        monkeypatch.setattr(filebuild, "PARALLEL_ABOVE_CHARS", 0)
        monkeypatch.setattr(filebuild, "_TASK_FILES", 2)
    age_files(corpus)
    params = IndexParams()
    streamed = tmp_path / "streamed.sqlite3"
    assert not rebuild_sync([corpus], streamed, params).incremental
    reference = assert_matches_reference(streamed, [corpus], params)
    assert any(p.citation.pages for p in reference.passages)
    pages = pages_of(streamed)
    assert pages["report.pdf"] and all(p is not None for p in pages["report.pdf"])
    assert (1, 2) in pages["report.pdf"] and all(p == (None, None) for p in pages["notes-1.md"])

    # the report's file is written again with another title, and a second PDF arrives: the reindex patches
    make_report(corpus / "report.pdf", metadata="The Board's Report")
    make_article(corpus / "article.pdf")
    age_files(corpus)
    result = rebuild_sync([corpus], streamed, params)
    assert result.incremental and result.analysed >= 1
    assert_same_as_full_build(streamed, full_build(corpus, tmp_path, params))
    after = pages_of(streamed)
    assert (1, 2) in after["report.pdf"] and {(1, 1), (2, 2), (3, 3)} <= set(after["article.pdf"])


def pages_of(db: Path) -> dict[str, list[tuple[int | None, int | None]]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT d.path, p.page_first, p.page_last FROM passages p JOIN documents d "
            "ON d.id = p.doc_id ORDER BY p.idx"
        ).fetchall()
    out: dict[str, list] = {}
    for path, first, last in rows:
        out.setdefault(Path(path).name, []).append((first, last))
    return out


# ---------------------------------------------------------------------------- PDF URLs --


def test_a_pdf_url_is_fetched_read_and_cited_with_its_url_and_pages(tmp_path: Path) -> None:
    from tests.support.web_server import PageServer

    made = make_report(tmp_path / "report.pdf")
    locked = make_encrypted(tmp_path / "locked.pdf")
    with PageServer() as server:
        url = server.page("/reports/water.pdf", made.path.read_bytes(), content_type="application/pdf")
        locked_url = server.page("/reports/locked.pdf", locked.read_bytes(), content_type="application/pdf")
        db = tmp_path / "index.sqlite3"
        done = citebot(tmp_path, "index", "--db", str(db), "--allow-private-addresses", url, locked_url)
        assert done.returncode == 0, done.stderr
        assert "Indexed 1 documents" in done.stdout
        assert [line for line in done.stderr.splitlines() if line.startswith("warning: ")] == [
            f"warning: {locked_url}: skipped, the PDF is password-protected"
        ]
        assert "application/pdf" in server.requests[0].headers["Accept"]
    done = citebot(tmp_path, "ask", "--db", str(db), "--json", "What was the phosphate level of the spring?")
    citation = json.loads(done.stdout)["passages"][0]["citation"]
    assert (citation["kind"], citation["url"], citation["pages"]) == ("pdf", url, [1, 2])
    assert citation["label"].endswith(f", pp. 1–2 ({url})")
