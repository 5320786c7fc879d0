"""Which earlier questions a message follows up, for the bot (no discord import).

A conversation is a thread the bot answers in (one it started on a question, or a post of an
answer forum) or a chain of Discord replies to its answers. The bot remembers, per thread and
per answer message it sent, the questions that led there (the newest `MAX_CONTEXT_QUESTIONS`),
so a reply to an answer continues that answer's conversation even when the thread went on. The
memory is bounded (least recently used forgotten first) and lives as long as the process; after
a restart the bot falls back to what Discord still shows (`question_of_title`, a thread's name).

Follow-up logic itself (how the context weighs) is the library's: index/answering/followup.py.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence

from citebot.index.answering.followup import MAX_CONTEXT_QUESTIONS

# Discord's limit on a thread's name.
THREAD_NAME_LIMIT = 100
# Conversations (threads and answer messages each) remembered.
REMEMBERED = 5000
_ESCAPED = re.compile(r"\\([\\*_`~|>#\-\[\]()])")


def thread_name(question: str, limit: int = THREAD_NAME_LIMIT) -> str:
    """A thread's name from its question: one line, cut at a word to fit Discord's limit."""
    text = " ".join(question.split()) or "Question"
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def question_of_title(title: str | None) -> str | None:
    """The question an answer embed's title ("Q: …", bot/render.py) shows, unescaped;
    None for a title of another kind."""
    if not title or not title.startswith("Q: "):
        return None
    text = _ESCAPED.sub(r"\1", title[3:]).replace("\u200b", "").rstrip("…").strip()
    return text or None


class Conversations:
    """The questions that led to each thread and answer message (see the module docstring)."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._remembered = remembered
        self._threads: OrderedDict[int, tuple[str, ...]] = OrderedDict()
        self._answers: OrderedDict[int, tuple[str, ...]] = OrderedDict()

    def of_thread(self, thread_id: int) -> tuple[str, ...] | None:
        """The questions asked so far in a thread, oldest first; None if it is not remembered."""
        return self._get(self._threads, thread_id)

    def of_answer(self, message_id: int) -> tuple[str, ...] | None:
        """The questions that led to an answer message, its own last; None if not remembered."""
        return self._get(self._answers, message_id)

    def record(self, question: str, context: Sequence[str], answer_id: int, thread_id: int | None = None) -> None:
        """Remember that `answer_id` answered `question` after `context` (in `thread_id`)."""
        questions = (*context, question)[-MAX_CONTEXT_QUESTIONS:]
        self._put(self._answers, answer_id, questions)
        if thread_id is not None:
            self._put(self._threads, thread_id, questions)

    def _get(self, table: OrderedDict[int, tuple[str, ...]], key: int) -> tuple[str, ...] | None:
        found = table.get(key)
        if found is not None:
            table.move_to_end(key)
        return found

    def _put(self, table: OrderedDict[int, tuple[str, ...]], key: int, value: tuple[str, ...]) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._remembered:
            table.popitem(last=False)
