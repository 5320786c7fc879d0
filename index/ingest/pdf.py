"""Reading PDF files: each page's lines, rebuilt into paragraphs, with the page every character is on.

A PDF holds no paragraphs, only glyphs placed on pages; what a reader sees as a paragraph is a
run of lines in one style with no extra space between them, and it may carry on over a page
break. This module asks PDFium (pypdfium2) for each page's text lines with their position, font
size and weight (`_read_pages` and its helpers, the only code that talks to the library), and rebuilds the
document from those facts alone (`rebuild`), by general layout rules:

- furniture: a line at the top or bottom edge of its page whose text, with digits replaced,
  recurs at that edge on most pages (running headers and footers, "Page 2 of 9", "- 3 -"; on
  most odd or most even pages, for headers that alternate), an edge line holding its page's
  number (when edge lines on most pages hold a number that goes up with the page: "Chapter 3:
  Utilities 6"), or an edge line of no letters at all (a bare page number), is dropped --
  unless it is set larger than the body text (a slide's title);
- paragraphs: a new one starts after extra vertical space, at a change of font size or weight,
  at a line indented further than the one before, and after a short line that ends a sentence;
  a page's last paragraph carries on at the next page's first line unless one of those says
  otherwise; the items of a bulleted list stay one paragraph. Lines join with one space
  (justified text's wide spacing is collapsed), a list item or a line the author ended early
  (a name above a bio) keeps its line break, and a line-end hyphen joins the word halves,
  keeping the hyphen only where the document spells the word with one elsewhere;
- headings: short paragraphs set larger or bolder than the body become `## ` lines (the markup
  `documents.parse_document` reads for every markup kind); short unpunctuated lines in the
  body's style are left to its plain-text rule. The title is the metadata's, else the largest
  short text at the top of the first page; the author is the metadata's, else the byline rule's.

The text is then parsed like any other document (`kind="pdf"`), so paragraphs are numbered as
for other kinds (the title is paragraph 1), and `Document.page_starts` records where each page
begins in that text, so a passage's pages follow from its character span (`passages.page_span`).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..analysis.normalize import normalize_text
from ..corpus_warnings import WarningKind
from .blocks import HEADING, TITLE
from .documents import Document, parse_document
from .files import UnreadableDocument, read_bytes_file

PDF_SUFFIXES = (".pdf",)
PDF_CONTENT_TYPES = ("application/pdf", "application/x-pdf")

# PDFium's mark for a hyphen that ends a line (it joins the line with the next one); a soft hyphen.
_LINE_END_HYPHENS = "\ufffe\u00ad\x02"
_LINE_BREAK = re.compile("\r\n|[\r\n\ufffe\u00ad\x02]")
_SPACES = re.compile(r"\s+")
_LETTER_TAIL = re.compile(r"([^\W\d_]+)$")
_LETTER_HEAD = re.compile(r"^([^\W\d_]+)")
_HYPHENATED = re.compile(r"[^\W\d_]+-[^\W\d_]+")
_WORDS = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"(?<![\d.,])\d{1,4}(?![\d.,]\d)")
_DOT_LEADER = re.compile(r"(?: ?\.){4,} ?")  # a table of contents' leader: ". . . . ." or "....."
_BULLET = re.compile(r"^(?:[\u2022\u25e6\u25aa\u2023\u25cf\u25cb\u25a0\u25a1*\u2013\u2014-]|\d{1,3}[.)])\s")
_ENDS_SENTENCE = re.compile(r"[.!?:][\"'\u2019\u201d)\]]*$")
_FILE_NAME = re.compile(r"\.[A-Za-z0-9]{2,5}$")

# How many lines at each edge of a page are looked at as possible headers and footers, and how
# far from the edge they may be (a share of the height the document's text spans).
_EDGE_LINES = 3
_EDGE_ZONE = 0.2
# How many characters of a line are asked for their font size and weight.
_STYLE_SAMPLES = 6
# Font sizes closer than this ratio are one size (a word of code in 9 points in a 10-point body).
_SIZE_STEP = 1.12
# A heading is at most this many words (as `documents._is_heading_text` counts them) and lines.
_HEADING_WORDS = 14
_HEADING_LINES = 3

# PDFium may be used by one thread at a time; a forked build worker starts with its own lock.
_LOCK = threading.Lock()


def _new_lock() -> None:
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock)


@dataclass(frozen=True)
class Line:
    """One line of a page as it is printed: its text, box (PDF points, y upwards) and style."""

    text: str
    page: int  # from 1
    left: float
    right: float
    top: float
    bottom: float
    size: float  # the font size (points) most of the characters `_line` looks at are set in
    bold: bool  # the first and last of those are bold
    hyphen: bool = False  # it ends in a line-end hyphen (PDFium's mark)


@dataclass(frozen=True)
class PdfPages:
    """What `_read_pages` takes from a file: its metadata and every page's lines."""

    title: str | None
    author: str | None
    pages: list[list[Line]]


# ---------------------------------------------------------------------------------------------
# Reading


def is_pdf(content_type: str) -> bool:
    """Whether a fetched page's Content-Type names a PDF."""
    return content_type.split(";", 1)[0].strip().lower() in PDF_CONTENT_TYPES


def load_pdf(path: Path, display_path: str | None = None, max_bytes: int | None = None) -> Document:
    """Read one PDF file into a Document (`kind="pdf"`, with `page_starts`).

    Raises UnreadableDocument for a file that is password-protected, damaged, or has no text
    layer (a scan), so a build skips it with a warning and goes on.
    """
    data = read_bytes_file(path, max_bytes=max_bytes)
    return parse_pdf(data, display_path or str(path), source=path)


def parse_pdf(data: bytes, path: str, source: Path | str | None = None, url: str | None = None) -> Document:
    """A PDF's bytes as a Document named `path` (a fetched one's `url` is its citation link)."""
    where = Path(str(source if source is not None else path))
    read = _read_pages(data, where)
    if not any(read.pages):
        raise UnreadableDocument(
            where,
            "the PDF has no text layer (scanned pages?); run OCR on it (e.g. ocrmypdf) to index it",
            WarningKind.NO_TEXT,
        )
    text, page_starts, first_title = rebuild(read.pages)
    metadata: dict[str, str] = {}
    title = _usable_title(read.title, where) or first_title
    if title:
        metadata["title"] = title
    author = _SPACES.sub(" ", normalize_text(read.author or "")).strip()
    if author:
        metadata["author"] = author
    if url:
        metadata["url"] = url
    doc = parse_document(text, path, kind="pdf", metadata=metadata)
    if first_title is not None and title != first_title:
        doc = _title_is_no_section(doc, first_title)
    # The hash names the document's content, and a PDF's title, author and page breaks are not in
    # its text: a file rewritten with another title or other page breaks is another document
    # (an incremental reindex reuses the stored rows of a document whose hash it knows).
    facts = "\0".join([doc.text, doc.title, doc.author or "", doc.url or "", ",".join(map(str, page_starts))])
    return replace(doc, page_starts=tuple(page_starts), content_hash=hashlib.sha256(facts.encode("utf-8")).hexdigest())


def _title_is_no_section(doc: Document, shown: str) -> Document:
    """The document with its first block, the title printed on the first page (`shown`), as
    its title block, not as a heading that names a section (the metadata's title differs)."""
    first = doc.blocks[0] if doc.blocks else None
    if first is None or first.role != HEADING or first.section != shown:
        return doc
    blocks = [replace(first, role=TITLE, section=None)]
    in_first = True
    for block in doc.blocks[1:]:
        in_first = in_first and block.role != HEADING
        blocks.append(replace(block, section=None) if in_first and block.section == shown else block)
    return replace(doc, blocks=tuple(blocks))


def _usable_title(title: str | None, path: Path) -> str | None:
    """The metadata title, unless it is empty or names a file (what converters often leave)."""
    if not title:
        return None
    title = _SPACES.sub(" ", normalize_text(title)).strip()
    if not _WORDS.search(title) or _FILE_NAME.search(title) or title == path.stem:
        return None
    return title


def _read_pages(data: bytes, path: Path) -> PdfPages:
    """Every page's lines and the document's title and author, as PDFium reads them."""
    import pypdfium2 as pdfium

    with _LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise UnreadableDocument(path, "the PDF is password-protected", WarningKind.ENCRYPTED) from exc
            raise UnreadableDocument(
                path, f"not a readable PDF (damaged, or not a PDF: {_pdfium_reason(exc)})"
            ) from exc
        except Exception as exc:  # anything else the library meets must not stop a build
            raise UnreadableDocument(path, f"not a readable PDF ({exc})") from exc
        try:
            meta = pdf.get_metadata_dict(skip_empty=True)
            pages = [_page_lines(pdf, i) for i in range(len(pdf))]
        except UnreadableDocument:
            raise
        except Exception as exc:
            raise UnreadableDocument(path, f"not a readable PDF (damaged: {exc})") from exc
        finally:
            pdf.close()
    return PdfPages(meta.get("Title"), meta.get("Author"), pages)


def _pdfium_reason(exc: Exception) -> str:
    found = re.search(r"PDFium: ([^)]*)", str(exc))
    return found.group(1).lower() if found else str(exc)


def _page_lines(pdf, index: int) -> list[Line]:
    """The lines of one page, in PDFium's reading order (a line-end hyphen ends a line too)."""
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
            lines: list[Line] = []
            start = 0
            for brk in [*_LINE_BREAK.finditer(text), None]:
                end = brk.start() if brk else len(text)
                hyphen = brk is not None and brk.group() in _LINE_END_HYPHENS
                line = _line(textpage, text, start, end, index + 1, hyphen)
                if line is not None:
                    lines.append(line)
                start = brk.end() if brk else len(text)
            return lines
        finally:
            textpage.close()
    finally:
        page.close()


def _line(textpage, text: str, start: int, end: int, page: int, hyphen: bool) -> Line | None:
    """The line `text[start:end]` with its box and style: the size most of a few characters
    spread over it are set in (a bullet or a word of code in other type does not decide), bold
    when the first and last of those are, and the box of those characters."""
    import pypdfium2.raw as raw

    segment = text[start:end]
    stripped = segment.strip()
    if not stripped:
        return None
    first_pos = start + len(segment) - len(segment.lstrip())
    last_pos = first_pos + len(stripped) - 1
    picks = {first_pos, last_pos}
    for k in range(1, _STYLE_SAMPLES - 1):  # a few more, evenly spread, each on a non-space
        at = first_pos + (last_pos - first_pos) * k // (_STYLE_SAMPLES - 1)
        while text[at].isspace():
            at += 1
        picks.add(at)
    tp = textpage.raw
    chars = [c for c in (raw.FPDFText_GetCharIndexFromTextIndex(tp, p) for p in sorted(picks)) if c >= 0]
    if not chars:
        return None
    sizes = [round(raw.FPDFText_GetFontSize(tp, c), 1) for c in chars]
    size = max(Counter(sizes).items(), key=lambda kv: (kv[1], kv[0]))[0]
    main = [c for c, s in zip(chars, sizes) if s == size]
    box_first = textpage.get_charbox(chars[0], loose=True)
    box_last = textpage.get_charbox(chars[-1], loose=True)
    boxes = [
        box_first if c == chars[0] else box_last if c == chars[-1] else textpage.get_charbox(c, loose=True)
        for c in (main[0], main[-1])
    ]
    bold = _is_bold(tp, main[0]) and (len(main) == 1 or _is_bold(tp, main[-1]))
    return Line(
        stripped,
        page,
        box_first[0],
        box_last[2],
        max(b[3] for b in boxes),
        min(b[1] for b in boxes),
        size,
        bold,
        hyphen,
    )


_FONT_NAME = ctypes.create_string_buffer(128)  # (used under _LOCK only)
_FONT_FLAGS = ctypes.c_int(0)


def _is_bold(tp, index: int) -> bool:
    """Whether a character is set in a bold font (its weight, or the font's name or flags)."""
    import pypdfium2.raw as raw

    if raw.FPDFText_GetFontWeight(tp, index) >= 600:
        return True
    raw.FPDFText_GetFontInfo(tp, index, _FONT_NAME, len(_FONT_NAME), ctypes.byref(_FONT_FLAGS))
    return bool(_FONT_FLAGS.value & (1 << 18)) or b"bold" in _FONT_NAME.value.lower()


# ---------------------------------------------------------------------------------------------
# Rebuilding the text (pure: lines in, text out)


@dataclass(frozen=True)
class _Layout:
    """The body text's measures, from the whole document."""

    size: float  # the font size most characters are set in
    bold: bool  # whether the body is bold
    left: float  # the body's left edge
    right: float  # the body's right edge (full lines end here)
    pitch: float  # the distance between two lines of a paragraph, for the body size
    gapped: bool  # whether paragraphs are set apart by vertical space

    @property
    def width(self) -> float:
        return max(self.right - self.left, 1.0)


def rebuild(pages: Sequence[Sequence[Line]]) -> tuple[str, list[int], str | None]:
    """The document's text (paragraphs separated by blank lines, headings as `## ` lines),
    where each page starts in it, and the first page's title when it shows one."""
    layout = _measure([line for page in pages for line in page])
    kept = _drop_furniture(pages, layout)
    paragraphs = _paragraphs(kept, layout)
    spelled = _Spellings(kept)
    first_title = _first_page_title(paragraphs, layout)
    blocks: list[tuple[str, list[tuple[int, int]]]] = []  # text, (offset in it, page) of each page start
    for i, para in enumerate(paragraphs):
        text, line_starts = _join_lines(para, spelled, layout)
        if i == 0 and first_title is not None:
            prefix = "# "
        elif _is_heading(para, text, layout):
            prefix = "## "
        else:
            prefix = ""
        # each page that starts in this paragraph, at its first line (the prefix before the first)
        marks = [
            (line_starts[j] + len(prefix) if j else 0, line.page)
            for j, line in enumerate(para)
            if j == 0 or line.page != para[j - 1].page
        ]
        blocks.append((prefix + text, marks))
    return (*_assemble(blocks, len(pages)), first_title)


def _measure(lines: list[Line]) -> _Layout:
    """The body's size, weight, edges, line pitch and paragraph spacing (see `_Layout`)."""
    chars: Counter[float] = Counter()
    for line in lines:
        chars[line.size] += len(line.text)
    size = chars.most_common(1)[0][0] if chars else 10.0
    body = [line for line in lines if _similar(line.size, size)]
    bold_chars = sum(len(line.text) for line in body if line.bold)
    lefts = sorted(line.left for line in body)
    rights = sorted(line.right for line in body)
    left = lefts[len(lefts) // 10] if lefts else 0.0
    right = rights[(len(rights) * 9) // 10] if rights else 0.0
    steps = sorted(
        a.bottom - b.bottom for a, b in zip(body, body[1:]) if a.page == b.page and 0 < a.bottom - b.bottom < 3 * size
    )
    pitch = steps[len(steps) // 4] if steps else size * 1.2  # the tighter steps are within paragraphs
    gaps = sum(1 for step in steps if step > pitch * 1.3)
    return _Layout(
        size,
        bold_chars * 2 > sum(len(line.text) for line in body),
        left,
        right,
        pitch,
        gapped=gaps >= max(1, len(steps) // 20),
    )


def _furniture_key(text: str) -> str:
    return _SPACES.sub(" ", re.sub(r"\d+", "#", text.lower())).strip()


def _edges(page: Sequence[Line], top: float, bottom: float) -> tuple[list[int], list[int]]:
    """Indices of the topmost and bottommost lines of a page (a line may be both) that lie in
    the outer fifth of the height the document's text spans (`top` to `bottom`)."""
    order = sorted(range(len(page)), key=lambda i: -page[i].top)
    zone = (top - bottom) * _EDGE_ZONE
    return (
        [i for i in order[:_EDGE_LINES] if page[i].top >= top - zone],
        [i for i in order[::-1][:_EDGE_LINES] if page[i].bottom <= bottom + zone],
    )


def _drop_furniture(pages: Sequence[Sequence[Line]], layout: _Layout) -> list[list[Line]]:
    """Each page without its running headers, footers and page numbers (see the module doc)."""
    counts: dict[str, Counter[str]] = {"top": Counter(), "bottom": Counter()}
    by_parity: dict[str, list[Counter[str]]] = {"top": [Counter(), Counter()], "bottom": [Counter(), Counter()]}
    with_text = [0, 0]
    edges = []
    every = [line for page in pages for line in page]
    highest = max((line.top for line in every), default=0.0)
    lowest = min((line.bottom for line in every), default=0.0)
    for n, page in enumerate(pages, start=1):
        top, bottom = _edges(page, highest, lowest)
        edges.append((top, bottom))
        if page:
            with_text[n % 2] += 1
        for edge, found in (("top", top), ("bottom", bottom)):
            keys = {_furniture_key(page[i].text) for i in found}
            counts[edge].update(keys)
            by_parity[edge][n % 2].update(keys)
    total = sum(with_text)
    offset = _page_number_offset(pages, edges, total)

    def repeats(edge: str, key: str) -> bool:
        if counts[edge][key] < 2:
            return False
        if counts[edge][key] * 2 > total:
            return True
        # headers that alternate between left and right pages (a book's title, then its chapter's)
        return any(by_parity[edge][p][key] * 2 > with_text[p] and by_parity[edge][p][key] >= 2 for p in (0, 1))

    out: list[list[Line]] = []
    for n, (page, (top, bottom)) in enumerate(zip(pages, edges), start=1):
        drop = set()
        for edge, found in (("top", top), ("bottom", bottom)):
            for i in found:
                line = page[i]
                if _larger(line.size, layout.size):
                    continue
                if (
                    repeats(edge, _furniture_key(line.text))
                    or (not _WORDS.search(line.text) and len(line.text) <= 12)
                    or (offset is not None and n + offset in _edge_numbers(line.text))
                ):
                    drop.add(i)
        out.append([line for i, line in enumerate(page) if i not in drop])
    return out


def _edge_numbers(text: str) -> set[int]:
    """The numbers in a short line (a header that names its chapter and its page)."""
    if len(_WORDS.findall(text)) > 10:
        return set()
    return {int(d) for d in _NUMBER.findall(text)}


def _page_number_offset(
    pages: Sequence[Sequence[Line]], edges: Sequence[tuple[list[int], list[int]]], total: int
) -> int | None:
    """How the printed page numbers run ahead of the pages' places (page n is numbered
    n + offset), when edge lines on enough pages hold a number that goes up with the page:
    then a header that changes from chapter to chapter ("Chapter 3: Utilities 6") is known by
    its page number."""
    seen: Counter[int] = Counter()
    for n, (page, (top, bottom)) in enumerate(zip(pages, edges), start=1):
        seen.update({number - n for i in {*top, *bottom} for number in _edge_numbers(page[i].text)})
    if not seen:
        return None
    offset, count = seen.most_common(1)[0]
    return offset if count >= max(3, total // 2) else None


def _similar(a: float, b: float) -> bool:
    """Two font sizes a reader takes for one (9 and 10 points: a word of code in the body)."""
    return max(a, b) <= min(a, b) * _SIZE_STEP


def _larger(size: float, than: float) -> bool:
    return size > than * _SIZE_STEP


def _same_style(a: Line, b: Line) -> bool:
    return _similar(a.size, b.size) and a.bold == b.bold


def _short(line: Line, layout: _Layout) -> bool:
    """A line that stops well before the body's right edge."""
    return line.right < layout.right - max(layout.width * 0.1, line.size)


def _broken_short(line: Line, layout: _Layout) -> bool:
    """A line that stops before seven tenths of the body's width without ending its paragraph:
    the author broke it there (a name above a bio, an address), so the break is kept."""
    return line.right < layout.left + layout.width * 0.7 and not line.hyphen


def _ends_paragraph(line: Line, layout: _Layout) -> bool:
    """A line that looks like the last of its paragraph: short, and closing a sentence."""
    return _short(line, layout) and bool(_ENDS_SENTENCE.search(line.text))


def _indented(b: Line, a: Line) -> bool:
    """`b` starts further right than `a` by more than a character or so (a first-line indent)."""
    return b.left > a.left + max(b.size, 6.0)


def _breaks(a: Line, b: Line, layout: _Layout, opening: Line) -> bool:
    """Whether a new paragraph starts at `b`, the line printed after `a` on the same page
    (`opening` is the first line of `a`'s paragraph)."""
    if not _same_style(a, b) or b.top > a.top - 1.0:  # another style, or not below (a new column)
        return True
    pitch = layout.pitch * b.size / layout.size
    if _BULLET.match(b.text) and _BULLET.match(opening.text):
        return a.bottom - b.bottom > pitch * 3  # the next item of a list: the list is one paragraph
    if a.bottom - b.bottom > pitch * 1.3:
        return True
    if _indented(b, a) and not _BULLET.match(a.text):
        return True
    return _ends_paragraph(a, layout) and not layout.gapped


def _carries_on(a: Line, b: Line, layout: _Layout) -> bool:
    """Whether the paragraph ending a page with `a` goes on at `b`, the next page's first line."""
    if not _same_style(a, b) or _ends_paragraph(a, layout) or _indented(b, a) and not _BULLET.match(a.text):
        return False
    return not (_short(a, layout) and not a.hyphen and b.text[:1].isupper())


def _paragraphs(pages: Sequence[Sequence[Line]], layout: _Layout) -> list[list[Line]]:
    """The document's paragraphs in page order, each a list of lines; a paragraph that a page
    break cuts is one paragraph."""
    paragraphs: list[list[Line]] = []
    for page in pages:
        for line in page:
            prev = paragraphs[-1][-1] if paragraphs else None
            if prev is None:
                paragraphs.append([line])
            elif prev.page == line.page:
                if _breaks(prev, line, layout, paragraphs[-1][0]):
                    paragraphs.append([line])
                else:
                    paragraphs[-1].append(line)
            elif _carries_on(prev, line, layout) and not _is_heading(paragraphs[-1], "", layout):
                paragraphs[-1].append(line)
            else:
                paragraphs.append([line])
    return paragraphs


class _Spellings:
    """The hyphenated words written inside lines, and every word, in lower case: what decides
    whether a hyphen at a line end is kept. Collected when first asked (many PDFs hyphenate
    nothing)."""

    def __init__(self, pages: Sequence[Sequence[Line]]) -> None:
        self._pages = pages
        self._found: tuple[set[str], set[str]] | None = None

    def keeps_hyphen(self, compound: str, joined: str) -> bool:
        """Whether the text spells `compound` ("well-known") and never `joined` ("wellknown")."""
        if self._found is None:
            hyphenated: set[str] = set()
            words: set[str] = set()
            for page in self._pages:
                for line in page:
                    lower = line.text.lower()
                    if "-" in lower:
                        hyphenated.update(_HYPHENATED.findall(lower))
                    words.update(_WORDS.findall(lower))
            self._found = hyphenated, words
        hyphenated, words = self._found
        return compound in hyphenated and joined not in words


def _join_lines(lines: Sequence[Line], spelled: _Spellings, layout: _Layout) -> tuple[str, list[int]]:
    """A paragraph's text from its lines, and where each line starts in it."""
    text = ""
    starts: list[int] = []
    for i, line in enumerate(lines):
        part = _SPACES.sub(" ", _DOT_LEADER.sub(" ... ", normalize_text(line.text))).strip()
        if i == 0:
            starts.append(0)
            text = part
            continue
        prev = lines[i - 1]
        hyphen_end = prev.hyphen or (text.endswith("-") and text[-2:-1].isalpha())
        if hyphen_end and part[:1].islower():
            if text.endswith("-"):
                text = text[:-1]
            head = _LETTER_TAIL.search(text)
            tail = _LETTER_HEAD.match(part)
            if head and tail:
                joined = (head.group(1) + tail.group(1)).lower()
                compound = f"{head.group(1)}-{tail.group(1)}".lower()
                if spelled.keeps_hyphen(compound, joined):
                    text += "-"
            starts.append(len(text))
            text += part
            continue
        if prev.hyphen and not text.endswith("-"):
            text += "-"  # a hyphen before a capital ("Anglo-Saxon") belongs to the word
        if hyphen_end or prev.hyphen:
            sep = ""
        elif _BULLET.match(part) or _broken_short(prev, layout):
            sep = "\n"
        else:
            sep = " "
        text += sep
        starts.append(len(text))
        text += part
    return text, starts


def _heading_style(line: Line, layout: _Layout) -> bool:
    return _larger(line.size, layout.size) or (line.bold and not layout.bold and _similar(line.size, layout.size))


def _is_heading(para: Sequence[Line], text: str, layout: _Layout) -> bool:
    """A short paragraph set larger or bolder than the body, not ending like a sentence."""
    if len(para) > _HEADING_LINES or not all(_heading_style(line, layout) for line in para):
        return False
    text = text or " ".join(line.text for line in para)
    words = len(re.findall(r"\w+", text))
    if not 0 < words <= _HEADING_WORDS or text.rstrip().endswith((",", ";")):
        return False
    larger = _larger(para[0].size, layout.size)
    return larger or not _ENDS_SENTENCE.search(text)


def _first_page_title(paragraphs: Sequence[Sequence[Line]], layout: _Layout) -> str | None:
    """The first paragraph's text when it opens the first page in the largest type there and
    is short: the title a reader sees."""
    if not paragraphs or paragraphs[0][0].page != 1:
        return None
    first = paragraphs[0]
    on_page = [line for para in paragraphs for line in para if line.page == 1]
    largest = max(line.size for line in on_page)
    if first[0].size < largest or first[0].size <= layout.size or len(first) > _HEADING_LINES:
        return None
    text = _SPACES.sub(" ", " ".join(normalize_text(line.text) for line in first)).strip()
    return text if 0 < len(re.findall(r"\w+", text)) <= 25 else None


def _assemble(blocks: Sequence[tuple[str, list[tuple[int, int]]]], n_pages: int) -> tuple[str, list[int]]:
    """Join the blocks with blank lines; each page's start offset in the text (a page with no
    text starts where the next one does)."""
    starts: dict[int, int] = {}
    parts: list[str] = []
    at = 0
    for text, marks in blocks:
        if parts:
            at += 2
        for offset, page in marks:
            starts.setdefault(page, at + offset)
        parts.append(text)
        at += len(text)
    joined = "\n\n".join(parts)
    if normalize_text(joined) != joined:  # (line-wise normalising leaves nothing for the whole text to change)
        normalised = normalize_text(joined)
        starts = {page: len(normalize_text(joined[:offset])) for page, offset in starts.items()}
        joined = normalised
    page_starts = [0] * n_pages
    following = len(joined)
    for page in range(n_pages, 0, -1):
        following = starts.get(page, following)
        page_starts[page - 1] = following
    if page_starts:
        page_starts[0] = 0
    return joined, page_starts
