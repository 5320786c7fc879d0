"""What every state backend offers: the question log, votes and reasons, and the shared cooldown.

Why a protocol: the bot, the cogs and `citebot gaps` only need these operations, while where
they live differs: a private SQLite file for one process (`questionlog.SqliteQuestionLog`) or
PostgreSQL shared by every replica of a sharded bot (`postgres.PostgresQuestionLog`). Both keep
the same rules: keyed user hashes, retention, reasons only while logging is on.
"""

from __future__ import annotations

import hashlib
import hmac
import statistics
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from citebot.index.gaps import GapQuestion

DEFAULT_COLLECTION = "default"
REASON_MAX_CHARS = 200


@dataclass(frozen=True)
class QuestionRecord:
    """One question as the bot handled it."""

    question: str
    answered: bool
    answer_ms: float
    user_id: int
    guild_id: int | None = None
    channel_id: int | None = None
    top_citation: str | None = None
    asked_at: float = field(default_factory=time.time)
    collection: str | None = None  # None: the default collection
    top_passage: str | None = None  # the top passage's id


@dataclass(frozen=True)
class LogStats:
    """What `/stats` shows about questions and feedback."""

    questions: int
    answered: int
    median_ms: float | None
    thumbs_up: int
    thumbs_down: int
    persisted: bool


@runtime_checkable
class StateStore(Protocol):
    """The operations the bot and the CLI use; see `SqliteQuestionLog` for each one's rules."""

    enabled: bool
    retention_days: int
    # True when other processes share this store (so a limit kept here holds across them).
    shared: bool

    def user_hash(self, user_id: int) -> str: ...

    async def close(self) -> None: ...

    async def record(self, rec: QuestionRecord) -> int | None: ...

    async def attach_message(self, row_id: int | None, message_id: int) -> None: ...

    async def vote(self, message_id: int, user_id: int, vote: int, collection: str | None = None) -> str: ...

    async def set_reason(self, message_id: int, user_id: int, reason: str) -> bool: ...

    async def purge(self) -> int: ...

    async def stats(self, collection: str | None = None) -> LogStats: ...

    async def gap_questions(
        self, since: float, *, guild_id: int | None = None, collection: str | None = None
    ) -> list[GapQuestion]: ...

    async def questions_by_shard(self, shard_count: int, collection: str | None = None) -> dict[int, int]: ...

    async def recent(self, limit: int = 20) -> list[tuple]: ...


def keyed_user_hash(key: bytes, user_id: int) -> str:
    """A stable pseudonym for a user: HMAC-SHA256 of the id under the store's random key, so rows
    from one person can be grouped but not traced back without the key."""
    return hmac.new(key, str(int(user_id)).encode(), hashlib.sha256).hexdigest()


def one_line_reason(reason: str) -> str:
    """A reason as it is stored: one line, at most REASON_MAX_CHARS."""
    return " ".join(reason.split())[:REASON_MAX_CHARS]


# The shard of a logged question: Discord's rule, (guild_id >> 22) % shard_count, with direct
# messages (no guild) on shard 0; both SQLite and PostgreSQL read this expression. `{n}` is the
# placeholder of the shard count.
SHARD_OF_ROW = "COALESCE((guild_id >> 22) % {n}, 0)"


def stored_collection(name: str | None) -> str | None:
    """The default collection is stored as NULL, as every row from before collections is."""
    return None if name in (None, DEFAULT_COLLECTION) else name


# The columns of a logged question, in the order `question_row` gives their values (both
# backends' INSERT lists them so).
QUESTION_COLUMNS = (
    "asked_at", "guild_id", "channel_id", "user_hash", "question", "answered", "top_citation", "answer_ms",
    "collection", "top_passage",
)  # fmt: skip


def question_row(rec: QuestionRecord, user_hash: str) -> tuple[object, ...]:
    """A question as both backends store it, in `QUESTION_COLUMNS` order."""
    return (rec.asked_at, rec.guild_id, rec.channel_id, user_hash, rec.question, int(rec.answered),
            rec.top_citation, rec.answer_ms, stored_collection(rec.collection), rec.top_passage)  # fmt: skip


class SessionLog:
    """This process's questions since it started, kept in memory whatever `log.questions` says:
    with logging off, `/stats` counts them (nothing is stored), in either backend."""

    def __init__(self) -> None:
        self._asked: list[tuple[str, float, bool]] = []  # (collection, answer ms, answered)

    def add(self, rec: QuestionRecord) -> None:
        self._asked.append((rec.collection or DEFAULT_COLLECTION, rec.answer_ms, rec.answered))

    def stats(self, collection: str | None, thumbs_up: int, thumbs_down: int) -> LogStats:
        """The figures of one collection (or all) asked here, with the stored vote counts."""
        asked = [(ms, ok) for name, ms, ok in self._asked if collection is None or name == collection]
        times = [ms for ms, _ in asked]
        median = statistics.median(times) if times else None
        return LogStats(len(times), sum(ok for _, ok in asked), median, thumbs_up, thumbs_down, persisted=False)
