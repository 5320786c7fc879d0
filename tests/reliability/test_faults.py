"""Reliability, part 3: index and database faults (issue 5).

- `citebot index` killed with SIGKILL at random points (fixed seed) always leaves the previous
  index answering and the question log beside it intact, and leaves no temporary file behind
  once the next build has run.
- A damaged index or question log gives a one-line error that says how to recover (exit 2),
  never a traceback.
- A full disk during a build (a real OS limit: RLIMIT_FSIZE in the child, SIGXFSZ ignored, so
  writes fail with EFBIG) leaves the old index in place, with a clear message.
- Two `citebot index` runs at once: the second waits for the first; both finish, the
  generation goes up by two and the index is complete.

Figures (kill runs and where they landed) are printed with `-s` and quoted in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from citebot.bot.cli.main import main as cli_main
from citebot.bot.state.questionlog import QuestionLog, QuestionRecord
from citebot.index.answering.answerer import Answerer
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.errors import IndexLockedError, StateDatabaseError
from citebot.index.indexfile import IndexReader, build_lock
from tests.support.helpers import BUNDLED_ARTICLE

CITEBOT = Path(sys.executable).with_name("citebot")
KILL_RUNS = 20
KILL_SEED = 20251125
DOCS = 160
DEORBIT = "When will the ISS be deorbited?"


def environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}


# --------------------------------------------------------------------------- a corpus ----


class SyntheticCorpus:
    """DOCS generated articles (~0.5 MB), rewritten per build with a marker so that no build is
    served from the analysis cache: each `citebot index` takes about a second (0.4 s of it the build)."""

    def __init__(self, folder: Path, seed: int = 7) -> None:
        rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz"
        vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(5000)]
        self.folder = folder
        folder.mkdir()
        self.bodies = []
        for i in range(DOCS):
            paras = [
                " ".join(
                    " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 18))).capitalize() + "."
                    for _ in range(rng.randint(3, 5))
                )
                for _ in range(8)
            ]
            self.bodies.append(f"Document number {i}\n\n" + "\n\n".join(paras))
        # A question answered by document 5 only: its first sentence, as words.
        self.probe_question = self.bodies[5].split("\n\n")[1].split(".")[0] + "?"
        self.write(0)

    def write(self, marker: int) -> None:
        for i, body in enumerate(self.bodies):
            (self.folder / f"doc{i:04d}.txt").write_text(
                f"{body}\n\nThe build marker of this corpus is mark{marker}x for every document here.\n",
                encoding="utf-8",
            )


async def _check_index(db: Path, corpus: SyntheticCorpus) -> tuple[int, str]:
    """Open, validate and query the index; returns its generation and the marker it holds."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        markers = {
            m
            for (t,) in conn.execute("SELECT text FROM passages WHERE text LIKE '%build marker%'")
            for m in t.split()
            if m.startswith("mark") and m.endswith("x")
        }
    reader = await IndexReader.open(db)
    try:
        assert reader.info.passages == passages and reader.info.documents == documents == DOCS
        assert len(markers) == 1, markers  # one build's text, never a mix
        answer = await Answerer(reader).ask(corpus.probe_question)
        assert answer.answered and answer.hits[0].passage.citation.path.endswith("doc0005.txt")
        return reader.info.generation, markers.pop()
    finally:
        await reader.close()


async def _fill_log(path: Path, n: int) -> None:
    qlog = await QuestionLog.open(path)
    try:
        for i in range(n):
            await qlog.record(
                QuestionRecord(question=f"question {i}?", answered=i % 2 == 0, answer_ms=5.0 + i, user_id=1000 + i)
            )
    finally:
        await qlog.close()


async def _log_rows(path: Path) -> int:
    qlog = await QuestionLog.open(path)
    try:
        return (await qlog.stats()).questions
    finally:
        await qlog.close()


def _index(db: Path, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(CITEBOT), "index", "--db", str(db), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ(),
        cwd=folder.parent,
    )


# --------------------------------------------------------------------------- SIGKILL -----


def _kill_lane(folder: Path, lane: int, runs: int) -> dict[str, object]:
    """One sequence of builds over one index, each killed at a random point (seeded per lane)."""
    folder.mkdir()
    corpus = SyntheticCorpus(folder / "corpus")
    db = folder / "index.sqlite3"
    state = folder / "state.sqlite3"
    proc = _index(db, corpus.folder)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    asyncio.run(_fill_log(state, 25))
    # How long a rebuild over an existing index takes (it also reads the old analysis cache).
    corpus.write(1000)
    started = time.monotonic()
    proc = _index(db, corpus.folder)
    _, err = proc.communicate(timeout=120)
    full_run = time.monotonic() - started
    assert proc.returncode == 0, err.decode()
    generation, marker = asyncio.run(_check_index(db, corpus))
    assert (generation, marker) == (2, "mark1000x")

    rng = random.Random(KILL_SEED + lane)
    landed = {"before writing": 0, "while writing": 0, "after the swap": 0, "after finishing": 0}
    for run in range(1, runs + 1):
        corpus.write(run)
        proc = _index(db, corpus.folder)
        tmp = db.with_name(f".{db.name}.building-{proc.pid}")
        if run % 2:  # anywhere in the run
            time.sleep(rng.uniform(0.05, 1.1) * full_run)
        else:  # while the new file is being written: once it appears, within the next 60 ms
            deadline = time.monotonic() + 30
            while not tmp.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.06))
        writing = tmp.exists()
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        finished = proc.returncode == 0
        assert finished or proc.returncode == -signal.SIGKILL
        new_generation, new_marker = asyncio.run(_check_index(db, corpus))
        swapped = (new_generation, new_marker) == (generation + 1, f"mark{run}x")
        # The old index whole, or (when the kill came after the swap) the new one whole.
        assert swapped or (new_generation, new_marker) == (generation, marker)
        assert swapped or not finished
        landed[
            "after finishing"
            if finished
            else "after the swap"
            if swapped
            else "while writing"
            if writing
            else "before writing"
        ] += 1
        generation, marker = new_generation, new_marker
        assert asyncio.run(_log_rows(state)) == 25
    # The next build completes and clears what killed builds left behind.
    corpus.write(999)
    proc = _index(db, corpus.folder)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert asyncio.run(_check_index(db, corpus)) == (generation + 1, "mark999x")
    assert not list(db.parent.glob(f".{db.name}.building-*"))
    return {"full_run": full_run, **landed}


async def test_sigkill_at_random_points_keeps_the_old_index_and_the_log(tmp_path: Path) -> None:
    """KILL_RUNS builds over one index, each killed with SIGKILL at a random point."""
    lanes = [await asyncio.to_thread(_kill_lane, tmp_path / "lane0", 0, KILL_RUNS)]
    landed = {k: sum(int(lane[k]) for lane in lanes) for k in lanes[0] if k != "full_run"}
    runs = ", ".join(f"{float(lane['full_run']):.2f}" for lane in lanes)
    print(f"\nSIGKILL runs: {KILL_RUNS} (seed {KILL_SEED}, full runs {runs} s): {landed}")
    assert sum(landed.values()) == KILL_RUNS
    assert landed["before writing"] and landed["while writing"], landed  # both windows were hit


# --------------------------------------------------------------------------- damage ------


def _damaged_copies(good: Path, folder: Path) -> dict[str, Path]:
    data = good.read_bytes()
    variants = {
        "empty file": b"",
        "100 bytes": data[:100],
        "first page": data[:4096],
        "half": data[: len(data) // 2],
        "all but the last page": data[:-4096],
        "text file": b"this is not a database\n" * 200,
        "zeroed header": b"\0" * 100 + data[100:],
        "garbage middle": data[:8192] + os.urandom(len(data) // 2) + data[8192 + len(data) // 2 :],
    }
    out = {}
    for name, content in variants.items():
        path = folder / (name.replace(" ", "-") + ".sqlite3")
        path.write_bytes(content)
        out[name] = path
    return out


def test_damaged_index_gives_a_clear_error_not_a_traceback(
    tmp_path: Path, built_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, db in _damaged_copies(built_index, tmp_path).items():
        code = cli_main(["ask", "--db", str(db), DEORBIT])
        captured = capsys.readouterr()
        if code == 0:  # damage in a page the question never reads goes unnoticed, harmlessly
            assert name == "garbage middle" and "Answer" in captured.out
            continue
        assert code == 2, (name, captured.err)
        [line] = captured.err.strip().splitlines()
        assert line.startswith("citebot: error: ") and "citebot index" in line, (name, line)
    # And once through the real command.
    db = tmp_path / "half.sqlite3"
    done = subprocess.run(
        [str(CITEBOT), "ask", "--db", str(db), DEORBIT],
        capture_output=True,
        text=True,
        env=environ(),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "run 'citebot index' to rebuild it" in done.stderr


async def test_damaged_question_log_gives_a_clear_error(tmp_path: Path, built_index: Path) -> None:
    good = tmp_path / "good-state.sqlite3"
    await _fill_log(good, 400)
    data = good.read_bytes()
    variants = {
        "half": data[: len(data) // 2],
        "text": b"not a database\n" * 300,
        "zeroed header": b"\0" * 100 + data[100:],
    }
    for name, content in variants.items():
        path = tmp_path / f"{name.replace(' ', '-')}.sqlite3"
        path.write_bytes(content)
        with pytest.raises(StateDatabaseError) as err:
            await QuestionLog.open(path)
        assert "move it aside" in str(err.value) and str(path) in str(err.value), name
    # `citebot run` says so in one line, exit 2, before it ever connects.
    config = tmp_path / "config.toml"
    config.write_text(
        f'[corpus]\npaths = ["{BUNDLED_ARTICLE.parent}"]\n[index]\ndb = "{built_index}"\n'
        f'[log]\nstate_db = "{tmp_path / "half.sqlite3"}"\n'
        '[discord]\napi_base = "http://127.0.0.1:9/api/v10"\ngateway_url = "ws://127.0.0.1:9/gateway"\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [str(CITEBOT), "run", "--config", str(config)],
        capture_output=True,
        text=True,
        env=dict(environ(), DISCORD_TOKEN="fake-token-for-a-damaged-log"),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "move it aside" in done.stderr


# --------------------------------------------------------------------------- full disk ---


def _limit_file_size(limit: int):
    def apply() -> None:  # runs in the child before exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_during_a_build_keeps_the_old_index(tmp_path: Path, built_index: Path) -> None:
    db = tmp_path / "index.sqlite3"
    shutil.copy(built_index, db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(BUNDLED_ARTICLE, corpus / "article.txt")
    (corpus / "more.txt").write_text(
        "More Notes\n\n" + "The okapi survey counted animals in the forest. " * 400, encoding="utf-8"
    )
    done = subprocess.run(
        [str(CITEBOT), "index", "--db", str(db), str(corpus)],
        capture_output=True,
        text=True,
        env=environ(),
        cwd=tmp_path,
        timeout=120,
        preexec_fn=_limit_file_size(48 * 1024),
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("citebot: error: could not write the new index") and "disk full" in line
    assert "previous index is unchanged" in line
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not list(tmp_path.glob(".index.sqlite3.building-*"))
    asked = subprocess.run(
        [str(CITEBOT), "ask", "--db", str(db), DEORBIT],
        capture_output=True,
        text=True,
        env=environ(),
        cwd=tmp_path,
        timeout=60,
    )
    assert asked.returncode == 0 and "Answer" in asked.stdout


# --------------------------------------------------------------------------- two at once -


async def test_two_builds_at_once_the_second_waits(tmp_path: Path) -> None:
    corpus = SyntheticCorpus(tmp_path / "corpus")
    db = tmp_path / "index.sqlite3"
    first, second = _index(db, corpus.folder), _index(db, corpus.folder)
    results = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, [e.decode() for _, e in results]
    generations = sorted(int(out.decode().split("(generation ")[1].split(")")[0]) for out, _ in results)
    assert generations == [1, 2]
    assert await _check_index(db, corpus) == (2, "mark0x")
    assert not list(tmp_path.glob(".index.sqlite3.building-*"))


def test_a_build_that_must_not_wait_says_why(tmp_path: Path) -> None:
    """`/reindex` does not wait: it is told another build is running."""
    db = tmp_path / "index.sqlite3"
    with build_lock(db):
        with pytest.raises(IndexLockedError, match="another 'citebot index' is building"):
            rebuild_sync([BUNDLED_ARTICLE], db, IndexParams(), wait_for_lock=False)
    assert not db.exists()


def test_files_are_private(tmp_path: Path) -> None:
    """Index, lock and state files are created readable by the owner only (mode 0600)."""
    db = tmp_path / "data" / "index.sqlite3"
    state = tmp_path / "data" / "state.sqlite3"
    db.parent.mkdir()
    old = os.umask(0o022)
    try:
        rebuild_sync([BUNDLED_ARTICLE], db, IndexParams())
        rebuild_sync([BUNDLED_ARTICLE], db, IndexParams())  # the swapped-in file too
        asyncio.run(_fill_log(state, 3))
    finally:
        os.umask(old)
    for path in (db, db.with_name(db.name + ".lock"), state):
        assert path.stat().st_mode & 0o777 == 0o600, (path, oct(path.stat().st_mode))


async def test_a_damaged_index_swapped_in_under_a_running_bot_is_refused(
    tmp_path: Path, built_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot keeps answering from the index it has when the file is replaced by a damaged one,
    and takes the next good one."""
    from tests.support.bot_chat import ask_by_mention
    from tests.support.helpers import running_bot

    async with running_bot(tmp_path, built_index, cooldown_seconds=0.0) as env:
        db = env.settings.db_path
        broken = db.with_name("broken.sqlite3")
        broken.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
        os.replace(broken, db)
        await asyncio.sleep(0.6)  # three reload checks
        _, reply = await ask_by_mention(env, DEORBIT)
        assert reply["content"].startswith("**Answer:**")
        refusals = [r for r in caplog.records if "cannot be opened, still answering from the old one" in r.getMessage()]
        assert len(refusals) == 1  # said once, not at every check
        old_reader = env.live.reader
        await asyncio.to_thread(rebuild_sync, list(env.settings.corpus_paths), db, env.settings.index)
        for _ in range(50):
            if env.live.reader is not old_reader:
                break
            await asyncio.sleep(0.1)
        assert env.live.reader is not old_reader  # the good index that followed was taken
        _, reply = await ask_by_mention(env, DEORBIT)
        assert reply["content"].startswith("**Answer:**")
