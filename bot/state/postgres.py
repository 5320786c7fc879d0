"""The question log, votes, reasons and the cross-process cooldown in PostgreSQL, shared by replicas.

Why PostgreSQL: a sharded bot runs several processes, and a vote cast on an answer that another
process sent, `/stats`, the knowledge-gaps report and the per-user cooldown must see what every
process recorded. A local SQLite file cannot be shared like that (see `questionlog.py`).

Why asyncpg (the optional extra `postgres`): the bot is asyncio throughout and asyncpg is
asyncio-native, ships binary wheels (no libpq, no compiler on the host) and reads `.pgpass`
itself. psycopg 3 would also work but brings a second (sync) API we do not need, and its binary
form is a separate package.

The rules are those of the SQLite store: keyed user hashes (HMAC-SHA256 under a random key kept
in the database), retention, reasons only while logging is on, every value a bound parameter.
The tables are prefixed `citebot_` so the database may hold other applications' tables too.
The schema is a versioned list of steps (`MIGRATIONS`) applied at open in one transaction under
an advisory lock, so two processes starting at once do not race.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from citebot.index.errors import StateDatabaseError
from citebot.index.gaps import GapQuestion

from .state_url import masked
from .store import (
    DEFAULT_COLLECTION,
    QUESTION_COLUMNS,
    SHARD_OF_ROW,
    LogStats,
    QuestionRecord,
    SessionLog,
    keyed_user_hash,
    one_line_reason,
    question_row,
    stored_collection,
)

log = logging.getLogger(__name__)

_INSERT_QUESTION = (
    f"INSERT INTO citebot_questions ({', '.join(QUESTION_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(QUESTION_COLUMNS) + 1))}) RETURNING id"
)

# Each step runs once, in order; a step is never edited after release (add a new one instead).
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE citebot_secret (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
        CREATE TABLE citebot_questions (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            asked_at DOUBLE PRECISION NOT NULL,
            guild_id BIGINT,
            channel_id BIGINT,
            user_hash TEXT NOT NULL,
            question TEXT NOT NULL,
            answered SMALLINT NOT NULL,
            top_citation TEXT,
            answer_ms DOUBLE PRECISION NOT NULL,
            message_id BIGINT,
            collection TEXT,
            top_passage TEXT
        );
        CREATE INDEX citebot_questions_time ON citebot_questions (asked_at);
        CREATE INDEX citebot_questions_message ON citebot_questions (message_id);
        CREATE TABLE citebot_feedback (
            message_id BIGINT NOT NULL,
            user_hash TEXT NOT NULL,
            vote SMALLINT NOT NULL CHECK (vote IN (-1, 1)),
            voted_at DOUBLE PRECISION NOT NULL,
            collection TEXT,
            reason TEXT,
            PRIMARY KEY (message_id, user_hash)
        );
    """,
    ),
    # The per-user cooldown shared by every process: one row per question asked, kept only for
    # the cooldown window (a hashed user and a time, no text).
    (
        2,
        """
        CREATE TABLE citebot_cooldown (user_hash TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
        CREATE INDEX citebot_cooldown_user ON citebot_cooldown (user_hash, at);
        CREATE INDEX citebot_cooldown_time ON citebot_cooldown (at);
    """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
# pg_advisory_xact_lock keys: (ours, what). "CITS" as in the SQLite file's application id.
_LOCK_CLASS = 0x43495453
_LOCK_MIGRATE = 1
_COLLECTION_IS = "COALESCE({column}, $%d) = $%d"
_NOW = "extract(epoch FROM clock_timestamp())::double precision"  # one clock for every process: the server's


def _driver() -> Any:
    try:
        import asyncpg
    except ImportError:
        raise StateDatabaseError(
            "log.state_url names PostgreSQL, which needs the driver: pip install 'citebot[postgres]' (asyncpg)"
        ) from None
    return asyncpg


async def migrate(conn: Any) -> int:
    """Apply the steps of MIGRATIONS the database lacks, in one transaction under an advisory
    lock (a second process starting at once waits, then finds nothing to do). Returns the version."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", _LOCK_CLASS, _LOCK_MIGRATE)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS citebot_schema_version ("
            " version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        have = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM citebot_schema_version")
        if have > SCHEMA_VERSION:
            raise StateDatabaseError(
                f"the state database has schema version {have}, newer than this citebot's "
                f"{SCHEMA_VERSION}; upgrade citebot"
            )
        for version, sql in MIGRATIONS:
            if version > have:
                await conn.execute(sql)
                await conn.execute("INSERT INTO citebot_schema_version (version) VALUES ($1)", version)
                log.info("state database: applied schema step %d", version)
        await conn.execute(
            "INSERT INTO citebot_secret (name, value) VALUES ('user_hash_key', $1) ON CONFLICT (name) DO NOTHING",
            secrets.token_bytes(32),
        )
    return SCHEMA_VERSION


class PostgresQuestionLog:
    """The question log and feedback store in PostgreSQL, through an asyncpg pool (several tasks
    may query at once; one connection would refuse a second query in flight)."""

    shared = True

    def __init__(self, pool: Any, key: bytes, enabled: bool, retention_days: int, url: str) -> None:
        self._pool = pool
        self._key = key
        self.enabled = enabled
        self.retention_days = retention_days
        self.url = masked(url)  # never the password
        # In-memory figures for this process, used by stats() when logging is off.
        self._session = SessionLog()

    @classmethod
    async def open(
        cls, url: str, *, enabled: bool = True, retention_days: int = 30, pool_size: int = 4
    ) -> PostgresQuestionLog:
        """Connect (the password from the URL or .pgpass), bring the schema up to date, purge."""
        asyncpg = _driver()
        try:
            pool = await asyncpg.create_pool(
                dsn=url, min_size=1, max_size=pool_size, timeout=15, server_settings={"application_name": "citebot"}
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise StateDatabaseError(
                f"cannot connect to the state database {masked(url)} "
                f"({type(exc).__name__}: {_without(str(exc), url)}); check log.state_url, "
                f"CITEBOT_STATE_URL or your .pgpass"
            ) from None
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
                key = bytes(await conn.fetchval("SELECT value FROM citebot_secret WHERE name = 'user_hash_key'"))
        except BaseException:
            await pool.close()
            raise
        qlog = cls(pool, key, enabled, retention_days, url)
        log.info("question log in PostgreSQL at %s (schema %d)", qlog.url, SCHEMA_VERSION)
        await qlog.purge()
        if not enabled:
            # Logging was turned off: forget what earlier runs stored (as the SQLite store does).
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("DELETE FROM citebot_questions")
                await conn.execute("UPDATE citebot_feedback SET reason = NULL WHERE reason IS NOT NULL")
        return qlog

    def user_hash(self, user_id: int) -> str:
        """A stable pseudonym for a user, the same in every process sharing this database."""
        return keyed_user_hash(self._key, user_id)

    async def close(self) -> None:
        await self._pool.close()

    async def record(self, rec: QuestionRecord) -> int | None:
        """Remember one question; returns its row id, or None when logging is off."""
        self._session.add(rec)
        if not self.enabled:
            return None
        return await self._pool.fetchval(_INSERT_QUESTION, *question_row(rec, self.user_hash(rec.user_id)))

    async def attach_message(self, row_id: int | None, message_id: int) -> None:
        """Link a logged question to the answer message that carries its feedback buttons."""
        if row_id is None or not self.enabled:
            return
        await self._pool.execute("UPDATE citebot_questions SET message_id = $1 WHERE id = $2", message_id, row_id)

    async def vote(self, message_id: int, user_id: int, vote: int, collection: str | None = None) -> str:
        """A 👍 (+1) or 👎 (-1), one per person per answer: "new", "changed" or "same" (as SQLite's)."""
        if vote not in (-1, 1):
            raise ValueError("vote must be +1 or -1")
        who = self.user_hash(user_id)
        async with self._pool.acquire() as conn, conn.transaction():
            old = await conn.fetchval(
                "SELECT vote FROM citebot_feedback WHERE message_id = $1 AND user_hash = $2 FOR UPDATE", message_id, who
            )
            if old == vote:
                return "same"
            await conn.execute(
                "INSERT INTO citebot_feedback (message_id, user_hash, vote, voted_at, collection)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id, user_hash)"
                " DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at, reason = NULL",
                message_id,
                who,
                vote,
                time.time(),
                stored_collection(collection),
            )
        return "changed" if old is not None else "new"

    async def set_reason(self, message_id: int, user_id: int, reason: str) -> bool:
        """The one-line reason given with a 👎; only while logging is on, only on an existing 👎."""
        text = one_line_reason(reason)
        if not self.enabled or not text:
            return False
        status = await self._pool.execute(
            "UPDATE citebot_feedback SET reason = $1 WHERE message_id = $2 AND user_hash = $3 AND vote = -1",
            text,
            message_id,
            self.user_hash(user_id),
        )
        return _count(status) > 0

    async def purge(self) -> int:
        """Delete question rows (and reasons) older than the retention period; returns how many went."""
        cutoff = time.time() - self.retention_days * 86400
        async with self._pool.acquire() as conn, conn.transaction():
            gone = _count(await conn.execute("DELETE FROM citebot_questions WHERE asked_at < $1", cutoff))
            await conn.execute(
                "UPDATE citebot_feedback SET reason = NULL WHERE voted_at < $1 AND reason IS NOT NULL", cutoff
            )
        if gone:
            log.info("purged %d questions older than %d days", gone, self.retention_days)
        return gone

    async def stats(self, collection: str | None = None) -> LogStats:
        """Questions, answered, the median answer time and votes, of one collection or of all."""
        where, args = (
            ("", ())
            if collection is None
            else (" WHERE " + _COLLECTION_IS.format(column="collection") % (1, 2), (DEFAULT_COLLECTION, collection))
        )
        votes = {
            int(v): int(n)
            for v, n in await self._pool.fetch(
                f"SELECT vote, COUNT(*) FROM citebot_feedback{where} GROUP BY vote", *args
            )
        }
        up, down = votes.get(1, 0), votes.get(-1, 0)
        if not self.enabled:
            return self._session.stats(collection, up, down)
        # percentile_cont(0.5) is the median as statistics.median computes it (the mean of the middle two).
        total, answered, median = await self._pool.fetchrow(
            "SELECT COUNT(*), COALESCE(SUM(answered), 0), percentile_cont(0.5) WITHIN GROUP (ORDER BY answer_ms)"
            f" FROM citebot_questions{where}",
            *args,
        )
        return LogStats(int(total), int(answered), median, up, down, persisted=True)

    async def questions_by_shard(self, shard_count: int, collection: str | None = None) -> dict[int, int]:
        """How many logged questions each shard's guilds asked, over every process sharing this
        database ({} while logging is off: nothing is stored to count)."""
        if not self.enabled or shard_count < 1:
            return {}
        where, args = (
            ("", ())
            if collection is None
            else (" WHERE " + _COLLECTION_IS.format(column="collection") % (2, 3), (DEFAULT_COLLECTION, collection))
        )
        rows = await self._pool.fetch(
            f"SELECT {SHARD_OF_ROW.format(n='$1::bigint')}, COUNT(*) FROM citebot_questions{where} GROUP BY 1",
            int(shard_count),
            *args,
        )
        return {int(k): int(n) for k, n in rows}

    async def gap_questions(
        self, since: float, *, guild_id: int | None = None, collection: str | None = None
    ) -> list[GapQuestion]:
        """Declined questions and those whose answer got a 👎 since `since`, oldest first (as SQLite's)."""
        args: list[Any] = [since, DEFAULT_COLLECTION]
        filters = ""
        if guild_id is not None:
            args.append(guild_id)
            filters += f" AND q.guild_id = ${len(args)}"
        if collection is not None:
            args.append(collection)
            filters += " AND " + _COLLECTION_IS.format(column="q.collection") % (2, len(args))
        rows = await self._pool.fetch(
            "SELECT q.asked_at, q.question, q.answered, q.top_citation, q.top_passage,"
            " COALESCE(q.collection, $2), q.message_id,"
            " (SELECT COUNT(*) FROM citebot_feedback f WHERE f.message_id = q.message_id AND f.vote = -1"
            "  AND f.voted_at >= $1)"
            " FROM citebot_questions q"
            " WHERE ((q.answered = 0 AND q.asked_at >= $1) OR EXISTS (SELECT 1 FROM citebot_feedback f"
            "  WHERE f.message_id = q.message_id AND f.vote = -1 AND f.voted_at >= $1))"
            f"{filters} ORDER BY q.asked_at, q.id",
            *args,
        )
        reasons: dict[int, list[str]] = {}
        for message_id, reason in await self._pool.fetch(
            "SELECT message_id, reason FROM citebot_feedback WHERE vote = -1 AND reason IS NOT NULL"
            " AND voted_at >= $1 ORDER BY voted_at",
            since,
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
            for asked_at, question, answered, citation, passage, name, message_id, down in rows
        ]

    async def recent(self, limit: int = 20) -> list[tuple]:
        """The latest logged questions (for tests and troubleshooting), newest first."""
        return [
            tuple(row)
            for row in await self._pool.fetch(
                "SELECT asked_at, guild_id, channel_id, user_hash, question, answered, top_citation, answer_ms,"
                " message_id FROM citebot_questions ORDER BY id DESC LIMIT $1",
                limit,
            )
        ]

    async def cooldown_hit(self, user_id: int, questions: int, seconds: float) -> float | None:
        """The per-user limit across every process: None when the user may ask now (and the
        question is counted), else the seconds to wait. A sliding window, as `Cooldown` in memory.

        Each user's check runs under an advisory lock of their own, so two processes handling
        the same user at once cannot both let a question past the limit. The time is the
        server's, so replicas with drifting clocks agree. Rows past the window are deleted as
        they expire (all replicas are expected to share one discord.cooldown_seconds)."""
        if seconds <= 0:
            return None
        who = self.user_hash(user_id)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_CLASS, who)
            now = await conn.fetchval(f"SELECT {_NOW}")
            await conn.execute("DELETE FROM citebot_cooldown WHERE at <= $1", now - seconds)
            count, first = await conn.fetchrow(
                "SELECT COUNT(*), MIN(at) FROM citebot_cooldown WHERE user_hash = $1", who
            )
            if count >= questions:
                return seconds - (now - first)
            await conn.execute("INSERT INTO citebot_cooldown (user_hash, at) VALUES ($1, $2)", who, now)
        return None


def _count(status: str) -> int:
    """The row count of an asyncpg command status ("UPDATE 3", "DELETE 0")."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _without(text: str, url: str) -> str:
    """A driver's message with the URL's password taken out, should it quote it."""
    from urllib.parse import urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return text
    return text.replace(password, "***") if password else text
