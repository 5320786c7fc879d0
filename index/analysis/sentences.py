"""Sentence splitting: Punkt within each run of prose lines, fully offline.

`punkt.line_spans` splits one line as nltk's Punkt would with the shipped abbreviations;
this module decides which lines of a block read as one text (`line_runs`). The same rules
spelled with nltk itself are `reference.reference_sentence_spans` (the tests compare them).
"""

from __future__ import annotations

import re

from .punkt import line_spans

# A line break inside a block ends a sentence unless the next line carries the sentence on:
# hard-wrapped prose (a Markdown README, a plain-text manual) breaks lines wherever the width
# ran out, and a highlight of "directory to match every Python command across every" quotes
# no sentence. A line carries on from the one before when that one ends without closing
# punctuation and is no code fence, the next opens no list item, quote, heading, table row or
# code fence, and either the next starts in lower case or the one before is as long as
# wrapped lines are (WRAPPED_LINE_CHARS).
_CLOSED_LINE = re.compile(r"[.!?:;][\"'\u2019\u201d)\]]*[^\S\n]*$")
_OPENING_LINE = re.compile(r"[^\S\n]*(?:[-*+\u2022>#|]|\d{1,3}[.)](?:\s|$)|```|~~~)")
_FENCE = re.compile(r"[^\S\n]*(?:```|~~~)")
WRAPPED_LINE_CHARS = 50


def _carries_on(line: str, following: str) -> bool:
    """Whether `following` continues the sentence `line` left open (see above)."""
    if (
        _CLOSED_LINE.search(line)
        or _OPENING_LINE.match(following)
        or _FENCE.match(line)
        or " | " in line
        or " | " in following
    ):
        return False
    return following.lstrip()[:1].islower() or len(line.strip()) >= WRAPPED_LINE_CHARS


def line_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of non-blank lines of `text` that reads as continuous prose:
    Punkt splits each run on its own, its line breaks read as spaces."""
    runs: list[tuple[int, int]] = []
    start = -1  # the open run's start, or -1
    last, last_end = "", 0  # the open run's last line and where it ends
    offset = 0
    code = False  # inside a fenced code block, whose lines never run together
    for line in text.split("\n"):
        end = offset + len(line)
        if not line.strip():
            if start >= 0:
                runs.append((start, last_end))
                start = -1
        else:
            fence = _FENCE.match(line) is not None
            if start >= 0 and (code or fence or not _carries_on(last, line)):
                runs.append((start, last_end))
                start = -1
            code = code != fence
            if start < 0:
                start = offset
            last, last_end = line, end
        offset = end + 1
    if start >= 0:
        runs.append((start, last_end))
    return runs


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text` (never empty for non-blank text).

    Lines inside a block are split too, unless a line carries on the sentence of the one before
    (`line_runs`): a block such as a list or "Label:\\nText" has no final punctuation on its
    lines, yet each line reads as its own sentence, while hard-wrapped prose is one text.
    """
    if "\n" not in text:
        return line_spans(text) if text.strip() else []
    spans: list[tuple[int, int]] = []
    for start, end in line_runs(text):
        run = text[start:end]
        for a, b in line_spans(run.replace("\n", " ") if "\n" in run else run):
            spans.append((start + a, start + b))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order."""
    return [text[s:e] for s, e in sentence_spans(text)]
