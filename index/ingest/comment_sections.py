"""Readers' comments on a news page: found by their layout and kept out of the passages.

A saved or copied news page often ends with its comment thread ("Have your say", "12
comments", a name, "2 hours ago", the comment, "Reply · Report · Like 3"). A comment that
repeats a question's words then outranks the article and is quoted as if the article said it.
Web pages lose most threads in main-content extraction, but not all (a thread without the
markup that names it a comment list), and a text or Markdown copy keeps every one.

A comment section is recognised by structure, never by a site's strings:

1. a heading that names comments -- a short line such as "Comments", "Reader comments",
   "Comments (12)", "47 comments", "Have your say", "Join the conversation", "Discussion";
2. followed closely by the furniture of a thread (`is_thread_furniture`): lines made of
   actions ("Reply", "Report", "Like 3", "Reply · Share"), timestamps ("2 hours ago", "5h",
   "3 March 2025 at 10:32"), a name with a timestamp ("Jane Doe · 2h"), "Name says:" /
   "Name wrote on ...:", counters and controls ("View 3 more replies", "Sort by: Newest").

Words that also head ordinary sections ("Discussion", "Responses") need two furniture lines
within the first blocks after them; the others one. A tutorial's "## Comments" section about
code comments has no such lines and stays. The section runs from its heading while furniture
keeps coming (at most `_GAP` blocks apart, so a comment of a few paragraphs stays inside),
plus a comment's text after the last furniture line; it ends early at a heading of the
page's own (a Markdown heading at the comment heading's level or above, or a short line that
introduces prose, after the last furniture), so an article that goes on after its thread
keeps its text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

# How far (in blocks) the first furniture line may be from the heading, and the next one from
# the last: a comment of three paragraphs between its name line and its "Reply" line.
_FIRST_WITHIN = 4
_GAP = 3
_MAX_HEADING_WORDS = 10
# Furniture and headings are short lines: longer ones are never matched (which also keeps every
# pattern's work per line bounded, whatever a file holds).
_MAX_LINE_CHARS = 160

_WORD = re.compile(r"\w+")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")

_COUNT = r"(?:\d[\d,.]*k?\s+)"
# Headings that can only name a comment section.
_COMMENT_HEADING = re.compile(
    r"^(?:"
    rf"{_COUNT}?(?:readers?'?\s+|user\s+|visitor\s+|latest\s+|top\s+|all\s+)?comments?(?:\s*\(\s*\d[\d,]*\s*\))?"
    rf"(?:\s+(?:so far|below|on (?:this|the) (?:article|story|post)))?"
    r"|have your say|your say|join the (?:conversation|discussion|debate)|leave a (?:comment|reply)"
    r"|(?:add|post|write) (?:a |your )?comment|comments are (?:closed|open)"
    rf"|{_COUNT}?thoughts? on .+|{_COUNT}?(?:responses?|replies) to .+"
    r"|what (?:do )?(?:you|our readers|readers) (?:think|say)"
    r"|(?:show|view|read|see|load) (?:all )?(?:\d+ )?comments?"
    r")\s*[:?]?$",
    re.IGNORECASE,
)
# Headings that also head ordinary sections: confirmed only by more furniture.
_AMBIGUOUS_HEADING = re.compile(
    rf"^{_COUNT}?(?:discussion|responses|replies|reactions|conversation|feedback)(?:\s*\(\s*\d[\d,]*\s*\))?\s*:?$",
    re.IGNORECASE,
)

# Thread furniture, line by line.
_ACTION_WORDS = frozenset(
    "reply replies report like likes liked unlike share flag upvote upvotes downvote downvotes recommend "
    "recommended recommends quote permalink edit delete hide abuse vote votes point points helpful unhelpful "
    "agree disagree follow mute block link copy".split()
)
# At least one of these makes a line of action words thread furniture ("Share" alone is also a
# share bar's).
_THREAD_ACTIONS = frozenset(
    "reply replies report like likes upvote downvote recommend recommended flag permalink quote".split()
)
_CLOSING_HINT = re.compile(r"\brep(?:ly|ort)\b", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s·•|/,;()\[\]—–\-]+|(?<=\w)[:.](?=\s|$)")
_SYMBOLS = re.compile(r"^[\W\d_]*$")  # counts, arrows, hearts, thumbs

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+"
_TIME = (
    r"(?:\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?|\d{1,2}(?:\.\d{2})?\s*[ap]\.?m\.?)"
    r"(?:\s*(?:utc|gmt|[a-z]st|[a-z]dt|cet|cest))?"
)
_DATE = (
    rf"(?:{_WEEKDAY})?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?"
    rf"\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}})"
)
_RELATIVE = (
    r"(?:(?:\d+\s*(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|mo|mos|"
    r"months?|y|yrs?|years?)|(?:an?|one)\s+(?:second|minute|hour|day|week|month|year))(?:\s+ago)?"
    r"|just now|moments? ago|yesterday|today)"
)
_TIMESTAMP = re.compile(
    rf"^(?:(?:posted|commented|updated|edited)\s+)?(?:on\s+|at\s+)?(?:{_RELATIVE}|{_DATE}|{_TIME})"
    rf"(?:,?\s*(?:at\s+)?{_TIME})?\s*(?:\(edited\)|edited)?$",
    re.IGNORECASE,
)
_NAME_PART = re.compile(r"^@?[\w.'\-]+(?:\s+[\w.'\-]+){0,3}$")
_PART_SEPARATOR = re.compile(r"\s+[·•|—–\-]\s+|\s*[·•|]\s*|,\s+(?=[^,]*\bago\b)")
_SAYS = re.compile(
    r"^@?[\w.'\-]+(?:\s+[\w.'\-]+){0,3}\s+(?:says|said|wrote|writes|replied|commented|posted)"
    r"(?:\s+(?:on|at|in reply to|to)\b[^.!?]*)?\s*:?$",
    re.IGNORECASE,
)
_CONTROL = re.compile(
    r"^(?:(?:view|show|load|see|read|hide|collapse|expand)\s+(?:all\s+|the\s+)?(?:\d+\s+)?(?:more\s+|previous\s+|"
    r"older\s+|newer\s+)?(?:comments?|replies|reply|responses?|thread)\b.*"
    rf"|{_COUNT}(?:comments?|replies|responses?|likes?|upvotes?|points?)"
    r"|sort(?:ed)?\s+by\b.*|(?:newest|oldest|most liked|most recent)(?:\s+first)?"
    r"|(?:log|sign) in to (?:comment|reply)\b.*|load more|show more|more replies)\s*:?$",
    re.IGNORECASE,
)
_REPLY_TO = re.compile(
    r"^(?:in reply to|replying to|reply to)\s+@?[\w.'\-]+(?:\s+[\w.'\-]+){0,3}\s*:?$|^@[\w.\-]+$", re.IGNORECASE
)


class BlockLike(Protocol):
    """What this module reads of a block (`documents.Block`); read-only, as the frozen
    `Block` dataclass's fields are."""

    @property
    def number(self) -> int: ...

    @property
    def text(self) -> str: ...


ACTIONS, CONTROL, OPENING = "actions", "control", "opening"


def thread_furniture(line: str) -> str | None:
    """What kind of comment-thread furniture a line is (module docstring, point 2): ACTIONS
    ("Reply · Report"), CONTROL ("12 comments", "View 3 more replies", "Sort by"), OPENING
    (what starts a comment: a timestamp, a name with one, "Name wrote:", "In reply to
    @name"); None for any other line."""
    if len(line) > _MAX_LINE_CHARS:
        return None
    line = line.replace("**", "").strip().strip("*_")  # Markdown emphasis around a name or a date
    if not line or len(_WORD.findall(line)) > 14:
        return None
    if _TIMESTAMP.match(line) or _SAYS.match(line) or _REPLY_TO.match(line) or _is_name_and_time(line):
        return OPENING
    if line.endswith((".", "!", "?")):
        return None
    if _is_actions(line):
        return ACTIONS
    return CONTROL if _CONTROL.match(line) else None


def is_thread_furniture(line: str) -> bool:
    """Whether a line is the furniture of a comment thread (`thread_furniture`)."""
    return thread_furniture(line) is not None


def _is_actions(line: str) -> bool:
    tokens = [t for t in _SEPARATORS.split(line.lower()) if t]
    words = [t for t in tokens if not _SYMBOLS.match(t)]
    return bool(words) and all(w in _ACTION_WORDS for w in words) and any(w in _THREAD_ACTIONS for w in words)


def _is_name_and_time(line: str) -> bool:
    """ "Jane Doe · 2 hours ago", "sam_k | 3 March 2025, 10:32", "Alex R. — 1h": a name-like
    part and a timestamp part (and perhaps actions)."""
    parts = [p.strip() for p in _PART_SEPARATOR.split(line) if p and p.strip()]
    if len(parts) < 2:
        return False
    timed = [p for p in parts if _TIMESTAMP.match(p)]
    rest = [p for p in parts if p not in timed]
    return bool(timed) and all(_NAME_PART.match(p) or _is_actions(p) for p in rest)


def _comment_heading(block: BlockLike, markup: bool) -> tuple[int | None, int] | None:
    """(Markdown level or None, furniture lines needed to confirm it) when the block is a
    heading that names comments: a Markdown heading line, or a block of at most three short
    lines whose first is the heading ("Reader comments" over "Sort by: Newest")."""
    text = block.text
    if len(text) > 3 * (_MAX_LINE_CHARS + 1):
        return None
    lines = text.split("\n")
    if len(lines) > 3 or any(len(line) > _MAX_LINE_CHARS for line in lines):
        return None
    first = lines[0].strip()
    md = _MD_HEADING.match(first) if markup and first.startswith("#") else None
    heading = md.group(2).strip() if md else first
    needed = _names_comments(heading.strip("*_"))  # (the patterns fail fast on any other heading)
    if not needed or (md is None and any(len(_WORD.findall(line)) > _MAX_HEADING_WORDS for line in lines[1:])):
        return None
    return (len(md.group(1)) if md else None), needed


def _names_comments(text: str) -> int:
    """How many furniture lines must confirm a heading with this text: 1 for one that can only
    name comments, 2 for a word that heads ordinary sections too, 0 for any other heading."""
    if _COMMENT_HEADING.match(text):
        needed = 1
    elif _AMBIGUOUS_HEADING.match(text):
        needed = 2
    else:
        return 0
    return needed if len(_WORD.findall(text)) <= _MAX_HEADING_WORDS else 0


def _furniture_lines(block: BlockLike, skip_first: bool = False) -> int:
    lines = block.text.split("\n")
    return sum(is_thread_furniture(line) for line in (lines[1:] if skip_first else lines))


def _md_level(block: BlockLike) -> int | None:
    first = block.text.split("\n", 1)[0]
    md = _MD_HEADING.match(first) if first.startswith("#") and len(first) <= _MAX_LINE_CHARS else None
    return len(md.group(1)) if md else None


def comment_sections(blocks: Sequence[BlockLike], markup: bool, is_prose) -> list[tuple[int, int]]:
    """The comment sections among `blocks`, as (first, last) indices into `blocks`, inclusive:
    those under a heading that names comments, and single comments without one (`_unit_from`).

    `markup`: whether `#` lines are headings (Markdown, web pages). `is_prose(text)`: whether
    a block is running text (what a page's own heading introduces)."""
    found: list[tuple[int, int]] = []
    # A comment without a heading ends in "Reply" or "Report" at most _GAP blocks after it
    # opens: only blocks that near one are looked at line by line (one C-level search per block
    # instead of every line's patterns, which cost 10 us a line).
    near_closing: set[int] = set()
    for j, block in enumerate(blocks):
        text = block.text
        # (substring tests first: a case-insensitive pattern scans character by character)
        if ("eply" in text or "eport" in text or "EPLY" in text or "EPORT" in text) and _CLOSING_HINT.search(text):
            near_closing.update(range(max(0, j - _GAP), j + 1))
    i = 0
    while i < len(blocks):
        end = _section_from(blocks, i, markup, is_prose)
        if end is None:
            unit = _unit_from(blocks, i, markup) if i in near_closing else None
            if unit is None:
                i += 1
                continue
            first, end = unit
            if found and first <= found[-1][1]:
                first = found[-1][1] + 1
            found.append((first, end))
        else:
            found.append((i, end))
        i = end + 1
    return found


def _unit_from(blocks: Sequence[BlockLike], i: int, markup: bool) -> tuple[int, int] | None:
    """A comment with no heading above it, opened at blocks[i]: a line that opens a comment
    (a timestamp, a name with one, "Name wrote:") and, in the same block or at most _GAP
    blocks on, a line of actions with "Reply" or "Report" -- the two ends of a thread's
    comment, which an article's dateline and share bar never are. A short name line just
    before the opening joins it. Returns (first, last) indices, or None."""
    lines = blocks[i].text.split("\n")
    at = next((n for n, line in enumerate(lines) if thread_furniture(line) == OPENING), None)
    if at is None:
        return None
    for j in range(i, min(len(blocks), i + 1 + _GAP)):
        if j > i and markup and _md_level(blocks[j]) is not None:
            return None
        candidates = lines[at + 1 :] if j == i else blocks[j].text.split("\n")
        if any(_closes_comment(line) for line in candidates):
            first = i - 1 if i > 0 and _is_name_line(blocks[i - 1].text) else i
            return first, j
    return None


def _closes_comment(line: str) -> bool:
    """A line of actions that only a comment ends with: "Reply", "Report", "Reply · Like 3"."""
    if thread_furniture(line) != ACTIONS:
        return False
    words = set(_SEPARATORS.split(line.lower().strip().strip("*_")))
    return bool(words & {"reply", "report"})


def _is_name_line(text: str) -> bool:
    """A block that is only a name or a handle ("Tom Gallagher", "@sam_k")."""
    if len(text) > _MAX_LINE_CHARS:
        return False
    text = text.strip().strip("*_")
    return "\n" not in text and bool(_NAME_PART.match(text)) and len(_WORD.findall(text)) <= 4


def _section_from(blocks: Sequence[BlockLike], i: int, markup: bool, is_prose) -> int | None:
    """The last index of the comment section headed by blocks[i], or None when it heads none."""
    heading = _comment_heading(blocks[i], markup)
    if heading is None:
        return None
    level, needed = heading

    def stops(j: int) -> bool:
        """A heading of the page's own at the comment heading's level or above."""
        if not markup:
            return False
        own = _md_level(blocks[j])
        return own is not None and (level is None or own <= level) and not _furniture_lines(blocks[j])

    # Furniture on the heading's own block (a "Sort by" line under it) counts.
    seen = _furniture_lines(blocks[i], skip_first=True)
    last = i if seen else None
    j = i + 1
    while j < len(blocks):
        if stops(j):
            break
        n = _furniture_lines(blocks[j])
        if n:
            seen += n
            last = j
        elif j - (last if last is not None else i) > (_GAP if last is not None else _FIRST_WITHIN):
            break
        j += 1
    if last is None or seen < needed:
        return None
    # A comment's text may follow its last furniture line (name and time above it, no
    # "Reply" below): after a block that ends by opening a comment, keep up to _GAP more
    # blocks, unless the page's own text starts again.
    end = last
    if thread_furniture(blocks[last].text.rsplit("\n", 1)[-1]) != OPENING:
        return end
    for j in range(last + 1, min(len(blocks), last + 1 + _GAP)):
        if stops(j) or _introduces_prose(blocks, j, markup, is_prose):
            break
        end = j
    return end


def _introduces_prose(blocks: Sequence[BlockLike], j: int, markup: bool, is_prose) -> bool:
    """Whether blocks[j] is a heading of the page's own: a Markdown heading, or a short line
    without final punctuation followed by running text."""
    if markup and _md_level(blocks[j]) is not None:
        return True
    text = blocks[j].text.strip()
    if (
        "\n" in text
        or not text
        or len(text) > _MAX_LINE_CHARS
        or text.endswith((".", "!", "?", ":", ","))
        or len(_WORD.findall(text)) > 14
    ):
        return False
    return j + 1 < len(blocks) and is_prose(blocks[j + 1].text)
