"""Reading Markdown as Markdown: CommonMark (markdown-it-py) plus MkDocs' extensions, laid onto
the file's own blank-line blocks.

Line rules cannot tell a `# comment` inside a fenced code block from a heading, nor a tag from
text. So the body is parsed by markdown-it-py (a CommonMark-compliant parser whose every block
token carries the source lines it came from, `Token.map`) and each parsed block is rendered to
plain text: inline HTML becomes the text it wraps (a link's text is kept), attribute lists
(`{.internal-link target=_blank}`, `{: #id }`) go, emphasis and link markup go, a code block
becomes a fenced block (```` ```lang ````, so the passage shows it as code and the highlight
never quotes it), and a heading becomes a `#` line (the markup `documents` reads).

What CommonMark does not know is rewritten line for line before parsing, so the line numbers
still point into the file: admonitions (`!!! note`, `??? tip`, `/// warning | Title`,
`:::note`) and content tabs (`=== "Tab"`) become a label line ("Note:", "Title:") and their
body is dedented, so it stays text of the section it stands in; include directives
(`--8<-- "file"`, `{!file!}`) are replaced by the included file's text when that file lies
inside the corpus folder (else dropped, with a note); abbreviation definitions go.

Paragraph numbers stay the file's blank-line blocks: each rendered block is placed on the blocks
its source lines span. A block that holds blank lines of its own (a fenced code block with an
empty line) spans several blank-line blocks, and a passage holding it cites them all (¶7–9).
Included text belongs to the block of the directive that includes it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ..analysis.normalize import normalize_text
from ..corpus_warnings import CorpusWarning, WarningKind
from .blocks import Block
from .files import UnreadableDocument, read_text_file

# Containers whose body is indented by four spaces under an opening line.
_ADMONITION = re.compile(r'^(?:!!!|\?\?\?\+?)[ \t]+([\w-]+)(?:[ \t]+[\w-]+)*(?:[ \t]+"(.*)")?[ \t]*$')
_TAB = re.compile(r'^===\+?[ \t]+"(.*)"[ \t]*$')
# Containers closed by a line of their own: pymdownx blocks and Docusaurus-style admonitions.
_SLASH_OPEN = re.compile(r"^/{3,}[ \t]*([\w-]+)(?:[ \t]*\|[ \t]*(.*?))?[ \t]*$")
_SLASH_CLOSE = re.compile(r"^/{3,}[ \t]*$")
_SLASH_OPTION = re.compile(r"^[ \t]{2,}[\w-]+:")  # a block's YAML options, indented under its header
_COLON_OPEN = re.compile(r"^:{3,}[ \t]*([\w-]+)(?:[ \t]*\[(.*)\]|[ \t]+(.*?))?[ \t]*$")
_COLON_CLOSE = re.compile(r"^:{3,}[ \t]*$")
_FENCE_OPEN = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})(.*)$")
_ABBREVIATION = re.compile(r"^[ \t]*\*\[[^\]\n]+\]:")
# Include directives: pymdownx.snippets (a line, or a block of file names between two marker
# lines) and markdown-include (anywhere in a line).
_SNIPPET_LINE = re.compile(r"""^[ \t]*--8<--[ \t]+(["'])(.+?)\1[ \t]*$""")
_SNIPPET_BLOCK = re.compile(r"^[ \t]*--8<--[ \t]*$")
_INCLUDE = re.compile(r"\{!\s*(.+?)\s*!\}")
_LINE_RANGE = re.compile(r"^(.+?):(\d*)(?::(\d*))?$")
# An attribute list: `{: #id .class key=value }`, the colon optional, at least one attribute.
_ATTR = r"""(?:[#.][\w-]+|[\w-]+=(?:"[^"\n]*"|'[^'\n]*'|[^\s}]+))"""
_ATTR_LIST = re.compile(r"[ \t]*\{:?[ \t]*" + _ATTR + r"(?:[ \t]+" + _ATTR + r")*[ \t]*\}")
_SPACES = re.compile(r"[ \t]{2,}")
_LANGUAGE = re.compile(r"[\w+#-]+")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]*>")

# How deep included files may include others (a loop is caught before this).
MAX_INCLUDE_DEPTH = 8
# A longer line outside code is indexed as it stands, not parsed: markdown-it spends ~25 µs on
# each "[a](" of a line, so a 1 MB line of them would take seconds. No written line is this long.
MAX_PARSED_LINE = 20_000


@dataclass(frozen=True)
class RenderedBlock:
    """A block of rendered text and the body lines (from 0, inclusive) its source spans."""

    first: int
    last: int
    text: str


@dataclass
class _Reading:
    """What reading one file (and the files it includes) gathers beside its blocks."""

    where: str  # the file as warnings name it
    root: Path | None  # the corpus folder includes must lie in; None: none are read
    max_bytes: int | None
    notes: list[CorpusWarning] = field(default_factory=list)
    included: list[str] = field(default_factory=list)  # included files' texts, in reading order

    def drop(self, target: str, why: str) -> None:
        self.notes.append(CorpusWarning(WarningKind.INCLUDE_DROPPED, self.where, f"include {target!r} dropped: {why}"))


@dataclass(frozen=True)
class MarkdownBody:
    """The rendered blocks of a body, the notes about includes dropped, and the included texts
    (which count towards the document's identity)."""

    blocks: list[RenderedBlock]
    notes: tuple[CorpusWarning, ...]
    included: tuple[str, ...]


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """CommonMark plus the GitHub tables and strikethrough that documentation sites use."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def read_markdown(
    body: str, where: str, source: Path | None = None, root: Path | None = None, max_bytes: int | None = None
) -> MarkdownBody:
    """Render a Markdown body (`where` names the file in notes). Includes are resolved
    against `source`'s folder (and the folders above it, up to `root`) and read only when they
    lie inside `root`, the corpus folder; without a root every include is dropped with a note."""
    reading = _Reading(where, root.resolve() if root is not None else None, max_bytes)
    seen = {source.resolve()} if source is not None else set()
    blocks = _render(body, reading, source, seen, 0)
    return MarkdownBody(blocks, tuple(reading.notes), tuple(reading.included))


def _render(body: str, reading: _Reading, source: Path | None, seen: set[Path], depth: int) -> list[RenderedBlock]:
    lines = body.split("\n")
    prepared, includes, code_includes = _prepare(lines, reading, source, seen, depth)
    tokens = _parser().parse("\n".join(prepared))
    # Included text follows what the parser made of the same line (a directive inside a line).
    ordered = [(p.first, 0, p) for p in _pieces(tokens, code_includes)]
    ordered.extend((line, 1, RenderedBlock(line, line, text)) for line, text in includes.items())
    ordered.sort(key=lambda entry: entry[:2])
    return [p for _, _, p in ordered if p.text.strip()]


# ---------------------------------------------------------------------------------------------
# Rewriting what CommonMark does not know, line for line


def _prepare(
    lines: list[str], reading: _Reading, source: Path | None, seen: set[Path], depth: int
) -> tuple[list[str], dict[int, str], dict[int, str | None]]:
    """The lines markdown-it parses (as many as `lines`), the text placed at a line outside
    code without being parsed (included Markdown, rendered; an over-long line as it stands),
    and the text (None: nothing) that replaces a directive line inside code."""
    out: list[str] = []
    includes: dict[int, str] = {}
    code_includes: dict[int, str | None] = {}
    indents: list[int] = []  # open indented containers: where their bodies start
    closers: list[re.Pattern[str]] = []  # open containers closed by a line of their own
    fence: tuple[str, int] | None = None  # an open code fence: its marker and length
    snippet_block: int | None = None  # the line a `--8<--` block of file names opened at
    options = False  # directly under a `///` header: its option lines
    for n, raw in enumerate(lines):
        line = raw.expandtabs(4) if "\t" in raw[: len(raw) - len(raw.lstrip())] else raw
        raw_indent = len(line) - len(line.lstrip(" "))
        if line.strip():
            # Leave the indented containers this line is not indented under (blank lines stay
            # inside), and dedent it by four spaces for each container it stays in.
            while indents and raw_indent < indents[-1]:
                indents.pop()
            line = " " * (raw_indent - 4 * len(indents)) + line.lstrip(" ")
        else:
            line = ""
        stripped = line.strip()
        if fence is not None:
            marker, size = fence
            if stripped.startswith(marker[0] * size) and not stripped.strip(marker[0]):
                fence = None
            else:
                target = _directive(line)
                if target is not None:
                    code_includes[n] = _include(target, reading, source, seen, depth, raw_code=True)
            out.append(line)
            continue
        if len(line) > MAX_PARSED_LINE:
            _add_include(includes, n, stripped)
            out.append("")
            continue
        if options:
            if _SLASH_OPTION.match(line):
                out.append("")
                continue
            options = False
        if snippet_block is not None:
            if _SNIPPET_BLOCK.match(line):
                snippet_block = None
            elif stripped:
                _add_include(includes, snippet_block, _include(stripped, reading, source, seen, depth))
            out.append("")
            continue
        opened = _FENCE_OPEN.match(line)
        if opened:
            fence = (opened.group(1), len(opened.group(1)))
            out.append(line)
            continue
        indent = len(line) - len(line.lstrip(" "))
        label = _opening_label(stripped)
        if label is not None and (_ADMONITION.match(stripped) or _TAB.match(stripped)):
            indents.append(raw_indent + 4)
            out.append(" " * indent + label if label else "")
            continue
        if label is not None:
            closers.append(_SLASH_CLOSE if _SLASH_OPEN.match(stripped) else _COLON_CLOSE)
            options = closers[-1] is _SLASH_CLOSE
            out.append(" " * indent + label if label else "")
            continue
        if closers and closers[-1].match(stripped):
            closers.pop()
            out.append("")
            continue
        if _ABBREVIATION.match(line):
            out.append("")
            continue
        if _SNIPPET_BLOCK.match(line):
            snippet_block = n
            out.append("")
            continue
        target = _directive(line)
        if target is not None:
            _add_include(includes, n, _include(target, reading, source, seen, depth))
            line = _SNIPPET_LINE.sub("", _INCLUDE.sub("", line))
        out.append(line)
    return out, includes, code_includes


def _opening_label(line: str) -> str | None:
    """The label an admonition or tab opening `line` is rendered as ("Note:", its title, ""
    for an empty title), or None when the line opens none."""
    found = _ADMONITION.match(line)
    if found:
        title = found.group(2)
        return _label(found.group(1) if title is None else title)
    found = _TAB.match(line)
    if found:
        return _label(found.group(1))
    found = _SLASH_OPEN.match(line)
    if found and not _SLASH_CLOSE.match(line):
        return _label(found.group(2) if found.group(2) is not None else found.group(1))
    found = _COLON_OPEN.match(line)
    if found:
        title = found.group(2) if found.group(2) is not None else found.group(3)
        return _label(title if title else found.group(1))
    return None


def _label(title: str) -> str:
    title = title.strip()
    if not title:
        return ""
    title = title[0].upper() + title[1:]
    return title if title.endswith((":", "?", "!", ".")) else title + ":"


def _directive(line: str) -> str | None:
    """The file a line's include directive names, or None."""
    found = _SNIPPET_LINE.match(line)
    if found:
        return found.group(2).strip()
    found = _INCLUDE.search(line)
    return found.group(1).strip() if found else None


def _add_include(includes: dict[int, str], line: int, text: str | None) -> None:
    if text:
        includes[line] = f"{includes[line]}\n\n{text}" if line in includes else text


def _include(
    target: str, reading: _Reading, source: Path | None, seen: set[Path], depth: int, raw_code: bool = False
) -> str | None:
    """The text an include directive stands for: the file's text (verbatim in code, else
    rendered), or None with a note saying why it was dropped."""
    if "://" in target:
        reading.drop(target, "URLs are never fetched for includes")
        return None
    if reading.root is None or source is None:
        reading.drop(target, "the file is outside the corpus (a file indexed by itself includes nothing)")
        return None
    found = _locate(target, source, reading.root)
    if found is None:
        reading.drop(target, f"not found inside the corpus folder {reading.root.name}/")
        return None
    if isinstance(found, str):
        reading.drop(target, f"the file is outside the corpus folder {reading.root.name}/")
        return None
    path, first, last = found
    if path in seen or depth >= MAX_INCLUDE_DEPTH:
        reading.drop(target, "it includes itself")
        return None
    try:
        text = normalize_text(read_text_file(path, reading.max_bytes)[0])
    except UnreadableDocument as exc:
        reading.drop(target, exc.reason)
        return None
    if first is not None or last is not None:
        text = "\n".join(text.split("\n")[(first or 1) - 1 : last])
    reading.included.append(text)
    if raw_code:
        return text.rstrip("\n")
    blocks = _render(text, reading, path, seen | {path}, depth + 1)
    return "\n\n".join(_HEADING_MARKS.sub("", b.text) for b in blocks)


_HEADING_MARKS = re.compile(r"^#{1,6}[ \t]+")


def _locate(target: str, source: Path, root: Path) -> tuple[Path, int | None, int | None] | str | None:
    """The file `target` names, looked for beside `source` and in each folder above it up to
    the corpus folder `root`, with the line range a `file:3:6` suffix asks for; "outside" when
    the only such file lies outside `root` (after symlinks are resolved), None when there is none."""
    names: list[tuple[str, int | None, int | None]] = [(target, None, None)]
    ranged = _LINE_RANGE.match(target)
    if ranged:
        names.append(
            (
                ranged.group(1),
                int(ranged.group(2)) if ranged.group(2) else None,
                int(ranged.group(3)) if ranged.group(3) else None,
            )
        )
    folder = source.resolve().parent
    bases = [folder, *[p for p in folder.parents if p == root or root in p.parents]]
    outside = False
    for base in bases:
        for name, first, last in names:
            candidate = (base / name).resolve()
            if not candidate.is_file():
                continue
            if root in candidate.parents:
                return candidate, first, last
            outside = True
    return "outside" if outside else None


# ---------------------------------------------------------------------------------------------
# Rendering the parsed blocks


def _pieces(tokens: list[Token], code_includes: dict[int, str | None]) -> list[RenderedBlock]:
    """Each leaf block (heading, paragraph, code, HTML, table) as text, with its source lines."""
    out: list[RenderedBlock] = []
    markers: list[str] = []  # the marker of each open list item, or "" once it is used
    lists: list[tuple[str, int]] = []  # open lists: bullet or ordered, and the next number
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.type
        span = tok.map or [0, 1]
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = tok.attrGet("start")
            lists.append((kind, int(start) if isinstance(start, (int, str)) and str(start).isdigit() else 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            list_kind, number = lists[-1]
            depth = "  " * (len(lists) - 1)
            if list_kind == "ordered_list_open":
                markers.append(f"{depth}{number}. ")
                lists[-1] = (list_kind, number + 1)
            else:
                markers.append(f"{depth}- ")
        elif kind == "list_item_close":
            markers.pop()
        elif kind == "heading_open":
            text = " ".join(_inline_text(tokens[i + 1]).split())
            if text:
                out.append(RenderedBlock(span[0], span[1] - 1, f"{'#' * int(tok.tag[1:])} {text}"))
        elif kind == "paragraph_open":
            text = _inline_text(tokens[i + 1])
            if markers and text:
                marker = next((m for m in reversed(markers) if m), "")
                markers[-1] = ""
                text = marker + " ".join(text.split()) if marker else " ".join(text.split())
            out.append(RenderedBlock(span[0], span[1] - 1, text))
        elif kind in ("fence", "code_block"):
            out.append(RenderedBlock(span[0], span[1] - 1, _code_text(tok, code_includes)))
            if markers:
                markers[-1] = ""
        elif kind == "html_block":
            out.append(RenderedBlock(span[0], span[1] - 1, _html_block_text(tok.content)))
        elif kind == "table_open":
            close = next(j for j in range(i, len(tokens)) if tokens[j].type == "table_close")
            out.append(RenderedBlock(span[0], span[1] - 1, _table_text(tokens[i:close])))
            i = close
        i += 1
    return out


def _inline_text(inline: Token) -> str:
    """An inline run as plain text: markup, tags and attribute lists gone, the text they wrap
    kept, line breaks kept; code spans kept verbatim."""
    parts: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            parts.append(_ATTR_LIST.sub("", "".join(run)))
            run.clear()

    for child in inline.children or []:
        kind = child.type
        if kind == "text":
            run.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            run.append("\n")
        elif kind == "code_inline":
            flush()
            parts.append(child.content)
        elif kind == "image":
            run.append(child.content)  # its alt text
        elif kind == "html_inline" and _HTML_BREAK.fullmatch(child.content.strip()):
            run.append("\n")
    flush()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _code_text(tok: Token, code_includes: dict[int, str | None]) -> str:
    """A code block as a fenced block; a directive line in it becomes the included text."""
    content = tok.content.rstrip("\n").split("\n") if tok.content.strip() else []
    first = (tok.map[0] + 1) if tok.type == "fence" and tok.map else (tok.map[0] if tok.map else 0)
    lines: list[str] = []
    for j, line in enumerate(content):
        if first + j in code_includes:
            included = code_includes[first + j]
            if included:
                lines.append(included)
            continue
        lines.append(line)
    body = "\n".join(lines)
    marker = tok.markup if tok.type == "fence" else "```"
    if tok.type != "fence" and "```" in body:
        marker = "~~~"
    language = _LANGUAGE.search(tok.info.strip().lstrip("{. ")) if tok.info.strip() else None
    opening = marker + (language.group(0) if language else "")
    return f"{opening}\n{body}\n{marker}" if body.strip() else ""


def _html_block_text(html: str) -> str:
    """A raw HTML block as its text (scripts, styles and comments dropped); Markdown inside
    it (`<div markdown>`) is rendered as inline Markdown."""
    import lxml.html
    from lxml import etree

    text = ""
    try:
        root = lxml.html.fragment_fromstring(_HTML_BREAK.sub("\n", html), create_parent="div")
        for bad in root.xpath("//script|//style"):
            bad.drop_tree()
        text = root.text_content()
    except (etree.ParserError, ValueError):
        text = _TAG.sub("", html)
    rendered = []
    for line in text.split("\n"):
        if line.strip():
            tokens = _parser().parseInline(line.strip())
            rendered.append(_inline_text(tokens[0]) if tokens else line.strip())
    return "\n".join(r for r in rendered if r)


def _table_text(tokens: list[Token]) -> str:
    """A table as one line per row, cells separated by " | " (as sentences read table rows)."""
    rows: list[list[str]] = []
    for tok in tokens:
        if tok.type == "tr_open":
            rows.append([])
        elif tok.type == "inline" and rows:
            rows[-1].append(" ".join(_inline_text(tok).split()))
    return "\n".join(" | ".join(cells) for cells in rows if any(cells))


# ---------------------------------------------------------------------------------------------
# Placing rendered blocks on the file's blank-line blocks


def place_on_blocks(rendered: list[RenderedBlock], block_lines: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Group rendered blocks by the file's blank-line blocks (`block_lines`: each block's first
    and last body line, in order). Returns (first block index, last block index, text) per
    group: the blocks a group's source spans, its rendered blocks joined by line breaks. A
    rendered block whose source runs into later blocks (code with a blank line in it) takes
    them along; a block whose lines rendered to nothing yields no group."""
    firsts = [first for first, _ in block_lines]
    groups: list[tuple[int, int, list[str]]] = []
    for piece in rendered:
        start = max(bisect.bisect_right(firsts, piece.first) - 1, 0)
        end = max(bisect.bisect_right(firsts, piece.last) - 1, start)
        if groups and start <= groups[-1][1]:
            first, last, texts = groups[-1]
            texts.append(piece.text)
            groups[-1] = (first, max(last, end), texts)
        else:
            groups.append((start, end, [piece.text]))
    return [(first, last, "\n".join(texts)) for first, last, texts in groups]


def markdown_blocks(
    text: str,
    body_offset: int,
    raw_blocks: list[Block],
    where: str,
    source: Path | None = None,
    root: Path | None = None,
    max_bytes: int | None = None,
) -> tuple[list[Block], tuple[CorpusWarning, ...], tuple[str, ...]]:
    """The blocks of a Markdown document whose body starts at `body_offset` of `text`: one per
    group of its blank-line blocks (`raw_blocks`, numbered), holding the rendered text, with the
    notes about includes dropped and the included texts."""
    body = text[body_offset:]
    read = read_markdown(body, where, source, root, max_bytes)
    line_starts = [0] + [m.end() for m in re.finditer("\n", body)]

    def line_of(offset: int) -> int:
        return bisect.bisect_right(line_starts, offset - body_offset) - 1

    block_lines = [(line_of(b.start), line_of(b.end - 1)) for b in raw_blocks]
    blocks = []
    for first, last, rendered in place_on_blocks(read.blocks, block_lines):
        a, z = raw_blocks[first], raw_blocks[last]
        blocks.append(Block(a.number, rendered, a.start, z.end, last_number=z.number if last != first else None))
    return blocks, read.notes, read.included
