"""The bot's memory: which questions were asked and how answers were rated (no discord import).

Why a file of its own, apart from the index: the index file is replaced whole on every
reindex, while questions and votes must survive reindexing and restarts. The file is created
with mode 0600 because it holds what people asked.

What is stored, and what is not:
- a question row (time, guild, channel, question, answered, top citation, answer time) only when
  `enabled` (config `log.questions`); rows older than `retention_days` are deleted;
- the asker is never stored as an id: a keyed hash (HMAC-SHA256 with a random key generated
  once and kept in this file), so rows from one person can be grouped but not traced back
  without the file;
- feedback votes (answer message id, hashed voter, +1/-1, the collection answered from) are kept
  even when question logging is off, because one-vote-per-person needs them and they hold no text;
- the optional one-line reason given with a 👎 is text, so it is treated like a question: stored
  only when `enabled`, forgotten after `retention_days` (the vote itself stays).
Which collection (`[[collections]]`) answered, and the id of the top passage, are stored with
each question (columns added to older files in place), for `/stats` and the knowledge-gaps report.
When logging is off, counts and answer times for `/stats` are kept in memory for this process.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import aiosqlite

from citebot.index.errors import StateDatabaseError
from citebot.index.file_guard import ensure_ours_or_absent
from citebot.index.gaps import GapQuestion

from .store import (
    DEFAULT_COLLECTION,
    QUESTION_COLUMNS,
    REASON_MAX_CHARS,
    SHARD_OF_ROW,
    LogStats,
    QuestionRecord,
    SessionLog,
    StateStore,
    keyed_user_hash,
    one_line_reason,
    question_row,
    stored_collection,
)

__all__ = [
    "DEFAULT_COLLECTION",
    "REASON_MAX_CHARS",
    "LogStats",
    "QuestionLog",
    "QuestionRecord",
    "SqliteQuestionLog",
    "StateStore",
]

log = logging.getLogger(__name__)

_INSERT_QUESTION = (
    f"INSERT INTO questions ({', '.join(QUESTION_COLUMNS)}) VALUES ({', '.join('?' * len(QUESTION_COLUMNS))})"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS secret (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    asked_at REAL NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER,
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    answered INTEGER NOT NULL,
    top_citation TEXT,
    answer_ms REAL NOT NULL,
    message_id INTEGER
);
CREATE INDEX IF NOT EXISTS questions_time ON questions (asked_at);
CREATE TABLE IF NOT EXISTS feedback (
    message_id INTEGER NOT NULL,
    user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at REAL NOT NULL,
    PRIMARY KEY (message_id, user_hash)
);
"""
# Columns added since the first schema, added in place to older files (ALTER TABLE ... ADD COLUMN).
_ADDED_COLUMNS = (
    ("questions", "collection", "TEXT"),  # NULL: the default collection
    ("questions", "top_passage", "TEXT"),  # the top passage's id (answered or closest match)
    ("feedback", "collection", "TEXT"),
    ("feedback", "reason", "TEXT"),  # the optional one-line reason given with a 👎
)
SCHEMA_VERSION = 2
APPLICATION_ID = 0x43495453  # "CITS": marks the state file as ours in the SQLite header
# The tables every state file has had; an unmarked SQLite file without them is someone else's.
_OUR_TABLES = {"secret", "questions", "feedback"}
_MOVE_IT_ASIDE = (
    "If it is a damaged state file, move it aside (e.g. rename it to {name}.damaged) and citebot "
    "starts a new one; otherwise choose another log.state_db"
)


async def _fetchall(db: aiosqlite.Connection, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """`db.execute_fetchall`, typed as what it returns: aiosqlite annotates it Iterable[Row], but
    it returns cursor.fetchall()'s list (which this module indexes), and of plain tuples, since
    no connection here sets a row_factory."""
    return cast(list[tuple[Any, ...]], await db.execute_fetchall(sql, parameters))


class SqliteQuestionLog:
    """The question log and feedback store in a private SQLite file; one aiosqlite connection,
    written by one task. Not shared: a second process cannot open the same file safely."""

    shared = False

    def __init__(self, db: aiosqlite.Connection, key: bytes, enabled: bool, retention_days: int, path: Path) -> None:
        self._db = db
        self._key = key
        self.enabled = enabled
        self.retention_days = retention_days
        self.path = path
        # In-memory figures for this process, used by stats() when logging is off:
        # (collection, answer ms, answered) per question.
        self._session = SessionLog()

    @classmethod
    async def open(cls, path: Path, *, enabled: bool = True, retention_days: int = 30) -> SqliteQuestionLog:
        """Open (creating with mode 0600) the state file, and purge rows past retention."""
        path = Path(path)
        # Files from before the state file was marked have no application id: accepted only
        # when they hold our tables (checked below, before anything is written).
        ensure_ours_or_absent(
            path,
            APPLICATION_ID,
            "state database",
            _MOVE_IT_ASIDE.format(name=path.name),
            legacy_ok=True,
            error=StateDatabaseError,
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            os.chmod(path, 0o600)
        except OSError as exc:
            raise StateDatabaseError(
                f"cannot create the state database {path} ({exc.strerror or exc}); choose another log.state_db"
            ) from exc
        db = await aiosqlite.connect(path)
        try:
            # A damaged file can open and even take the schema; quick_check finds it now rather
            # than at the first question.
            (check,) = (await _fetchall(db, "PRAGMA quick_check(1)"))[0]
            if check != "ok":
                raise sqlite3.DatabaseError(check)
            await cls._claim(db, path)
            await db.executescript(_SCHEMA)
            await cls._add_columns(db)
            await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            key = await cls._hash_key(db)
            await db.commit()
        except sqlite3.DatabaseError as exc:
            await db.close()
            raise StateDatabaseError(
                f"{path} is damaged or not a citebot state file ({exc}). It holds only the question log and "
                f"feedback votes: move it aside (e.g. rename it to {path.name}.damaged) and citebot starts a new one"
            ) from exc
        except BaseException:
            await db.close()
            raise
        qlog = cls(db, key, enabled, retention_days, path)
        await qlog.purge()
        if not enabled:
            # Logging was turned off: forget what earlier runs stored.
            await db.execute("DELETE FROM questions")
            await db.execute("UPDATE feedback SET reason = NULL WHERE reason IS NOT NULL")
            await db.commit()
        return qlog

    @staticmethod
    async def _add_columns(db: aiosqlite.Connection) -> None:
        """Bring a file of an earlier schema up to date, adding columns only (nothing is lost)."""
        for table, column, kind in _ADDED_COLUMNS:
            have = {row[1] for row in await _fetchall(db, f"PRAGMA table_info({table})")}
            if column not in have:
                await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @staticmethod
    async def _claim(db: aiosqlite.Connection, path: Path) -> None:
        """Mark a new or legacy state file as ours; refuse an unmarked SQLite file of someone else's."""
        ((app,),) = await _fetchall(db, "PRAGMA application_id")
        if app == APPLICATION_ID:
            return
        tables = {
            name
            for (name,) in await _fetchall(
                db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'index', 'view', 'trigger')"
            )
        }
        if tables and not (_OUR_TABLES <= tables):
            raise StateDatabaseError(
                f"{path} is not a Citebot state database (an SQLite database with other tables); it was left "
                f"untouched. Choose another log.state_db, or move that file away"
            )
        await db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    @staticmethod
    async def _hash_key(db: aiosqlite.Connection) -> bytes:
        rows = await _fetchall(db, "SELECT value FROM secret WHERE name = 'user_hash_key'")
        if rows:
            return bytes(rows[0][0])
        key = secrets.token_bytes(32)
        await db.execute("INSERT INTO secret VALUES ('user_hash_key', ?)", (key,))
        return key

    def user_hash(self, user_id: int) -> str:
        """A stable pseudonym for a user: HMAC-SHA256 of the id under this file's random key."""
        return keyed_user_hash(self._key, user_id)

    async def close(self) -> None:
        await self._db.close()

    async def record(self, rec: QuestionRecord) -> int | None:
        """Remember one question; returns its row id, or None when logging is off."""
        self._session.add(rec)
        if not self.enabled:
            return None
        cursor = await self._db.execute(_INSERT_QUESTION, question_row(rec, self.user_hash(rec.user_id)))
        await self._db.commit()
        return cursor.lastrowid

    async def attach_message(self, row_id: int | None, message_id: int) -> None:
        """Link a logged question to the answer message that carries its feedback buttons."""
        if row_id is None or not self.enabled:
            return
        await self._db.execute("UPDATE questions SET message_id = ? WHERE id = ?", (message_id, row_id))
        await self._db.commit()

    async def vote(self, message_id: int, user_id: int, vote: int, collection: str | None = None) -> str:
        """Record a 👍 (+1) or 👎 (-1) on an answer; one vote per person per answer.

        A second click with the other thumb changes the vote (and drops a reason given with
        the 👎); the same thumb again changes nothing. Returns "new", "changed" or "same".
        """
        if vote not in (-1, 1):
            raise ValueError("vote must be +1 or -1")
        who = self.user_hash(user_id)
        rows = await _fetchall(
            self._db, "SELECT vote FROM feedback WHERE message_id = ? AND user_hash = ?", (message_id, who)
        )
        if rows and rows[0][0] == vote:
            return "same"
        await self._db.execute(
            "INSERT INTO feedback (message_id, user_hash, vote, voted_at, collection) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (message_id, user_hash)"
            " DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at, reason = NULL",
            (message_id, who, vote, time.time(), stored_collection(collection)),
        )
        await self._db.commit()
        return "changed" if rows else "new"

    async def set_reason(self, message_id: int, user_id: int, reason: str) -> bool:
        """Keep the one-line reason a person gave with their 👎 on an answer.

        Stored only while question logging is on (it is text people wrote) and only on an
        existing 👎; cut to one line of REASON_MAX_CHARS. An empty one changes nothing. True when stored.
        """
        text = one_line_reason(reason)
        if not self.enabled or not text:
            return False
        cursor = await self._db.execute(
            "UPDATE feedback SET reason = ? WHERE message_id = ? AND user_hash = ? AND vote = -1",
            (text, message_id, self.user_hash(user_id)),
        )
        await self._db.commit()
        return bool(cursor.rowcount)

    async def purge(self) -> int:
        """Delete question rows older than the retention period; returns how many went."""
        cutoff = time.time() - self.retention_days * 86400
        cursor = await self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
        await self._db.execute("UPDATE feedback SET reason = NULL WHERE voted_at < ? AND reason IS NOT NULL", (cutoff,))
        await self._db.commit()
        if cursor.rowcount:
            log.info("purged %d questions older than %d days", cursor.rowcount, self.retention_days)
        return cursor.rowcount

    async def stats(self, collection: str | None = None) -> LogStats:
        """Questions, how many were answered, the median answer time, and vote counts; of one
        collection when `collection` is given, else of all."""
        where, args = ("", ()) if collection is None else (f" WHERE {_COLLECTION_IS}", (collection,))
        votes = dict(await _fetchall(self._db, f"SELECT vote, COUNT(*) FROM feedback{where} GROUP BY vote", args))
        up, down = int(votes.get(1, 0)), int(votes.get(-1, 0))
        if not self.enabled:
            return self._session.stats(collection, up, down)
        rows = await _fetchall(self._db, f"SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM questions{where}", args)
        total, answered = rows[0]
        times = [r[0] for r in await _fetchall(self._db, f"SELECT answer_ms FROM questions{where}", args)]
        median = statistics.median(times) if times else None
        return LogStats(int(total), int(answered), median, up, down, persisted=True)

    async def questions_by_shard(self, shard_count: int, collection: str | None = None) -> dict[int, int]:
        """How many logged questions each shard's guilds asked ({} while logging is off). This file
        is one process's own, so it holds only the shards this process ran."""
        if not self.enabled or shard_count < 1:
            return {}
        where, args = ("", ()) if collection is None else (f" WHERE {_COLLECTION_IS}", (collection,))
        shard = SHARD_OF_ROW.format(n=int(shard_count))
        rows = await _fetchall(self._db, f"SELECT {shard}, COUNT(*) FROM questions{where} GROUP BY 1", args)
        return {int(k): int(n) for k, n in rows}

    async def gap_questions(
        self, since: float, *, guild_id: int | None = None, collection: str | None = None
    ) -> list[GapQuestion]:
        """The questions declined since `since`, and those whose answer got a 👎 since then
        (with the reasons given), oldest first; of one guild and one collection when given.
        What the log no longer holds (past retention, logging off) is not there to report."""
        filters, args = "", list[object]()
        if guild_id is not None:
            filters += " AND q.guild_id = ?"
            args.append(guild_id)
        if collection is not None:
            filters += f" AND {_COLLECTION_IS.replace('collection', 'q.collection')}"
            args.append(collection)
        rows = await _fetchall(
            self._db,
            "SELECT q.id, q.asked_at, q.question, q.answered, q.top_citation, q.top_passage,"
            f" COALESCE(q.collection, '{DEFAULT_COLLECTION}'), q.message_id,"
            " (SELECT COUNT(*) FROM feedback f WHERE f.message_id = q.message_id AND f.vote = -1"
            "  AND f.voted_at >= ?)"
            " FROM questions q"
            " WHERE ((q.answered = 0 AND q.asked_at >= ?) OR EXISTS (SELECT 1 FROM feedback f"
            "  WHERE f.message_id = q.message_id AND f.vote = -1 AND f.voted_at >= ?))"
            f"{filters} ORDER BY q.asked_at, q.id",
            (since, since, since, *args),
        )
        reasons: dict[int, list[str]] = {}
        for message_id, reason in await _fetchall(
            self._db,
            "SELECT message_id, reason FROM feedback WHERE vote = -1 AND reason IS NOT NULL AND voted_at >= ?"
            " ORDER BY voted_at",
            (since,),
        ):
            reasons.setdefault(int(message_id), []).append(str(reason))
        return [
            GapQuestion(
                question=question,
                asked_at=asked_at,
                declined=not answered,
                downvotes=int(down),
                reasons=tuple(reasons.get(message_id, ())) if message_id is not None else (),
                closest=citation,
                closest_id=passage,
                collection=name,
            )
            for _, asked_at, question, answered, citation, passage, name, message_id, down in rows
        ]

    async def recent(self, limit: int = 20) -> list[tuple]:
        """The latest logged questions (for tests and troubleshooting), newest first."""
        return list(
            await _fetchall(
                self._db,
                "SELECT asked_at, guild_id, channel_id, user_hash, question, answered, top_citation, answer_ms,"
                " message_id FROM questions ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        )


# Rows from before collections, and the default collection's, have NULL there.
_COLLECTION_IS = f"COALESCE(collection, '{DEFAULT_COLLECTION}') = ?"


# The name every caller knows; it stays the SQLite store (open_state picks the backend).
QuestionLog = SqliteQuestionLog
