"""Reading Word documents (.docx): paragraphs and tables in body order, headings by style.

A .docx file already holds paragraphs, each with a style; python-docx (`_read_body`, the only
code that talks to the library) lists them with tables in the order they stand in the body.
The document's text is rebuilt from them the way `pdf` rebuilds a PDF's: a paragraph styled
"Title" becomes the `# ` line and "Heading 1", "Heading 2", ... the `## `, `### ` lines that
`documents.parse_document` reads for every markup kind; a run of list paragraphs ("List Bullet",
"List Number", or any paragraph with Word numbering) is one block of `- ` lines, as a Markdown
list is; a table is one block, a line per row with its cells separated by " | ". Empty
paragraphs are left out, and a paragraph's own line breaks stay line breaks in its block.

The title and author come from the file's core properties (what Word shows under File > Info),
else the title is the first line, as for other kinds. Paragraphs are then numbered as for any
kind: the blocks of the rebuilt text, the title ¶1. A damaged file (not a zip, a part missing,
broken XML) is skipped with a warning that names it, never a crash.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace
from pathlib import Path

from ..analysis.normalize import normalize_text
from .documents import Document, parse_document
from .files import UnreadableDocument, read_bytes_file

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)
_LIST_STYLE = re.compile(r"^list\s*(?:bullet|number|paragraph|continue)", re.I)
_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\u00a0]+")
# An OLE compound file: a password-protected Office file (or an old .doc renamed).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def load_docx(path: Path, display_path: str | None = None, max_bytes: int | None = None) -> Document:
    """Read one .docx file into a Document (`kind="docx"`); raises UnreadableDocument for a
    file that is damaged, password-protected or no Word document, so a build skips it."""
    data = read_bytes_file(path, max_bytes=max_bytes)
    return parse_docx(data, display_path or str(path), source=path)


def parse_docx(data: bytes, path: str, source: Path | None = None) -> Document:
    """A .docx file's bytes as a Document named `path`."""
    where = source if source is not None else Path(path)
    if data.startswith(_OLE_MAGIC):
        raise UnreadableDocument(where, "not a readable .docx (password-protected, or an old .doc file)")
    try:
        blocks, title, author = _read_body(data)
    except Exception as exc:  # any failure of the reader on a damaged file is that file's problem only
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UnreadableDocument(where, f"not a readable .docx (damaged, or not a Word document: {reason})") from exc
    metadata = {key: value for key, value in (("title", title), ("author", author)) if value}
    doc = parse_document("\n\n".join(blocks) + "\n", path, kind="docx", metadata=metadata)
    # The title and author live in the core properties, not in the text: a file saved with
    # another title is another document.
    facts = "\0".join([doc.text, doc.title, doc.author or ""])
    return replace(doc, content_hash=hashlib.sha256(facts.encode("utf-8")).hexdigest())


def _read_body(data: bytes) -> tuple[list[str], str | None, str | None]:
    """The text blocks of the body in order, and the core properties' title and author."""
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    # Style id -> name, read once: `Paragraph.style` looks the default style up anew for every
    # paragraph (3 ms each on a small file).
    style_names = {style.styleId: style.name_val or "" for style in document.styles.element.style_lst}
    blocks: list[str] = []
    items: list[str] = []  # the list being gathered, a line per item

    def end_list() -> None:
        if items:
            blocks.append("\n".join(items))
            items.clear()

    for part in document.iter_inner_content():
        if isinstance(part, Table):
            end_list()
            rows = [_row_text(row) for row in part.rows]
            text = "\n".join(row for row in rows if row)
            if text:
                blocks.append(text)
            continue
        text = _clean(part.text)
        if not text:
            continue
        style = _style_names(part, style_names)
        level = next((int(m.group(1)) for m in map(_HEADING_STYLE.match, style) if m), None)
        if "title" in style:
            level = 0
        if level is not None:
            end_list()
            blocks.append(f"{'#' * min(level + 1, 6)} {' '.join(text.split())}")
        elif any(_LIST_STYLE.match(name) for name in style) or _numbered(part):
            items.append("- " + " ".join(text.split()))
        else:
            end_list()
            blocks.append(text)
    end_list()
    props = document.core_properties
    return blocks, _clean(props.title or "") or None, _clean(props.author or "") or None


def _style_names(paragraph, names: dict[str, str]) -> list[str]:
    """The paragraph style's name and id, lower-cased ("heading 1", "heading1"): Word localises
    the name but keeps English ids for its built-in styles. A paragraph without a style of its
    own has the default one, which is no heading and no list."""
    style_id = paragraph._p.style
    if not style_id:
        return []
    return [n.strip().lower() for n in (names.get(style_id, ""), style_id) if n]


def _numbered(paragraph) -> bool:
    """Whether the paragraph carries Word numbering of its own (a list item in any style)."""
    ppr = paragraph._p.pPr
    return ppr is not None and ppr.numPr is not None


def _row_text(row) -> str:
    """A table row as its cells' texts joined by " | " (a merged cell, repeated by the
    library for each grid column it covers, once)."""
    cells: list[str] = []
    previous = None
    for cell in row.cells:
        if previous is not None and cell._tc is previous:
            continue
        previous = cell._tc
        cells.append(" ".join(_clean(cell.text).split()))
    return " | ".join(cells) if any(cells) else ""


def _clean(text: str) -> str:
    """Normalised text with its lines' spacing collapsed, one paragraph one block."""
    text = _BLANK_LINES.sub("\n", normalize_text(text))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n") if line.strip())
