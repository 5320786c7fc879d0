"""Measuring event-loop lag in tests: how late a short sleep wakes up, sampled continuously."""

from __future__ import annotations

import asyncio
from typing import Any


class LagSampler:
    """Sleeps `every` seconds in a loop and records how late each wake-up was."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.every)
            self.lags.append(loop.time() - before - self.every)

    def __enter__(self) -> "LagSampler":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._task is not None
        self._task.cancel()
