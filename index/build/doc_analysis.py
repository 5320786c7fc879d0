"""Per-document analysis: what the build derives from one document alone, computed in parallel.

Everything the build derives from one document alone -- its passages, their sentence spans,
their terms *before* acronym expansion, and the acronym definitions its text contains -- is a
pure function of the document, the index parameters and the analysis code. `DocAnalysis` holds
exactly that. `code_fingerprint` hashes the source of every module that shapes it; an index
records it, so an incremental reindex never mixes analyses made by different code without
anyone remembering to bump a version.

Acronyms are learned over the whole corpus and injected into term lists, so they are *not* part
of a document's analysis: the builder learns them from all documents' cached definitions (in
document order, the rule `AcronymMap.learn` applies) and expands every passage again, which is
cheap (`analysis.AcronymExpander`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..analysis import AcronymMap, Analyzer, find_definitions, sentence_spans
from ..ingest.documents import Document
from ..ingest.passages import Passage, split_document

log = logging.getLogger(__name__)

# Paths inside the `index` package.
_SHAPING_SOURCES = (
    "analysis/acronyms.py",
    "analysis/analyzer.py",
    "analysis/punkt.py",
    "analysis/sentences.py",
    "analysis/_termscan.c",
    "build/doc_analysis.py",
    "ingest/blocks.py",
    "ingest/comment_sections.py",
    "ingest/documents.py",
    "ingest/docx.py",
    "ingest/files.py",
    "ingest/loading.py",
    "ingest/markdown.py",
    "analysis/normalize.py",
    "ingest/passages.py",
    "ingest/pdf.py",
    "ingest/textdecode.py",
)
_LIBRARY_ROOT = Path(__file__).resolve().parent.parent  # the folder of the `citebot.index` package
# The libraries that read files into text: another version may read the same file differently.
_SHAPING_PACKAGES = ("markdown-it-py", "pypdfium2", "python-docx")


@dataclass
class DocAnalysis:
    """What one document contributes to an index, before corpus-wide acronym injection."""

    passages: list[Passage]
    sentences: list[list[tuple[int, int]]]
    body: list[list[str]]
    context: list[list[str]]
    definitions: list[tuple[str, str]]
    # Per passage, the terms of each of its sentences before acronym expansion (what the
    # answer-time re-rank would otherwise re-analyse): one line per sentence, terms separated
    # by spaces (a term never contains whitespace).
    sentence_terms: list[str]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the source of every module whose code shapes a document's analysis, and of the
    versions of the libraries that read files. (Paths inside the library's folder: moving one of
    those modules means updating `_SHAPING_SOURCES`, which a test checks.)"""
    h = hashlib.sha256()
    for name in _SHAPING_SOURCES:
        h.update((_LIBRARY_ROOT / name).read_bytes())  # a missing file is a packaging error: raise
    for package in _SHAPING_PACKAGES:
        try:
            h.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:  # pragma: no cover - not installed: its files are skipped
            h.update(package.encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Computing


_ANALYZER: Analyzer | None = None


def _process_analyzer() -> Analyzer:
    """This process's analyser (in a forked worker: its own), its memos kept across documents."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = Analyzer()
    return _ANALYZER


def analyse_document(doc: Document, passage_params, analyzer: Analyzer | None = None) -> DocAnalysis:
    """The pure per-document part of the build (every `Analyzer` gives the same terms: `analyzer`
    only brings its memos; None uses the process's)."""
    analyzer = analyzer if analyzer is not None else _process_analyzer()
    passages = split_document(doc, passage_params)
    context_memo: dict[str, list[str]] = {}
    context: list[list[str]] = []
    for p in passages:
        c = p.context
        terms = context_memo.get(c)
        if terms is None:
            terms = context_memo[c] = analyzer.terms(c)
        context.append(terms)
    sentences = [sentence_spans(p.text) for p in passages]
    definitions = find_definitions(doc.text)
    body: list[list[str]] = []
    sentence_terms: list[str] = []
    for p, spans in zip(passages, sentences):
        encoded, terms = analyzer.sentence_and_passage_terms(p.text, spans)
        body.append(terms)
        sentence_terms.append(encoded)
    return DocAnalysis(passages, sentences, body, context, definitions, sentence_terms)


def passage_terms(
    body: Sequence[str],
    context: Sequence[str],
    context_weight: int,
    expand: Callable[[Sequence[str]], list[str]] | None = None,
) -> list[str]:
    """The terms BM25 indexes for a passage: its body's terms, then its context's (title,
    section) repeated `context_weight` times, each part with acronyms expanded by `expand`
    (a corpus-wide `AcronymMap.expand`). The one statement of this rule: the full build
    applies it before expansion (`expand` None: it injects acronyms by term id afterwards,
    part by part, `acronym_ids`), the incremental build and the reference with `expand`."""
    if expand is None:
        return [*body, *context] if context_weight == 1 else [*body, *(list(context) * context_weight)]
    full = expand(body)
    return full + expand(context) * context_weight if context_weight else full


def learn_from_definitions(per_document: Iterable[Sequence[tuple[str, str]]], analyzer: Analyzer) -> AcronymMap:
    """The acronym map from each document's definitions, in build order (the first
    definition of a short form wins, as in `AcronymMap.learn`). The same definition recurs
    across a large corpus, so each distinct one is analysed once."""
    terms = analyzer.terms
    pairs: dict[str, tuple[str, ...]] = {}
    seen: set[tuple[str, str]] = set()
    for definitions in per_document:
        for definition in definitions:
            if definition in seen:
                continue
            seen.add(definition)
            short_terms = terms(definition[0])
            long_terms = tuple(terms(definition[1]))
            if len(short_terms) == 1 and len(long_terms) >= 2 and short_terms[0] not in pairs:
                pairs[short_terms[0]] = long_terms
    return AcronymMap(pairs)
