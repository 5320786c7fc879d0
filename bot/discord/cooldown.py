"""Per-user rate limit: at most N questions per T seconds, as a sliding window.

Why our own and not `commands.cooldown`: the same limit must cover mentions, answer channels
and `/ask`, which are not all prefix commands, and it must say how long to wait.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Cooldown:
    """`hit(user)` returns None when the user may ask now, else the seconds to wait."""

    def __init__(self, questions: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.questions = questions
        self.seconds = seconds
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}

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
