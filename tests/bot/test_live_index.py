"""Publishing an index to a replica host by copy and rename, as docs/deploy.md documents it.

Why this test: on a replica nothing runs `citebot index`; the file is built once elsewhere and
copied in with `cp new host/index.sqlite3.tmp && mv -f host/index.sqlite3.tmp host/index.sqlite3`.
The bot must notice the new file by its identity (`LiveIndex.reload_if_changed`), answer from it
afterwards, and keep answering from the old one, without one error, while the copy is written
and renamed. The real `cp` and `mv` run, so the test is the documented procedure itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

from citebot.bot.live_index import LiveIndex
from citebot.bot.settings import Settings
from citebot.index.answering.answerer import AnswerParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.indexfile import IndexReader
from tests.support.helpers import BUNDLED_ARTICLE

NEW_FACT = "The Zorblax relay beacon on the lunar gateway is painted vermilion so crews can spot it."
QUESTION = "What colour is the Zorblax relay beacon painted?"
OLD_QUESTION = "Who is the head of Roscosmos?"


def _build_elsewhere(folder: Path) -> Path:
    """The new index, built on the 'build host': the bundled article plus one new fact."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(BUNDLED_ARTICLE, corpus / BUNDLED_ARTICLE.name)
    (corpus / "beacon.txt").write_text("Lunar gateway markings\n\n" + NEW_FACT + "\n", encoding="utf-8")
    db = folder / "index.sqlite3"
    rebuild_sync([corpus], db, Settings(corpus_paths=(corpus,), db_path=db, state_db_path=folder / "s").index)
    return db


async def _ask_and_poll(live: LiveIndex, stop: asyncio.Event, seen: list[tuple[str, bool]]) -> None:
    """What a running bot does meanwhile: answer questions and poll for a new file (any
    exception here fails the test: a replica must never error while an index is published)."""
    while not stop.is_set():
        await live.reload_if_changed()
        async with live.use() as answerer:
            for question in (QUESTION, OLD_QUESTION):
                answer = await answerer.ask(question)
                top = answer.hits[0].passage.text if answer.hits else ""
                seen.append((question, answer.answered and "Zorblax" in top))
        await asyncio.sleep(0)


async def test_copy_then_rename_is_picked_up_without_errors(tmp_path: Path, built_index: Path) -> None:
    new = _build_elsewhere(tmp_path / "build-host")
    host = tmp_path / "replica"
    host.mkdir()
    live_path = host / "index.sqlite3"
    shutil.copy(built_index, live_path)
    live = LiveIndex(await IndexReader.open(live_path), AnswerParams())
    try:
        async with live.use() as answerer:
            before = await answerer.ask(QUESTION)
            old_generation = answerer.reader.info.generation
        assert not any("Zorblax" in h.passage.text for h in before.hits)  # the old file has no such fact

        stop = asyncio.Event()
        seen: list[tuple[str, bool]] = []
        asker = asyncio.create_task(_ask_and_poll(live, stop, seen))
        await asyncio.sleep(0.05)
        # The documented procedure: a temporary name in the same folder, then a rename over the live file.
        tmp = host / "index.sqlite3.tmp"
        copy = await asyncio.create_subprocess_exec("cp", str(new), str(tmp))
        assert await copy.wait() == 0
        await asyncio.sleep(0.05)  # questions go on from the old file while the copy sits beside it
        assert not live.reader.changed_on_disk()
        move = await asyncio.create_subprocess_exec("mv", "-f", str(tmp), str(live_path))
        assert await move.wait() == 0
        for _ in range(200):
            if any(q == QUESTION and from_new for q, from_new in seen):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        stop.set()
        await asker  # re-raises whatever the answering loop met

        # Before the rename every answer came from the old file, after it from the new one, with
        # no question lost between: the old file still answers its own question throughout.
        flags = [from_new for q, from_new in seen if q == QUESTION]
        assert flags and not flags[0] and flags[-1]
        switch = flags.index(True)
        assert all(flags[switch:])
        assert len([q for q, _ in seen if q == OLD_QUESTION]) == len(flags)
        assert not tmp.exists()
        assert live.path == live_path and not live.reader.changed_on_disk()
        async with live.use() as answerer:
            after = await answerer.ask(QUESTION)
            assert answerer.reader.info.passages > 0
        assert after.answered and "vermilion" in (after.answer or after.hits[0].passage.text)
        # The copy carries the build host's generation, so every replica's footer names the same one.
        assert live.reader.info.generation == _generation(new)
        assert old_generation >= 1
    finally:
        await live.close()


def _generation(path: Path) -> int:
    """The generation stamped in an index file, read as a replica reads it (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        (value,) = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return int(value)


async def test_a_partial_copy_renamed_in_is_refused_and_the_old_file_keeps_answering(
    tmp_path: Path, built_index: Path
) -> None:
    """A copy cut short (a full disk, an interrupted scp) and renamed in anyway must not take the
    replica down: the reload refuses it once and the old reader keeps answering; the next good
    copy is picked up."""
    new = _build_elsewhere(tmp_path / "build-host")
    host = tmp_path / "replica"
    host.mkdir()
    live_path = host / "index.sqlite3"
    shutil.copy(built_index, live_path)
    live = LiveIndex(await IndexReader.open(live_path), AnswerParams())
    try:
        tmp = host / "index.sqlite3.tmp"
        tmp.write_bytes(new.read_bytes()[:4096])
        subprocess.run(["mv", "-f", str(tmp), str(live_path)], check=True)
        assert await live.reload_if_changed() is False
        assert await live.reload_if_changed() is False  # the same damaged file: refused once, not retried
        async with live.use() as answerer:
            answer = await answerer.ask(OLD_QUESTION)
        assert answer.answered

        subprocess.run(["cp", str(new), str(tmp)], check=True)
        subprocess.run(["mv", "-f", str(tmp), str(live_path)], check=True)
        assert await live.reload_if_changed() is True
        async with live.use() as answerer:
            answer = await answerer.ask(QUESTION)
        assert answer.answered and any("Zorblax" in h.passage.text for h in answer.hits)
    finally:
        await live.close()
