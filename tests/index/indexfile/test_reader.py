"""The index file: self-describing, refused when incompatible or damaged, swapped in atomically.

The crash test runs the real `citebot index` in a subprocess and SIGKILLs it part-way; the
index it was replacing must still open and answer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from citebot.index.analysis import ANALYZER_VERSION
from citebot.index.answering.answerer import Answerer
from citebot.index.build.params import IndexParams
from citebot.index.build.reference import build_reference
from citebot.index.build.reindex import rebuild, rebuild_sync
from citebot.index.build.sources import corpus_fingerprint, load_corpus
from citebot.index.errors import (
    CorruptIndexError,
    EmptyCorpusError,
    IncompatibleIndexError,
    IndexLockedError,
    IndexMissingError,
)
from citebot.index.indexfile import APPLICATION_ID, SCHEMA_VERSION, IndexReader, build_lock, read_info
from citebot.index.ingest.passages import Passage
from tests.support.helpers import citebot_command

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
ROS_QUESTION = "When will the Russian Orbital Space Station be launched?"  # answered by paragraph 8


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / ARTICLE.name)
    return folder


@pytest.fixture(scope="module")
def pristine_index(built_index: Path) -> Path:
    """The session's index of the bundled article (conftest); read only, damage a copy."""
    return built_index


def copy_of(pristine: Path, tmp_path: Path, name: str = "index.sqlite3") -> Path:
    db = tmp_path / name
    shutil.copy(pristine, db)
    return db


async def top_paragraphs(db: Path, question: str) -> tuple[int, int]:
    reader = await IndexReader.open(db)
    try:
        answer = await Answerer(reader).ask(question)
        assert answer.hits, question
        return answer.hits[0].passage.citation.paragraphs
    finally:
        await reader.close()


# ---------------------------------------------------------------------------------------------
# Round trip and self-description


def unnamed(passage: Passage) -> Passage:
    return dataclasses.replace(passage, citation=dataclasses.replace(passage.citation, name=None))


async def test_write_then_open_round_trip(tmp_path, corpus):
    documents, _ = load_corpus([corpus])
    built = build_reference(documents)
    before = time.time()
    info = (await rebuild([corpus], tmp_path / "index.sqlite3", IndexParams())).info
    after = time.time()
    assert info.documents == 1 and info.passages == len(built.passages)
    assert info.terms == len(built.bm25.idf)

    reader = await IndexReader.open(tmp_path / "index.sqlite3")
    try:
        meta = reader.info.meta
        assert {"schema_version", "analyzer_version", "k1", "b", "fingerprint", "built_at", "generation"} <= set(meta)
        assert meta["schema_version"] == str(SCHEMA_VERSION)
        assert meta["analyzer_version"] == ANALYZER_VERSION
        assert float(meta["k1"]) == 0.7 and float(meta["b"]) == 0.9
        assert meta["fingerprint"] == corpus_fingerprint(documents, IndexParams(), ANALYZER_VERSION)
        assert before - 1 <= float(meta["built_at"]) <= after + 1
        assert meta["generation"] == "1"
        assert reader.info.documents == 1 and reader.info.passages == len(built.passages)
        assert reader.bm25.n_docs == len(built.passages)

        stored = await reader.passages(list(range(len(built.passages))))
        # The reader adds the name people see (relative to the corpus folder, source_names).
        assert {s.passage.citation.name for s in stored} == {f"{corpus.name}/nasa-roscosmos-2025.txt"}
        assert [unnamed(s.passage) for s in stored] == built.passages
        assert [list(s.sentences) for s in stored] == [[tuple(x) for x in spans] for spans in built.sentences]
        by_id = await reader.passage_by_id(built.passages[3].id)
        assert by_id is not None and unnamed(by_id.passage) == built.passages[3]
        assert await reader.passage_by_id("no-such-id") is None
        assert reader.acronyms.pairs == built.acronyms.pairs
    finally:
        await reader.close()

    with sqlite3.connect(tmp_path / "index.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


async def test_generation_increments_and_changed_on_disk(tmp_path, corpus):
    db = tmp_path / "index.sqlite3"
    assert (await rebuild([corpus], db, IndexParams())).info.generation == 1
    reader = await IndexReader.open(db)
    try:
        assert reader.info.generation == 1
        assert not reader.changed_on_disk()
        # A different corpus: the swapped-in file must not be confused with the one we hold.
        other = tmp_path / "other"
        other.mkdir()
        (other / "note.txt").write_text(
            "Moon base notes\n\nThe lunar base will be built near the south pole of the Moon by 2040.\n",
            encoding="utf-8",
        )
        result = await rebuild([other], db, IndexParams())
        assert result.info.generation == 2
        assert reader.changed_on_disk()
        # The open reader keeps reading the file it opened (the old one).
        assert (await reader.passages([0]))[0].passage.citation.document.startswith("NASA and Roscosmos")
        fresh = await IndexReader.open(db)
        try:
            assert fresh.info.generation == 2 and fresh.info.documents == 1
            assert not fresh.changed_on_disk()
            assert (await fresh.passages([0]))[0].passage.citation.document == "Moon base notes"
        finally:
            await fresh.close()
        assert (await rebuild([corpus], db, IndexParams())).info.generation == 3
    finally:
        await reader.close()


def test_missing_index_is_reported_as_missing(tmp_path):
    with pytest.raises(IndexMissingError, match="citebot index"):
        read_info(tmp_path / "nothing.sqlite3")


async def test_open_missing_index(tmp_path):
    with pytest.raises(IndexMissingError):
        await IndexReader.open(tmp_path / "nothing.sqlite3")


# ---------------------------------------------------------------------------------------------
# Incompatible and damaged files


def edit(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "statements",
    [
        ("UPDATE meta SET value = 'en-snowball-0' WHERE key = 'analyzer_version'",),
        ("DELETE FROM meta WHERE key = 'analyzer_version'",),
        (f"PRAGMA user_version = {SCHEMA_VERSION + 1}",),
        ("PRAGMA user_version = 0",),
    ],
    ids=["old-analyzer", "no-analyzer", "newer-schema", "schema-0"],
)
async def test_incompatible_index_is_refused_with_advice(tmp_path, pristine_index, statements):
    db = copy_of(pristine_index, tmp_path)
    edit(db, *statements)
    with pytest.raises(IncompatibleIndexError) as caught:
        await IndexReader.open(db)
    assert "run 'citebot index'" in str(caught.value)
    with pytest.raises(IncompatibleIndexError, match="run 'citebot index'"):
        read_info(db)


@pytest.mark.parametrize(
    "content",
    [
        random.Random(0).randbytes(20_000),
        b"this is a text file, not an index\n" * 100,
        b"SQLite format 3\x00" + random.Random(1).randbytes(5000),
        b"",
    ],
    ids=["random-bytes", "text", "fake-header", "empty"],
)
async def test_garbage_file_is_a_corrupt_index(tmp_path, content):
    db = tmp_path / "index.sqlite3"
    db.write_bytes(content)
    # An empty file holds nothing to lose: it is "no index yet", which may be built over.
    with pytest.raises(IndexMissingError if not content else CorruptIndexError):
        await IndexReader.open(db)


async def test_other_sqlite_database_is_not_an_index(tmp_path):
    db = tmp_path / "index.sqlite3"
    edit(db, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)")
    with pytest.raises(CorruptIndexError, match="not a citebot index"):
        await IndexReader.open(db)


async def test_truncated_index_is_a_corrupt_index(tmp_path, pristine_index):
    data = pristine_index.read_bytes()
    db = tmp_path / "index.sqlite3"
    for n in (len(data) // 2, len(data) // 4, 100):
        db.write_bytes(data[:n])
        with pytest.raises(CorruptIndexError, match="citebot index"):
            await IndexReader.open(db)


async def test_every_truncation_of_an_index_is_a_corrupt_index(tmp_path, pristine_index):
    data = pristine_index.read_bytes()
    db = tmp_path / "index.sqlite3"
    outcomes: dict[str, list[int]] = {}
    for n in range(0, len(data), 256):
        db.write_bytes(data[:n])
        try:
            reader = await IndexReader.open(db)
        except CorruptIndexError:
            continue
        except IndexMissingError:
            if n == 0:  # an empty file is "no index yet"
                continue
            raise
        except Exception as exc:  # noqa: BLE001 - recording what escaped is the point
            outcomes.setdefault(f"{type(exc).__name__}: {exc}", []).append(n)
        else:
            await reader.close()
            outcomes.setdefault("opened", []).append(n)
    assert outcomes == {}, f"of {len(data)} bytes: {outcomes}"


# ---------------------------------------------------------------------------------------------
# Locking


def test_second_non_waiting_lock_raises(tmp_path):
    db = tmp_path / "index.sqlite3"
    with build_lock(db):
        with pytest.raises(IndexLockedError, match="another 'citebot index'"):
            with build_lock(db, wait=False):
                pass
    with build_lock(db, wait=False):  # released: free again
        pass


def test_a_waiting_lock_waits_for_the_first(tmp_path):
    db = tmp_path / "index.sqlite3"
    acquired = threading.Event()

    def second() -> None:
        with build_lock(db, wait=True):
            acquired.set()

    with build_lock(db):
        thread = threading.Thread(target=second)
        thread.start()
        assert not acquired.wait(0.3)
    assert acquired.wait(5)
    thread.join(5)


def test_rebuild_while_locked_fails_fast_and_keeps_the_index(tmp_path, corpus, pristine_index):
    db = copy_of(pristine_index, tmp_path)
    before = db.read_bytes()
    with build_lock(db):
        with pytest.raises(IndexLockedError):
            rebuild_sync([corpus], db, IndexParams(), wait_for_lock=False)
    assert db.read_bytes() == before


async def test_empty_corpus_leaves_the_old_index(tmp_path, pristine_index):
    db = copy_of(pristine_index, tmp_path)
    before = db.read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmptyCorpusError):
        await rebuild([empty], db, IndexParams())
    assert db.read_bytes() == before
    assert await top_paragraphs(db, ROS_QUESTION) == (8, 8)


# ---------------------------------------------------------------------------------------------
# A build killed half-way


def generate_corpus(folder: Path, files: int = 100, paragraphs: int = 30) -> None:
    rng = random.Random(20250729)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10))) for _ in range(5000)]
    folder.mkdir(parents=True)
    for i in range(files):
        blocks = [f"Generated article number {i}"]
        for _ in range(paragraphs):
            sentences = [
                " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 20))).capitalize() + "."
                for _ in range(rng.randint(4, 7))
            ]  # 32-140 words: one passage each
            blocks.append(" ".join(sentences))
        (folder / f"doc{i:04d}.txt").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def allowed_leftover(name: str, db: Path) -> bool:
    return name in (db.name, db.name + ".lock") or name.startswith(f".{db.name}.building-")


async def test_killed_build_leaves_the_old_index_answering(tmp_path, corpus):
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    db = db_dir / "index.sqlite3"
    old = (await rebuild([corpus], db, IndexParams())).info
    assert await top_paragraphs(db, ROS_QUESTION) == (8, 8)
    big = tmp_path / "big"
    generate_corpus(big)
    env = clean_env(tmp_path)
    command = citebot_command() + ["index", "--db", str(db), str(big)]

    kept_old = 0
    killed_while_writing = False
    for delay in (0.15, 0.6, "writing"):
        proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            if delay == "writing":
                # Kill as soon as the temporary file the new index is written into appears.
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    if any(p.name.startswith(f".{db.name}.building-") for p in db_dir.iterdir()):
                        proc.send_signal(signal.SIGKILL)
                        killed_while_writing = True
                        break
                    time.sleep(0.001)
            else:
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
        finally:
            proc.communicate(timeout=60)

        # Whatever happened, the file at DB is a whole index that opens and answers.
        info = read_info(db)
        leftovers = sorted(p.name for p in db_dir.iterdir())
        print(f"kill at {delay}: exit {proc.returncode}, generation {info.generation}, files {leftovers}")
        assert all(allowed_leftover(name, db) for name in leftovers), leftovers
        if proc.returncode == -signal.SIGKILL and info.generation == old.generation:
            kept_old += 1
            assert info.fingerprint == old.fingerprint and info.passages == old.passages
            assert await top_paragraphs(db, ROS_QUESTION) == (8, 8)
        else:
            # The kill came after the swap (or the build won the race): the new index is complete.
            assert info.documents == 100 and info.passages == 100 * 30
            old = info
    assert killed_while_writing, "the build finished before its temporary file was seen"
    assert kept_old >= 1, "no kill landed before the swap; the corpus is too small for this machine"

    # The leftovers are not mistaken for the index: a new build and a question both work.
    done = subprocess.run(
        citebot_command() + ["index", "--db", str(db), str(corpus)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert read_info(db).generation == old.generation + 1
    asked = subprocess.run(
        citebot_command() + ["ask", "--db", str(db), "--json", ROS_QUESTION],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["passages"][0]["citation"]["paragraphs"] == [8, 8]
