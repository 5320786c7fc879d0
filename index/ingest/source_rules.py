"""Which corpus files are left out, and how much each source counts: `corpus.exclude` and
`corpus.weights`, matched against a file's path inside its corpus folder.

Not every file of a documentation folder is an answer: a changelog's one-line entries repeat
the words of every question about a feature ("Added `timeout` to `Client`") and outrank the
tutorial paragraph that explains it. A weight below 1 demotes such files (it multiplies every
score of their passages, `source_weights`); `exclude` leaves drafts and scratch files out of
the index altogether.

Patterns are globs over `/`-separated paths, matched case-insensitively (a changelog is
`CHANGELOG.md` in one project and `changelog.md` in the next):

- `*` is any run of characters within one folder or file name, `?` one character, `[abc]`
  one of those characters;
- `**` is any run of folders: `drafts/**` is everything under `drafts/`, `**/old/*.md` the
  Markdown files of any `old/` folder, `a/**/b.md` both `a/b.md` and `a/x/y/b.md`;
- a pattern without `/` is matched against the file's name alone, so it applies at any depth
  (`*.tmp.md`, `changelog*`, `release-notes.md`); a leading `/` keeps it to the top folder
  (`/notes.md`), and a trailing `/` means everything in such a folder (`drafts/`).

What a pattern is matched against (`relative_name`): for a file found in a corpus folder, its
path inside that folder (`guide/setup.md` for `corpus/guide/setup.md`); for a file given by
itself, its name; for a web page, its URL's path without the leading and trailing `/`
(`docs/changelog` for `https://example.org/docs/changelog/`). `exclude` applies to files found
in folders only: a file or URL named on its own is read because it was named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePath
from urllib.parse import urlsplit

# The most a weight may multiply a score by (a weight is a nudge; 0 would be `exclude`).
MAX_WEIGHT = 10.0


def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression of a glob pattern (module docstring); ValueError for a pattern
    that can match nothing (empty, or an unclosed `[`)."""
    raw = pattern.strip().replace("\\", "/")
    text = raw.strip("/")
    if not text:
        raise ValueError(f"{pattern!r} is not a pattern (it is empty)")
    if "/" not in text and not raw.startswith("/"):
        text = "**/" + text  # a bare name: at any depth (a leading "/" keeps it to the top folder)
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more whole folders
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = text.find("]", i + 2 if text.startswith("[!", i) or text.startswith("[^", i) else i + 1)
            if end == -1:
                raise ValueError(f"{pattern!r} has a '[' without its ']'")
            body = text[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append(("[^/" if negate else "[") + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    if raw.endswith("/"):
        out.append("/.*")  # "drafts/": everything in such a folder
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SourceWeight:
    """One `[[corpus.weights]]` entry: files matching `pattern` count `weight` times."""

    pattern: str
    weight: float

    def __post_init__(self) -> None:
        compile_glob(self.pattern)
        if not 0 < self.weight <= MAX_WEIGHT:
            raise ValueError(
                f"weight of {self.pattern!r} must be more than 0 and at most {MAX_WEIGHT:g} "
                f"(to leave files out, use corpus.exclude), got {self.weight!r}"
            )


@dataclass(frozen=True)
class SourceRules:
    """`corpus.exclude` and `corpus.weights`: which files a build leaves out, and how much
    the others count. The first weight entry whose pattern matches a file gives its weight;
    a file that none matches counts 1 (the default rules change nothing)."""

    exclude: tuple[str, ...] = ()
    weights: tuple[SourceWeight, ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.exclude:
            compile_glob(pattern)

    @cached_property
    def _exclude(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple((p, compile_glob(p)) for p in self.exclude)

    @cached_property
    def _weights(self) -> tuple[tuple[re.Pattern[str], float], ...]:
        return tuple((compile_glob(w.pattern), w.weight) for w in self.weights)

    def excluded_by(self, relative: str) -> str | None:
        """The `exclude` pattern that leaves this file out (its path inside its corpus
        folder), or None."""
        for pattern, regex in self._exclude:
            if regex.fullmatch(relative):
                return pattern
        return None

    def weight_of(self, relative: str) -> float:
        """The weight of the source at this relative name (`relative_name`): the first
        matching entry's, else 1."""
        for regex, weight in self._weights:
            if regex.fullmatch(relative):
                return weight
        return 1.0

    def weights_json(self) -> str:
        """The weight rules as the index's meta records them (what its weights were made by)."""
        return json.dumps([[w.pattern, w.weight] for w in self.weights], ensure_ascii=False)


def relative_name(path: str, kind: str, roots: Iterable[str]) -> str:
    """What patterns are matched against for the document at `path` (module docstring):
    inside the deepest corpus folder among `roots` that holds it, a file root's own name, a
    web page's URL path; any other path as it is."""
    if kind == "url":
        return urlsplit(path).path.strip("/")
    pure = PurePath(path)
    for root in sorted(roots, key=len, reverse=True):
        if path == root:
            return pure.name
        if root in (".", ""):
            if not pure.is_absolute():
                return pure.as_posix()
            continue
        try:
            return pure.relative_to(root).as_posix()
        except ValueError:
            continue
    return pure.as_posix()


def parse_weights(raw: object, key: str = "corpus.weights") -> tuple[SourceWeight, ...]:
    """`[[corpus.weights]]` tables (`pattern = "..."`, `weight = 0.5`) as SourceWeights;
    ValueError naming the entry that is wrong."""
    if not isinstance(raw, list):
        raise ValueError(
            f"{key} must be a list of tables with a pattern and a weight, e.g. "
            f'[[corpus.weights]] pattern = "changelog*" weight = 0.5'
        )
    out: list[SourceWeight] = []
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or set(entry) != {"pattern", "weight"}:
            raise ValueError(f"{key} entry {n} must have exactly a pattern and a weight, got {entry!r}")
        pattern, weight = entry["pattern"], entry["weight"]
        if not isinstance(pattern, str):
            raise ValueError(f"{key} entry {n}: pattern must be a string, got {pattern!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(f"{key} entry {n}: weight must be a number, got {weight!r}")
        try:
            out.append(SourceWeight(pattern, float(weight)))
        except ValueError as exc:
            raise ValueError(f"{key} entry {n}: {exc}") from exc
    return tuple(out)


def parse_exclude(raw: object, key: str = "corpus.exclude") -> tuple[str, ...]:
    """`corpus.exclude` as a tuple of checked patterns; ValueError naming the bad one."""
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ValueError(f'{key} must be a list of glob patterns, e.g. ["drafts/**", "*.tmp.md"]')
    for pattern in raw:
        try:
            compile_glob(pattern)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from exc
    return tuple(raw)
