"""Splitting documents into passages: the units that are ranked, shown and cited.

A passage stays inside one section, never cuts a sentence, and holds at most `max_words` words;
a short paragraph (a lead-in such as "In conclusion,") joins the next one in its section. Its
citation names the paragraph span it came from, in the numbering a reader can count.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..analysis import count_words, sentence_spans
from .blocks import BYLINE, Block
from .source_names import shown_name

if TYPE_CHECKING:  # a process that only reads passages back never imports the readers
    from .documents import Document

_WORD = re.compile(r"\S+")
_FENCE_START = re.compile(r"[ \t]*(?:```|~~~)")
AUTHOR_SECTION = "About the author"


@dataclass(frozen=True)
class PassageParams:
    """How documents are cut. Part of the index's fingerprint: changing it means reindexing."""

    max_words: int = 200
    join_below: int = 25

    def __post_init__(self) -> None:
        if self.max_words < 10:
            raise ValueError(f"max_words must be at least 10, got {self.max_words}")
        if not 0 <= self.join_below <= self.max_words:
            raise ValueError(f"join_below must be between 0 and max_words ({self.max_words}), got {self.join_below}")


@dataclass(frozen=True)
class Citation:
    """Where a passage comes from, precisely enough for a reader to find it."""

    document: str
    path: str
    paragraphs: tuple[int, int]
    start: int
    end: int
    section: str | None = None
    author: str | None = None
    url: str | None = None
    kind: str = "txt"
    # The file as people see it: relative to the corpus folder it was found under
    # (`source_names`); `path` may be absolute and is never shown in a reply.
    name: str | None = None
    # The first and last page the passage is printed on, for a document with pages (a PDF).
    pages: tuple[int, int] | None = None

    @property
    def display_name(self) -> str:
        """The file's name as people see it (never an absolute path)."""
        return self.name or shown_name(self.path)

    @property
    def shown_path(self) -> str:
        """What a reply names as the source: the URL, else the file's shown name."""
        return self.url or self.display_name

    @property
    def paragraph_label(self) -> str:
        first, last = self.paragraphs
        return f"¶{first}" if first == last else f"¶{first}–{last}"

    @property
    def page_label(self) -> str | None:
        """ "p. 3" or "pp. 3–4"; None for a document without pages."""
        if self.pages is None:
            return None
        first, last = self.pages
        return f"p. {first}" if first == last else f"pp. {first}–{last}"

    @property
    def label(self) -> str:
        """One line: "Title" by Author, § Section, ¶7–8[, p. 3] (path)."""
        parts = [f'"{self.document}"']
        if self.author:
            parts[0] += f" by {self.author}"
        if self.section:
            parts.append(f"§ {self.section}")
        parts.append(self.paragraph_label)
        page_label = self.page_label  # (None exactly when there are no pages)
        if page_label is not None:
            parts.append(page_label)
        return ", ".join(parts) + f" ({self.shown_path})"

    def covers(self, paragraph: int) -> bool:
        return self.paragraphs[0] <= paragraph <= self.paragraphs[1]


@dataclass(frozen=True)
class Passage:
    """A rankable piece of a document, with its citation and its context (title, section)."""

    id: str
    doc_hash: str
    ordinal: int
    text: str
    citation: Citation

    @property
    def context(self) -> str:
        """Words that describe where the passage stands, indexed as a field of their own."""
        parts = [self.citation.document, self.citation.section or ""]
        if self.citation.section == AUTHOR_SECTION:
            # The byline passage answers "who wrote this?": give it the words people use for that.
            parts.append(f"author writer wrote written by {self.citation.author or ''}")
        return " ".join(p for p in parts if p)


def page_span(page_starts: Sequence[int], start: int, end: int) -> tuple[int, int] | None:
    """The first and last page (from 1) of the characters `start`..`end` (exclusive) of a
    document whose pages start at `page_starts`; None for a document without pages."""
    if not page_starts:
        return None
    first = bisect.bisect_right(page_starts, start)
    last = bisect.bisect_right(page_starts, max(start, end - 1))
    return max(first, 1), max(last, 1)


def split_document(doc: Document, params: PassageParams = PassageParams()) -> list[Passage]:
    """All passages of a document in reading order; ids are stable while the text is unchanged."""
    pieces: list[tuple[list[Block], str, int, int]] = []  # (blocks, text, start, end)
    bio = [b for b in doc.blocks if b.role == BYLINE]
    for block in bio:
        text = doc.author_bio or block.text.replace("\n", " ")
        # The bio leaves out the repeated name lines above it: cite where its own text starts.
        found = doc.text.find(text[:40], block.start, block.end)
        pieces.append(([block], text, found if found >= 0 else block.start, block.end))
    for section_blocks in _sections(doc.paragraphs):
        pieces.extend(_cut_section(section_blocks, params))

    passages = []
    for ordinal, (blocks, text, start, end) in enumerate(pieces):
        first = blocks[0]
        section = AUTHOR_SECTION if first.role == BYLINE else first.section
        citation = Citation(
            document=doc.title,
            path=doc.path,
            paragraphs=(first.number, blocks[-1].last),
            start=start,
            end=end,
            section=section,
            author=doc.author,
            url=doc.url,
            kind=doc.kind,
            pages=page_span(doc.page_starts, start, end),
        )
        # 64 bits of the content hash: ids stay unique across millions of documents.
        passages.append(Passage(f"{doc.content_hash[:16]}-{ordinal}", doc.content_hash, ordinal, text, citation))
    return passages


def _sections(paragraphs: list[Block]) -> list[list[Block]]:
    groups: list[list[Block]] = []
    for block in paragraphs:
        if groups and groups[-1][-1].section == block.section:
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


def _words(text: str) -> int:
    # Equal to len(_WORD.findall(text)) and len(text.split()): `str.split` and the regex `\s`
    # both split at exactly the characters for which `str.isspace` holds; `count_words` counts
    # the same runs in C without building a list of them.
    return count_words(text)


def _cut_section(blocks: list[Block], params: PassageParams) -> list[tuple[list[Block], str, int, int]]:
    """Greedy cut: whole paragraphs where they fit, sentence groups where one is too long."""
    out: list[tuple[list[Block], str, int, int]] = []
    counts: list[int] = []  # words of each piece of `out`
    current: list[Block] = []
    current_words = 0

    def flush() -> None:
        if current:
            text = "\n\n".join(b.text for b in current)
            out.append((list(current), text, current[0].start, current[-1].end))
            counts.append(current_words)  # a piece's words are its blocks' words
            current.clear()

    for block in blocks:
        words = _words(block.text)
        code = _FENCE_START.match(block.text) is not None
        if (
            current
            and code
            and current_words + words > params.max_words
            and len(current) > 1
            and current[-1].text.rstrip().endswith(":")
        ):
            # A code block that does not fit takes its lead-in ("use with:") along.
            lead = current.pop()
            current_words -= _words(lead.text)
            flush()
            current.append(lead)
            current_words = _words(lead.text)
        if current:
            # A code block stays with the text that introduces it, however long that is.
            if (current_words < params.join_below or code) and current_words + words <= params.max_words:
                current.append(block)
                current_words += words
                continue
            flush()
        if words <= params.max_words:
            current.append(block)
            current_words = words
        else:
            pieces = _cut_paragraph(block, params.max_words)
            out.extend(pieces)
            counts.extend(_words(text) for _, text, _, _ in pieces)
    flush()
    # A short trailing paragraph joins the passage before it when it fits.
    if len(out) >= 2 and counts[-1] < params.join_below:
        prev, last = out[-2], out[-1]
        if counts[-2] + counts[-1] <= params.max_words and prev[0][-1] is not last[0][0]:
            out[-2:] = [(prev[0] + last[0], prev[1] + "\n\n" + last[1], prev[2], last[3])]
    return out


def _cut_paragraph(block: Block, max_words: int) -> list[tuple[list[Block], str, int, int]]:
    """Split one long paragraph into runs of whole sentences of at most max_words words.

    A single sentence longer than max_words (a pathological input) is cut at word boundaries:
    the only case where a passage ends inside a sentence.
    """
    spans: list[tuple[int, int]] = []
    for start, end in sentence_spans(block.text):
        sentence = block.text[start:end]
        if _words(sentence) <= max_words:
            spans.append((start, end))
            continue
        words = list(_WORD.finditer(sentence))
        for i in range(0, len(words), max_words):
            chunk = words[i : i + max_words]
            spans.append((start + chunk[0].start(), start + chunk[-1].end()))
    out = []
    group: list[tuple[int, int]] = []
    count = 0
    for start, end in spans:
        n = _words(block.text[start:end])
        if group and count + n > max_words:
            out.append(group)
            group, count = [], 0
        group.append((start, end))
        count += n
    if group:
        out.append(group)
    return [([block], block.text[g[0][0] : g[-1][1]], block.start + g[0][0], block.start + g[-1][1]) for g in out]
