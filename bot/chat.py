"""`citebot chat`: ask questions in the terminal and get the bot's answers, as text.

It goes through the same steps as the Discord bot (the same question checks from
`bot/questions.py`, the same `LiveIndex` and `Answerer`, so a reindex during a session is
picked up too) and prints with `render_answer`, which carries the same facts as a Discord reply.

Lines are read by a daemon thread: a blocking `input()` in the event loop would make Ctrl-C
wait for Enter, and a thread in the default executor would keep the process alive at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from typing import TextIO

from index.store import IndexReader

from .live_index import LiveIndex
from .questions import Refusal, check_question
from .settings import Settings
from .text_render import render_answer

QUIT_WORDS = frozenset({"quit", "exit", ":q", "bye"})
_EOF = object()


def _start_reader(stream: TextIO, loop: asyncio.AbstractEventLoop, queue: "asyncio.Queue[object]") -> None:
    def pump() -> None:
        try:
            for line in iter(stream.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(queue.put_nowait, _EOF)

    threading.Thread(target=pump, name="citebot-chat-stdin", daemon=True).start()


async def chat_loop(reader: IndexReader, settings: Settings, stdin: TextIO | None = None,
                    stdout: TextIO | None = None) -> int:
    """Answer questions until `quit`, end of input or Ctrl-C; returns the exit code (0).

    The caller owns `reader` and closes it; readers opened here after a reindex are closed here.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty() and stdout.isatty()
    color = stdout.isatty()
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[object] = asyncio.Queue()
    interrupted = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, interrupted.set)
    _start_reader(stdin, loop, lines)
    live = LiveIndex(reader, settings.answer, owns_reader=False)
    if interactive:
        info = reader.info
        print(f"citebot chat: {info.documents} documents, {info.passages} passages. "
              "Ask a question; 'quit' or Ctrl-D to leave.", file=stdout)
    try:
        while True:
            if interactive:
                print("? ", end="", file=stdout, flush=True)
            line = await _next_line(lines, interrupted)
            if line is None:
                if interactive:
                    print(file=stdout)
                return 0
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT_WORDS:
                return 0
            checked = check_question(text, settings.discord.max_question_chars)
            if isinstance(checked, Refusal):
                print(checked.message.replace("*", ""), file=stdout, flush=True)
                continue
            await live.reload_if_changed()
            async with live.use() as answerer:
                answer = await answerer.ask(checked)
            print(render_answer(answer, color) + "\n", file=stdout, flush=True)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
        await live.close()


async def _next_line(lines: "asyncio.Queue[object]", interrupted: asyncio.Event) -> str | None:
    """The next input line, or None at end of input or on Ctrl-C."""
    get = asyncio.ensure_future(lines.get())
    stop = asyncio.ensure_future(interrupted.wait())
    try:
        done, _ = await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (get, stop):
            task.cancel()
    if get in done:
        item = get.result()
        return None if item is _EOF else str(item)
    return None
