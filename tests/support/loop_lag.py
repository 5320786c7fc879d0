"""Measuring event-loop lag in tests: how late a short sleep wakes up, sampled continuously.

Two figures per sample:
- `lags`: wall-clock lateness. It is what an asker feels, but on a busy machine it also counts
  the time the process waited for a core (another job on the machine, the GIL held by another
  thread), so a bound on it fails where nothing in the loop was slow: it is reported, and only
  a generous backstop is asserted on it.
- `busy`: the CPU time the event loop's own thread used between two wake-ups. Waiting for a
  core or for the GIL adds nothing to it, so a bound on it holds with the other core fully
  busy, while work that blocks the loop (scoring a large corpus, building an index on the loop
  thread) shows up in it in full.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

# A stall of the loop, by either measure (see the module docstring).
MAX_BUSY_S = 0.1  # CPU the loop thread may spend between two 10 ms wake-ups
MAX_WALL_LAG_S = 1.0  # backstop: seconds of wall-clock lateness mean the loop stood still


class LagSampler:
    """Sleeps `every` seconds in a loop and records how late each wake-up was."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.lags: list[float] = []
        self.busy: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before, cpu_before = loop.time(), time.thread_time()
            await asyncio.sleep(self.every)
            self.lags.append(loop.time() - before - self.every)
            self.busy.append(time.thread_time() - cpu_before)

    def __enter__(self) -> LagSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._task is not None
        self._task.cancel()

    def assert_no_stall(self) -> None:
        """The bounds of the module docstring, with the figures in the message."""
        assert self.lags, "the sampler never ran"
        figures = f"loop busy max {max(self.busy) * 1000:.0f} ms, wall lag max {max(self.lags) * 1000:.0f} ms"
        assert max(self.busy) < MAX_BUSY_S, figures
        assert max(self.lags) < MAX_WALL_LAG_S, figures
