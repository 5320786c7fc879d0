"""Reading one corpus file into a Document, whatever its kind.

The readers of each kind (`pdf`, `html`, `docx`, and `documents.parse_document` for text and
Markdown) build on `documents`; this module picks one by the file's suffix, so `documents`
needs none of them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..corpus_warnings import WarningKind
from .documents import DOCX_SUFFIXES, HTML_SUFFIXES, Document, parse_document
from .docx import load_docx
from .files import UnreadableDocument, read_bytes_file, read_text_file
from .html import html_text, parse_html
from .pdf import load_pdf
from .textdecode import NotText, decode_bom


def load_document(
    path: Path, display_path: str | None = None, max_bytes: int | None = None, root: Path | None = None
) -> Document:
    """Read and parse one corpus file (.html pages through the main-content extractor, .pdf
    files through `pdf`, .docx files through `docx`). `root` is the corpus folder the file was
    found in: a Markdown file's includes are read only from inside it."""
    if path.suffix.lower() == ".pdf":
        return load_pdf(path, display_path, max_bytes=max_bytes)
    if path.suffix.lower() in HTML_SUFFIXES:
        data = read_bytes_file(path, max_bytes=max_bytes)
        try:
            found = decode_bom(data)
        except NotText as exc:
            raise UnreadableDocument(path, str(exc), WarningKind.BINARY) from exc
        if found is None and b"\x00" in data[:8192]:
            raise UnreadableDocument(path, "looks binary (contains NUL bytes)", WarningKind.BINARY)
        text, encoding = found or html_text(data)
        return replace(parse_html(text, display_path or str(path), kind="html"), encoding=encoding)
    if path.suffix.lower() in DOCX_SUFFIXES:
        return load_docx(path, display_path, max_bytes=max_bytes)
    raw, encoding = read_text_file(path, max_bytes=max_bytes)
    kind = "md" if path.suffix.lower() in (".md", ".markdown") else "txt"
    return replace(
        parse_document(raw, display_path or str(path), kind=kind, source=path, root=root, max_bytes=max_bytes),
        encoding=encoding,
    )
