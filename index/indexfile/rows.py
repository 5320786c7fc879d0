"""How a document and its passages are stored as rows of the index file, and read back.

The build produces a document's analysis (`build.doc_analysis.DocAnalysis`); these functions
turn it into the `documents` and `passages` columns (`indexfile.schema.SCHEMA`), and
the sentence terms' codec is the analyser's (`analysis.encode_sentence_terms`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def stored_document_fields(doc: Any) -> tuple:
    """A document as the index stores it, between its id and the build facts: (hash, path,
    title, author, author bio, url, date, kind, encoding). Its text is not stored: nothing
    reads it back (answers cite passages, whose text is stored), and it was 0.7 GB at a
    million passages, copied by every reindex."""
    return (
        doc.content_hash,
        doc.path,
        doc.title,
        doc.author,
        doc.author_bio,
        doc.url,
        doc.date,
        doc.kind,
        doc.encoding,
    )


def stored_passage_rows(a: Any) -> list[tuple]:
    """Each passage of a document's analysis (`DocAnalysis`) as the index stores it, without
    its row number and document id: (id, ordinal, text, section, first and last paragraph,
    start, end, sentence spans as JSON, sentence terms, context terms, first and last page or
    None). The terms are what the Answerer would otherwise re-analyse at question time."""
    return [
        (
            p.id,
            p.ordinal,
            p.text,
            p.citation.section,
            p.citation.paragraphs[0],
            p.citation.paragraphs[1],
            p.citation.start,
            p.citation.end,
            spans_json(spans),
            st,
            " ".join(context),
            *page_columns(p),
        )
        for p, spans, st, context in zip(a.passages, a.sentences, a.sentence_terms, a.context, strict=True)
    ]


def page_columns(p: Any) -> tuple[int | None, int | None]:
    """A passage's (page_first, page_last) columns: its pages, or NULLs for a document without."""
    return p.citation.pages if p.citation.pages is not None else (None, None)


def spans_json(spans: Sequence[tuple[int, int]]) -> str:
    """`json.dumps(spans)` for (int, int) pairs, a third of the time: the encoder's set-up cost
    more than its work on a passage's few pairs."""
    return "[" + ", ".join([f"[{a}, {b}]" for a, b in spans]) + "]"
