"""`citebot chat`: ask questions in the terminal and get the bot's answers, as text.

It goes through the same steps as the Discord bot (the same question checks from
`bot/questions.py`, the same `LiveIndex` and `Answerer`, so a reindex during a session is
picked up too) and prints with `render_answer`, which carries the same facts as a Discord reply.
A few commands mirror the bot's: `/source ID` shows a passage in full, `/help` lists them.
Like a thread with the bot, the session is one conversation: each question is a follow-up of
the ones before it (`Answerer.ask(..., context=...)`, index/answering/followup.py) until `/new`.

Lines are read by a daemon thread: a blocking `input()` in the event loop would make Ctrl-C
wait for Enter, and a thread in the default executor would keep the process alive at exit.
On a terminal the thread reads with `input()` and GNU readline, so arrow keys edit the line
and recall earlier questions (kept in a history file, mode 0600, when one is given); the
thread asks for each line only when the loop wants one, so the prompt never lands in the
middle of an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from citebot.index.answering.followup import MAX_CONTEXT_QUESTIONS
from citebot.index.indexfile import IndexReader

from ..live_index import LiveIndex
from ..questions import Refusal, check_question
from ..settings import Settings
from .text_render import render_answer, render_source

NEW_WORDS = frozenset({"/new", "/reset"})
QUIT_WORDS = frozenset({"quit", "exit", ":q", "bye", "/quit", "/exit"})
HELP_WORDS = frozenset({"help", "/help", "/?"})
HELP = """Ask a question in plain words, or:
  /source ID   show a passage in full, with its citation and neighbours (ids are shown under answers)
  /new         start a new conversation (earlier questions no longer count as context)
  /help        this list
  /quit        leave (also: quit, exit, Ctrl-D)"""
PROMPT = "? "
HISTORY_LINES = 1000
_EOF = object()


class LineReader:
    """Lines from a stream, read on a daemon thread one at a time, when asked for."""

    def __init__(self, stream: TextIO, interactive: bool, history: Path | None) -> None:
        self._stream = stream
        self._interactive = interactive
        self._history = history if interactive else None
        self._wanted = threading.Event()
        self._prompt = ""
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._readline = _load_readline(self._history) if interactive else None
        threading.Thread(target=self._pump, name="citebot-chat-stdin", daemon=True).start()

    async def next(self, prompt: str, interrupted: asyncio.Event) -> str | None:
        """The next line, or None at end of input or on Ctrl-C."""
        self._prompt = prompt
        self._wanted.set()
        get = asyncio.ensure_future(self._queue.get())
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

    def save_history(self) -> None:
        """Write the session's lines to the history file (readable by the owner only)."""
        if self._readline is None or self._history is None:
            return
        with contextlib.suppress(OSError):
            self._history.parent.mkdir(parents=True, exist_ok=True)
            self._readline.set_history_length(HISTORY_LINES)
            self._readline.write_history_file(str(self._history))
            os.chmod(self._history, 0o600)

    def _pump(self) -> None:
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._interactive:
                    try:
                        line = input(self._prompt) + "\n"
                    except EOFError:
                        break
                else:
                    line = self._stream.readline()
                    if not line:
                        break
                self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
        except (OSError, ValueError, KeyboardInterrupt):
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                self._loop.call_soon_threadsafe(self._queue.put_nowait, _EOF)


def _load_readline(history: Path | None):  # noqa: ANN202 - the readline module, or None
    """GNU readline for line editing and history, where Python has it (not on Windows)."""
    try:
        import readline
    except ImportError:
        return None
    if history is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(str(history))
    return readline


async def chat_loop(
    reader: IndexReader,
    settings: Settings,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    history: Path | None = None,
) -> int:
    """Answer questions until `/quit`, end of input or Ctrl-C; returns the exit code (0).

    The caller owns `reader` and closes it; readers opened here after a reindex are closed here.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty() and stdout.isatty() and stdin is sys.stdin
    color = stdout.isatty()
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, interrupted.set)
    lines = LineReader(stdin, interactive, history)
    live = LiveIndex(reader, settings.answer, owns_reader=False)
    conversation: list[str] = []  # this conversation's questions, oldest first
    if interactive:
        info = reader.info
        print(
            f"citebot chat: {info.documents} documents, {info.passages} passages. "
            "Ask a question; /help for commands, /quit or Ctrl-D to leave.",
            file=stdout,
        )
    try:
        while True:
            line = await lines.next(PROMPT if interactive else "", interrupted)
            if line is None:
                if interactive:
                    print(file=stdout)
                return 0
            text = line.strip()
            if not text:
                continue
            command = text.lower()
            if command in QUIT_WORDS:
                return 0
            if command in HELP_WORDS:
                print(HELP, file=stdout, flush=True)
                continue
            if command in NEW_WORDS:
                conversation.clear()
                print("New conversation: earlier questions no longer count.", file=stdout, flush=True)
                continue
            if command.split(maxsplit=1)[0] == "/source":
                await _show_source(live, text.split(maxsplit=1)[1:], stdout)
                continue
            if text.startswith("/"):
                print(f"unknown command {text.split()[0]!r}; /help lists the commands", file=stdout, flush=True)
                continue
            checked = check_question(text, settings.discord.max_question_chars)
            if isinstance(checked, Refusal):
                print(checked.message.replace("*", ""), file=stdout, flush=True)
                continue
            await live.reload_if_changed()
            async with live.use() as answerer:
                answer = await answerer.ask(checked, context=conversation[-MAX_CONTEXT_QUESTIONS:])
            conversation.append(checked)
            print(render_answer(answer, color) + "\n", file=stdout, flush=True)
    finally:
        lines.save_history()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
        await live.close()


async def _show_source(live: LiveIndex, args: list[str], stdout: TextIO) -> None:
    if not args:
        print("usage: /source ID (the id shown under each answer)", file=stdout, flush=True)
        return
    await live.reload_if_changed()
    async with live.use() as answerer:
        found = await answerer.reader.source(args[0].strip())
    if found is None:
        print(
            f"No passage has the id {args[0].strip()!r} in the current index. Ids are shown under each answer.",
            file=stdout,
            flush=True,
        )
        return
    print(render_source(*found) + "\n", file=stdout, flush=True)
