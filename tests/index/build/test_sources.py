"""Reliability, part 2: corpus faults (issue 5).

Binary files, empty files, a 100 MB file, symlink loops, unreadable files, a file
deleted while indexing and duplicate documents: each gets a one-line warning naming the file,
the index is built from the rest, and `citebot index` fails (exit 2) only when nothing at all
could be indexed. Pathological text (a megabyte of one whitespace line, of "[a](") is parsed in
linear time.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citebot.index.build.params import IndexParams
from citebot.index.build.sources import load_corpus
from citebot.index.ingest.documents import parse_document
from tests.support.helpers import BUNDLED_ARTICLE, built_passages

CITEBOT = Path(sys.executable).with_name("citebot")
GOOD = "Moon Base Notes\n\nThe zebra observatory on the far side of the moon counts craters every night of the year.\n"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_index(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    return subprocess.run(
        [str(CITEBOT), "index", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


def faulty_corpus(folder: Path) -> dict[str, str]:
    """Every kind of bad file, and the words each warning must contain; plus two good files."""
    folder.mkdir()
    (folder / "article.txt").write_text(BUNDLED_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "good.md").write_text(GOOD, encoding="utf-8")
    expect: dict[str, str] = {}
    (folder / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(2048))
    expect["binary.txt"] = "binary"
    # Not UTF-8, but text: read as cp1252 (issue 12), so indexed, not a warning.
    (folder / "latin1.txt").write_bytes(
        "Caf\xe9 notes\n\nCaf\xe9 cr\xe8me br\xfbl\xe9e is a dessert worth a sentence "
        "of its own, says the chef.\n".encode("latin-1")
    )
    (folder / "empty.txt").write_bytes(b"")
    expect["empty.txt"] = "no text to index"
    (folder / "blank.md").write_text(" \n\t\n\u200b\n", encoding="utf-8")
    expect["blank.md"] = "no text to index"
    with open(folder / "huge.txt", "wb") as f:  # sparse: 100 MB on paper, nothing on disk
        f.write(GOOD.encode())
        f.truncate(100 * 1024 * 1024)
    expect["huge.txt"] = "larger than the 52,428,800-byte limit"
    (folder / "copy-of-article.txt").write_text(BUNDLED_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    expect["copy-of-article.txt"] = "same text as"
    os.symlink("loop-b.txt", folder / "loop-a.txt")
    os.symlink("loop-a.txt", folder / "loop-b.txt")
    expect["loop-a.txt"] = expect["loop-b.txt"] = "broken or looping symlink"
    os.symlink(".", folder / "self-loop")  # a folder symlink to itself: not followed, the walk ends
    expect["self-loop"] = "symlink to a folder"
    os.mkfifo(folder / "fifo.txt")  # reading it would block forever: it must be skipped, not opened
    expect["fifo.txt"] = "not a regular file"
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.txt").write_text(GOOD.replace("zebra", "okapi"), encoding="utf-8")
    return expect


def warning_lines(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    assert all(line.startswith("warning: ") for line in lines), stderr
    return lines


def test_every_corpus_fault_is_one_warning_and_the_rest_is_indexed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    expect = faulty_corpus(corpus)
    db = tmp_path / "index.sqlite3"
    started = time.monotonic()
    done = run_index(tmp_path, "--db", str(db), "--verbose", str(corpus))
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 60
    lines = warning_lines(done.stderr)
    for name, words in expect.items():
        mine = [line for line in lines if f"{corpus / name}:" in line]
        assert len(mine) == 1, (name, lines)  # exactly one line per bad file
        assert words in mine[0], (name, mine[0])
    assert len(lines) == len(expect)
    assert "Indexed 4 documents" in done.stdout  # article, good.md, latin1.txt, sub/notes.txt
    with sqlite3.connect(db) as conn:
        paths = sorted(Path(p).name for (p,) in conn.execute("SELECT path FROM documents"))
    assert paths == ["article.txt", "good.md", "latin1.txt", "notes.txt"]
    # Without --verbose, the four paths that are not regular files (two looping symlinks, the
    # folder symlink, the FIFO) are one counted line; kinds with three or fewer are listed.
    done = run_index(tmp_path, "--db", str(db), str(corpus))
    assert done.returncode == 0, done.stderr
    lines = warning_lines(done.stderr)
    assert (
        "warning: 4 paths skipped as not regular files (FIFOs, sockets, devices or symlinks); --verbose lists "
        "them" in lines
    )
    assert len(lines) == len(expect) - 3
    assert not any(f"{corpus / name}:" in line for line in lines for name in ("fifo.txt", "loop-a.txt", "self-loop"))


def test_exit_code_is_non_zero_only_when_nothing_could_be_indexed(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02")
    (bad / "empty.md").write_bytes(b"")
    (bad / "latin1.txt").write_bytes(b"caf\xe9")
    db = tmp_path / "index.sqlite3"
    done = run_index(tmp_path, "--db", str(db), str(bad))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("citebot: error: no documents could be indexed")
    assert len(warning_lines("\n".join(lines[:-1]))) == 3 and "Traceback" not in done.stderr
    assert not db.exists()
    # One readable file among them is enough.
    (bad / "good.txt").write_text(GOOD, encoding="utf-8")
    done = run_index(tmp_path, "--db", str(db), str(bad))
    assert done.returncode == 0 and "Indexed 1 documents" in done.stdout
    # A path that does not exist at all is a warning too.
    done = run_index(tmp_path, "--db", str(db), str(bad), str(tmp_path / "missing"))
    assert done.returncode == 0 and "missing: no such file or folder" in done.stderr


def test_a_file_over_the_default_limit_within_a_raised_limit_is_indexed(tmp_path: Path) -> None:
    """With corpus.max_file_mb raised, a 60 MB file (over the default 50 MB: text, then 60 MB of
    NULs that normalise to one whitespace line) is indexed in seconds. Before the line-based
    block splitter it hung: the block regex backtracked over every position of the long blank line."""
    size = 60 * 1024 * 1024
    assert size > IndexParams().max_file_bytes
    folder = tmp_path / "big"
    folder.mkdir()
    with open(folder / "huge.txt", "wb") as f:
        f.write(GOOD.encode() + b"filler words " * 700)
        f.truncate(size)
    (folder / "zeros.txt").touch()
    os.truncate(folder / "zeros.txt", size)  # all NULs: refused as binary, cleanly
    started = time.monotonic()
    documents, warnings = load_corpus([folder], max_file_bytes=2 * size)
    seconds = time.monotonic() - started
    assert [Path(d.path).name for d in documents] == ["huge.txt"]
    assert len(warnings) == 1 and "zeros.txt: skipped, looks binary" in str(warnings[0])
    built = built_passages(documents)
    assert any("zebra observatory" in s.passage.text for s in built)
    assert seconds < 30, seconds
    print(f"\n60 MB file loaded in {seconds:.1f} s")


@pytest.mark.parametrize(
    "line",
    [
        " " * 1_000_000,
        "[a](" * 250_000,
        "[" * 1_000_000,
        "\u3000" * 500_000 + "x",
        "# " + " " * 500_000 + "x",
        "**" * 500_000,
        "." * 1_000_000,
    ],
)
def test_pathological_lines_parse_in_linear_time(line: str) -> None:
    raw = GOOD + "\n\n" + line + "\n\n" + GOOD.replace("zebra", "okapi")
    for kind in ("txt", "md"):
        started = time.monotonic()
        doc = parse_document(raw, f"p.{kind}", kind=kind)
        built_passages([doc])
        assert time.monotonic() - started < 3, (kind, line[:10])
        assert any("okapi" in b.text for b in doc.paragraphs)


def test_file_deleted_while_indexing_is_a_warning(tmp_path: Path) -> None:
    """Files are discovered first and read one by one; one deleted in between is skipped."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(GOOD.replace("zebra", name[0] * 5), encoding="utf-8")

    def delete_the_next(done: int, total: int, what: str) -> None:
        if what.endswith("a.txt"):  # called just before a.txt is read: b.txt goes now
            (folder / "b.txt").unlink()

    documents, warnings = load_corpus([folder], progress=delete_the_next)
    assert [Path(d.path).name for d in documents] == ["a.txt", "c.txt"]
    assert len(warnings) == 1 and "b.txt: skipped, cannot be read (No such file or directory)" in str(warnings[0])


def test_duplicates_are_kept_once_by_content(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "a.txt").write_text(GOOD, encoding="utf-8")
    (two / "a-again.md").write_text(GOOD, encoding="utf-8")  # same text, other name and kind
    (two / "crlf.txt").write_bytes(GOOD.replace("\n", "\r\n").encode())  # same text after normalising
    documents, warnings = load_corpus([one, two])
    assert len(documents) == 1 and documents[0].path.endswith("a.txt")
    assert len(warnings) == 2 and all("same text as" in str(w) and str(one / "a.txt") in str(w) for w in warnings)


def test_unreadable_file_is_a_warning(tmp_path: Path) -> None:
    """chmod 000 blocks reading except for root (tests here often run as root), where a
    directory that cannot be listed is simulated by removing it while it is walked instead."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    secret = folder / "secret.txt"
    secret.write_text(GOOD.replace("zebra", "lemur"), encoding="utf-8")
    secret.chmod(0)
    try:
        if IS_ROOT:
            pytest.skip(
                "running as root: chmod 000 does not stop root from reading (FIFOs, loops and deleted "
                "files cover unreadable files in the other tests)"
            )
        documents, warnings = load_corpus([folder])
        assert [Path(d.path).name for d in documents] == ["good.txt"]
        assert len(warnings) == 1 and "secret.txt: skipped, cannot be read (Permission denied)" in str(warnings[0])
    finally:
        secret.chmod(0o644)


def test_unreadable_folder_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    (folder / "locked").mkdir(parents=True)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "locked" / "x.txt").write_text(GOOD.replace("zebra", "lemur"), encoding="utf-8")
    (folder / "locked").chmod(0)
    try:
        if IS_ROOT:
            pytest.skip("running as root: chmod 000 does not stop root from listing a folder")
        documents, warnings = load_corpus([folder])
        assert [Path(d.path).name for d in documents] == ["good.txt"]
        assert len(warnings) == 1 and "locked: skipped, cannot be read" in str(warnings[0])
    finally:
        (folder / "locked").chmod(0o755)
        shutil.rmtree(folder)
