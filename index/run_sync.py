"""Running a coroutine to completion from synchronous code, wherever that code is called from.

The build path is synchronous (`rebuild_sync`, the CLI), but fetching and crawling are async
(aiohttp). `asyncio.run` cannot be called where an event loop is already running -- the bot's
worker threads have none, but a synchronous call made from async code (tests, a notebook) does
-- so there the coroutine gets its own loop in a new thread, and its result or exception comes
back to the caller.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]], thread_name: str = "citebot-async") -> T:
    """`make()`'s coroutine run to completion: in this thread, or in a new one when an event loop
    is running here. `make` is called where the coroutine runs, so it is created on its loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = asyncio.run(make())
        except BaseException as exc:  # re-raised in the caller's thread
            out["error"] = exc

    thread = threading.Thread(target=run, name=thread_name)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["result"]
