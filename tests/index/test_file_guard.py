"""No file that is not Citebot's is ever replaced or written into: not at the index path
(`--db`, `index.db`), not at the state path (`log.state_db`).

Every test compares the file's bytes before and after, and checks the refusal names the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.state.questionlog import APPLICATION_ID as STATE_APPLICATION_ID
from citebot.bot.state.questionlog import QuestionLog, QuestionRecord
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.errors import ForeignFileError, StateDatabaseError
from citebot.index.indexfile import APPLICATION_ID as INDEX_APPLICATION_ID
from citebot.index.indexfile import install, read_info, temporary_path

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"
CITEBOT = Path(sys.executable).with_name("citebot")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def other_database(path: Path, application_id: int = 0) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
        db.execute("INSERT INTO recipes VALUES ('bread')")
        if application_id:
            db.execute(f"PRAGMA application_id = {application_id}")
    return path


def foreign_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    note = folder / "garden.md"
    note.write_text("# My garden\n\nTomatoes by the south wall.\n", encoding="utf-8")
    photo = folder / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(2000))
    return {
        "markdown note": note,
        "binary file": photo,
        "sqlite of another program": other_database(folder / "recipes.sqlite3"),
        "sqlite with another application id": other_database(folder / "marked.sqlite3", application_id=0x12345678),
    }


def environ(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "DISCORD_TOKEN")}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    return env


# --------------------------------------------------------------------------- the index ---


def test_citebot_index_never_replaces_a_file_that_is_not_an_index(tmp_path: Path) -> None:
    """The reported data loss: `ask --db notes/garden.md` said "damaged, run citebot index",
    and doing so replaced the note with an index."""
    for name, path in foreign_files(tmp_path / "notes").items():
        before = digest(path)
        asked = subprocess.run(
            [str(CITEBOT), "ask", "What is JAXA?", "--db", str(path)],
            capture_output=True,
            text=True,
            env=environ(tmp_path),
            cwd=tmp_path,
            timeout=60,
        )
        assert asked.returncode == 2, (name, asked.stderr)
        assert "rebuild it" not in asked.stderr and "not a citebot index" in asked.stderr, (name, asked.stderr)
        built = subprocess.run(
            [str(CITEBOT), "index", str(ARTICLE), "--db", str(path)],
            capture_output=True,
            text=True,
            env=environ(tmp_path),
            cwd=tmp_path,
            timeout=60,
        )
        assert built.returncode == 2, (name, built.stderr)
        [line] = built.stderr.strip().splitlines()
        assert str(path) in line and "left untouched" in line, (name, line)
        assert digest(path) == before, name
    # Nothing was left beside the files either (no lock file, no half-built index).
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == [
        "garden.md",
        "marked.sqlite3",
        "photo.jpg",
        "recipes.sqlite3",
    ]


def test_an_index_of_ours_an_empty_file_and_no_file_may_be_replaced(tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    assert rebuild_sync([ARTICLE], db, IndexParams()).info.generation == 1
    assert rebuild_sync([ARTICLE], db, IndexParams()).info.generation == 2  # over our own index
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])  # a damaged index of ours
    assert rebuild_sync([ARTICLE], db, IndexParams()).info.documents == 1
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    assert rebuild_sync([ARTICLE], empty, IndexParams()).info.documents == 1
    with sqlite3.connect(empty) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == INDEX_APPLICATION_ID


def test_a_file_put_at_the_index_path_during_a_build_is_not_replaced(tmp_path: Path) -> None:
    """The check is made again at the swap: a build can take minutes."""
    db = tmp_path / "index.sqlite3"
    rebuild_sync([ARTICLE], db, IndexParams())
    tmp = temporary_path(db)
    shutil.copy(db, tmp)  # a finished new index, ready to swap in
    db.unlink()
    db.write_text("written by somebody while the build ran\n", encoding="utf-8")
    with pytest.raises(ForeignFileError, match="left untouched"):
        install(tmp, db)
    assert db.read_text(encoding="utf-8") == "written by somebody while the build ran\n"


def test_a_symlink_to_a_foreign_file_is_refused_too(tmp_path: Path) -> None:
    note = foreign_files(tmp_path / "notes")["markdown note"]
    link = tmp_path / "index.sqlite3"
    link.symlink_to(note)
    before = digest(note)
    with pytest.raises(ForeignFileError):
        rebuild_sync([ARTICLE], link, IndexParams())
    assert link.is_symlink() and digest(note) == before


def test_a_folder_at_the_index_path_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "index.sqlite3"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ForeignFileError, match="a folder"):
        rebuild_sync([ARTICLE], folder, IndexParams())
    assert (folder / "keep.txt").read_text(encoding="utf-8") == "mine"


# --------------------------------------------------------------------------- the state database ---


def _record() -> QuestionRecord:
    return QuestionRecord(question="What is JAXA?", answered=True, answer_ms=3.0, user_id=42)


def test_the_state_database_is_never_written_into_a_file_that_is_not_ours(tmp_path: Path) -> None:
    for name, path in foreign_files(tmp_path / "notes").items():
        before = digest(path)
        with pytest.raises(StateDatabaseError) as err:
            asyncio.run(QuestionLog.open(path))
        assert str(path) in str(err.value) and "left untouched" in str(err.value), name
        assert digest(path) == before, name


async def test_a_new_state_database_is_marked_as_ours(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    qlog = await QuestionLog.open(path)
    await qlog.record(_record())
    await qlog.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == STATE_APPLICATION_ID
    again = await QuestionLog.open(path)
    assert (await again.stats()).questions == 1
    await again.close()


async def test_a_state_database_from_before_the_mark_is_kept_and_marked(tmp_path: Path) -> None:
    """State files written by earlier versions carry no application id, only our tables."""
    path = tmp_path / "state.sqlite3"
    qlog = await QuestionLog.open(path)
    await qlog.record(_record())
    await qlog.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA application_id = 0")
    again = await QuestionLog.open(path)
    assert (await again.stats()).questions == 1
    await again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == STATE_APPLICATION_ID


def test_read_info_of_a_refused_file_still_names_it(tmp_path: Path) -> None:
    note = foreign_files(tmp_path / "notes")["markdown note"]
    with pytest.raises(Exception, match="not a citebot index") as err:
        read_info(note)
    assert str(note) in str(err.value)
