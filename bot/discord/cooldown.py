"""Per-user rate limit: at most N questions per T seconds, as a sliding window.

Why our own and not `commands.cooldown`: the same limit must cover mentions, answer channels
and `/ask`, which are not all prefix commands, and it must say how long to wait.

`Cooldown` keeps the window in memory, so it holds per process: with the SQLite state (one
process) that is the whole bot. With the state in PostgreSQL (several replicas) `SharedCooldown`
keeps it in the database so it holds across processes, falling back to this process's memory
while the database cannot be reached (a database hiccup must not stop answers).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Cooldown:
    """`hit(user)` returns None when the user may ask now, else the seconds to wait."""

    def __init__(self, questions: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.questions = questions
        self.seconds = seconds
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}

    async def check(self, user_id: int) -> float | None:
        """What the question path awaits (the same for the shared cooldown): as `hit`."""
        return self.hit(user_id)

    def hit(self, user_id: int) -> float | None:
        if self.seconds <= 0:
            return None
        now = self._clock()
        window = self._asked.setdefault(user_id, deque())
        while window and now - window[0] >= self.seconds:
            window.popleft()
        if len(window) >= self.questions:
            return self.seconds - (now - window[0])
        window.append(now)
        self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded on busy servers: drop users whose window has emptied.
        if len(self._asked) > 10_000:
            for uid in [u for u, w in self._asked.items() if not w or now - w[-1] >= self.seconds]:
                del self._asked[uid]


class SharedCooldown:
    """The same limit kept in the shared state (`PostgresQuestionLog.cooldown_hit`), so a user
    cannot ask N questions of each replica; `check(user)` as `Cooldown.check`."""

    def __init__(self, store: Any, questions: int, seconds: float) -> None:
        self.questions = questions
        self.seconds = seconds
        self._store = store
        self._local = Cooldown(questions, seconds)  # while the database cannot be reached

    async def check(self, user_id: int) -> float | None:
        try:
            return await self._store.cooldown_hit(user_id, self.questions, self.seconds)
        except Exception as exc:  # the database is down or slow: keep a per-process limit meanwhile
            log.warning("shared cooldown unavailable (%s); using this process's for now", type(exc).__name__)
            return self._local.hit(user_id)


def cooldown_for(store: Any, questions: int, seconds: float) -> Cooldown | SharedCooldown:
    """The shared cooldown when the state is shared by processes, else the in-memory one."""
    if getattr(store, "shared", False) is True:  # a stand-in object in tests is not a shared store
        return SharedCooldown(store, questions, seconds)
    return Cooldown(questions, seconds)
