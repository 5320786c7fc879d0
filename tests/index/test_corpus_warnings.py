"""Warnings a person can read (issue 12): what a build skipped is typed (`CorpusWarning`) and
summarised in one place, so many of a kind are one counted line, `--verbose` lists them all,
files of other kinds found in folders are counted per extension, and "no documents" says which
kinds citebot reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.index.build.sources import load_corpus
from citebot.index.corpus_warnings import LIST_AT_MOST, CorpusWarning, WarningKind, count_skipped, summarise
from citebot.index.ingest.documents import READ_KINDS, SUPPORTED_SUFFIXES
from tests.support.helpers import BUNDLED_ARTICLE

CITEBOT = Path(sys.executable).with_name("citebot")
SEED_DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "seed-dev.jsonl"
GOOD = "Moon Base Notes\n\nThe zebra observatory on the far side of the moon counts craters every night of the year.\n"


def citebot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    return subprocess.run([str(CITEBOT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def copies(folder: Path, n: int) -> list[Path]:
    """The bundled article and `n` copies of it under other names, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUNDLED_ARTICLE, folder / "article.txt")
    made = []
    for i in range(n):
        made.append(folder / f"copy-{i:03d}.txt")
        shutil.copy(BUNDLED_ARTICLE, made[-1])
    return made


# ----------------------------------------------------------------------------- summarise --


def test_a_few_of_a_kind_are_listed_and_more_are_counted() -> None:
    dupes = [CorpusWarning.duplicate(f"c/copy-{i}.txt", "c/a.txt") for i in range(LIST_AT_MOST + 1)]
    empties = [CorpusWarning.empty(f"c/empty-{i}.md") for i in range(LIST_AT_MOST)]
    others = [
        CorpusWarning(WarningKind.UNSUPPORTED, name, f"skipped, {Path(name).suffix} is not a kind citebot reads")
        for name in ("c/a.epub", "c/b.odt", "c/c.epub", "c/d.EPUB", "c/LICENSE")
    ]
    stale = CorpusWarning(WarningKind.KEPT_EARLIER_COPY, "https://example.org/a", "fetch failed (HTTP 503); kept ...")
    warnings = [dupes[0], *empties[:1], *others, stale, *dupes[1:], *empties[1:]]

    lines = summarise(warnings)
    assert lines == [
        f"{LIST_AT_MOST + 1} files skipped as duplicates of others; --verbose lists them",
        *(str(w) for w in empties),
        "5 files of unsupported kinds skipped (.epub 3, .odt 1, no extension 1); --verbose lists them",
        "https://example.org/a: fetch failed (HTTP 503); kept ...",
    ]
    assert summarise(warnings, verbose=True) == [str(w) for w in warnings]
    assert summarise(dupes, more="")[0] == f"{LIST_AT_MOST + 1} files skipped as duplicates of others"
    # The page served from the web cache is in the index: it is not counted as skipped.
    assert count_skipped(warnings) == len(warnings) - 1


def test_the_kinds_read_are_named_in_full() -> None:
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in READ_KINDS, suffix
    assert "URLs" in READ_KINDS


def test_files_of_other_kinds_in_folders_are_warnings_not_silence(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "report.epub").write_bytes(b"PK\x03\x04")
    (corpus / "sub" / "letter.odt").write_bytes(b"PK\x03\x04")
    (corpus / "Makefile").write_text("all:\n", encoding="utf-8")
    (corpus / ".hidden.epub").write_bytes(b"PK")  # hidden files and folders are not looked at
    (corpus / ".git").mkdir()
    (corpus / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    docs, warnings = load_corpus([corpus])
    assert [Path(d.path).name for d in docs] == ["good.txt"]
    assert sorted((w.kind, Path(w.path).name) for w in warnings) == [
        (WarningKind.UNSUPPORTED, "Makefile"),
        (WarningKind.UNSUPPORTED, "letter.odt"),
        (WarningKind.UNSUPPORTED, "report.epub"),
    ]
    assert f"{corpus / 'report.epub'}: skipped, .epub is not a kind citebot reads" in map(str, warnings)
    assert f"{corpus / 'Makefile'}: skipped, a file without an extension is not a kind citebot reads" in map(
        str, warnings
    )
    # Given by name, an .epub gets the same warning as one found in a folder.
    _, named = load_corpus([corpus / "good.txt", corpus / "report.epub"])
    assert [(w.kind, str(w)) for w in named] == [
        (WarningKind.UNSUPPORTED, f"{corpus / 'report.epub'}: skipped, .epub is not a kind citebot reads")
    ]


# ------------------------------------------------------------------------------ the CLI --


def test_98_duplicates_are_one_line_and_verbose_lists_every_one(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    made = copies(corpus, 98)
    db = tmp_path / "index.sqlite3"
    done = citebot(tmp_path, "index", "--db", str(db), str(corpus))
    assert done.returncode == 0, done.stderr
    assert warning_lines(done.stderr) == ["warning: 98 files skipped as duplicates of others; --verbose lists them"]
    assert "Indexed 1 documents" in done.stdout

    done = citebot(tmp_path, "index", "--db", str(db), "--verbose", str(corpus))
    assert done.returncode == 0, done.stderr
    lines = warning_lines(done.stderr)
    assert lines == [f"warning: {path}: skipped, same text as {corpus / 'article.txt'}" for path in made]


def test_unsupported_kinds_are_counted_per_extension_by_every_build(tmp_path: Path) -> None:
    """The full build and the incremental one (the second run) report the same counts."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    for name in ("a.epub", "b.epub", "c.odt", "d.epub"):
        (corpus / name).write_bytes(b"not text we read")
    db = tmp_path / "index.sqlite3"
    expected = "warning: 4 files of unsupported kinds skipped (.epub 3, .odt 1); --verbose lists them"
    first = citebot(tmp_path, "index", "--db", str(db), str(corpus))
    assert first.returncode == 0, first.stderr
    assert warning_lines(first.stderr) == [expected]
    assert "Updated:" not in first.stdout
    second = citebot(tmp_path, "index", "--db", str(db), str(corpus))
    assert second.returncode == 0, second.stderr
    assert "Updated:" in second.stdout  # the incremental path
    assert warning_lines(second.stderr) == [expected]


def test_a_damaged_pdf_in_a_folder_is_counted_as_skipped(tmp_path: Path) -> None:
    """A PDF that cannot be read: in a folder it is a warning naming it, as when given directly."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "paper.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    db = tmp_path / "index.sqlite3"
    for target in (corpus, corpus / "paper.pdf"):
        done = citebot(tmp_path, "index", "--db", str(db), str(target), str(corpus / "good.txt"))
        assert done.returncode == 0, done.stderr
        assert warning_lines(done.stderr) == [
            f"warning: {corpus / 'paper.pdf'}: skipped, not a readable PDF (damaged, or not a PDF: data format error)"
        ], target
        assert "Indexed 1 documents" in done.stdout


def test_no_documents_names_the_kinds_citebot_reads(tmp_path: Path) -> None:
    corpus = tmp_path / "books"
    corpus.mkdir()
    for name in ("a.epub", "b.epub", "c.epub", "d.epub", "e.odt"):
        (corpus / name).write_bytes(b"PK")
    db = tmp_path / "index.sqlite3"
    done = citebot(tmp_path, "index", "--db", str(db), str(corpus))
    assert done.returncode == 2
    *warned, error = done.stderr.strip().splitlines()
    assert warned == ["warning: 5 files of unsupported kinds skipped (.epub 4, .odt 1); --verbose lists them"]
    assert error == f"citebot: error: no documents could be indexed from {corpus} ({READ_KINDS})"
    for kind in (".txt", ".md", ".html/.htm", ".pdf", "URLs"):
        assert kind in error
    assert not db.exists()


@pytest.mark.skipif(not SEED_DEV.exists(), reason="needs ../shared/eval/seed-dev.jsonl beside the project")
def test_eval_corpus_summarises_its_warnings_too(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    copies(corpus, 5)
    done = citebot(tmp_path, "eval", str(SEED_DEV), "--corpus", str(corpus))
    assert done.returncode == 0, done.stderr
    assert warning_lines(done.stderr) == ["warning: 5 files skipped as duplicates of others; --verbose lists them"]
    assert "corpus: 1 documents" in done.stdout
    done = citebot(tmp_path, "eval", str(SEED_DEV), "--corpus", str(corpus), "--verbose")
    assert done.returncode == 0, done.stderr
    assert len(warning_lines(done.stderr)) == 5
    assert all("same text as" in line for line in warning_lines(done.stderr))
