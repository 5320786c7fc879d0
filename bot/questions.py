"""What counts as a question, and how a chat message becomes one (no discord import).

Shared by the Discord bot and `citebot chat` so both accept and refuse exactly the same text.

The rule for answer channels, where the bot reads every message: a message is a question when,
after mentions and surrounding space are removed, it ends with "?" or its first word is a
question word (who, what, when, where, which, why, how, is, are, can, does, ...). Anything else
("thanks!", "lol") is conversation, and the bot stays quiet. A message that mentions the bot is
always treated as a question, whatever its shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUESTION_WORDS = frozenset(
    "who whom whose what when where which why how is are was were am do does did can could should "
    "would will shall may might has have had isn't aren't wasn't weren't doesn't don't didn't can't "
    "won't explain describe tell list name define".split()
)
_WORD = re.compile(r"[A-Za-z']+")
_MENTION = re.compile(r"<(@[!&]?|#)\d+>")


def strip_mention(text: str, bot_id: int | None) -> str:
    """Remove mentions of the bot (`<@id>` / `<@!id>`) wherever they stand."""
    if bot_id is None:
        return text.strip()
    return re.sub(rf"<@!?{bot_id}>", " ", text).strip()


def looks_like_question(text: str) -> bool:
    """The answer-channel rule (see the module docstring)."""
    text = _MENTION.sub(" ", text).strip()
    if not text:
        return False
    if text.rstrip().endswith("?"):
        return True
    first = _WORD.search(text)
    return first is not None and first.start() == 0 and first.group(0).lower() in QUESTION_WORDS


@dataclass(frozen=True)
class Refusal:
    """Why a question is not answered, written for the person who asked."""

    message: str


def valid_text(text: str) -> str:
    """`text` with lone surrogates (which JSON from the gateway can carry as "\\ud800" escapes)
    replaced by U+FFFD: they cannot be stored in SQLite or sent back to Discord as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def check_question(text: str, max_chars: int) -> str | Refusal:
    """The question to answer, or a Refusal (empty, or longer than `max_chars`)."""
    text = valid_text(text).strip()
    if not text:
        return Refusal("Ask me a question about the articles I know, e.g. *When will the ISS be deorbited?*")
    if len(text) > max_chars:
        return Refusal(
            f"That question is {len(text):,} characters long; please keep it under {max_chars:,} characters."
        )
    return text
