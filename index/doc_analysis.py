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
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
import multiprocessing

from .analysis import AcronymMap, Analyzer, find_definitions, sentence_spans
from .documents import Document
from .gc_pause import no_cyclic_gc
from .passages import Passage, split_document

log = logging.getLogger(__name__)

# Corpora with less text than this are analysed in-process: starting workers costs ~0.5 s.
PARALLEL_ABOVE_CHARS = 4_000_000
# Documents per task sent to a worker (amortises pickling; keeps both cores busy).
_TASK_DOCS = 64

# Paths inside the `index` package.
_SHAPING_SOURCES = ("analysis/acronyms.py", "analysis/analyzer.py", "analysis/punkt.py", "analysis/sentences.py",
                    "analysis/_termscan.c", "comment_sections.py", "doc_analysis.py", "documents.py", "docx.py",
                    "loading.py", "markdown.py", "normalize.py", "passages.py", "pdf.py",
                    "textdecode.py")
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
    sentence_terms: list[str] | None = None


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the source of every module whose code shapes a document's analysis, and of the
    versions of the libraries that read files."""
    h = hashlib.sha256()
    for name in _SHAPING_SOURCES:
        try:
            h.update(resources.files("index").joinpath(name).read_bytes())
        except OSError:  # pragma: no cover - frozen or zipped installs
            h.update(name.encode())
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


def stored_document_fields(doc: Document) -> tuple:
    """A document as the index stores it, between its id and the build facts: (hash, path,
    title, author, author bio, url, date, kind, encoding). Its text is not stored: nothing
    reads it back (answers cite passages, whose text is stored), and it was 0.7 GB at a
    million passages, copied by every reindex."""
    return (doc.content_hash, doc.path, doc.title, doc.author, doc.author_bio, doc.url, doc.date, doc.kind,
            doc.encoding)


def stored_passage_rows(a: DocAnalysis) -> list[tuple]:
    """Each passage as the index stores it, without its row number and document id: (id,
    ordinal, text, section, first and last paragraph, start, end, sentence spans as JSON,
    sentence terms, context terms, first and last page or None). The terms are stored only for the default analyser (the
    one the Answerer would otherwise re-run on them); a custom analyser's are None."""
    sentence_terms = a.sentence_terms or [None] * len(a.passages)
    default = a.sentence_terms is not None
    return [(p.id, p.ordinal, p.text, p.citation.section, p.citation.paragraphs[0], p.citation.paragraphs[1],
             p.citation.start, p.citation.end, spans_json(spans), st, " ".join(context) if default else None,
             *page_columns(p))
            for p, spans, st, context in zip(a.passages, a.sentences, sentence_terms, a.context, strict=True)]


def page_columns(p: Passage) -> tuple[int | None, int | None]:
    """A passage's (page_first, page_last) columns: its pages, or NULLs for a document without."""
    return p.citation.pages if p.citation.pages is not None else (None, None)


def spans_json(spans: Sequence[tuple[int, int]]) -> str:
    """`json.dumps(spans)` for (int, int) pairs, a third of the time: the encoder's set-up cost
    more than its work on a passage's few pairs."""
    return "[" + ", ".join([f"[{a}, {b}]" for a, b in spans]) + "]"


# Set just before the worker pool forks, so workers read the documents from inherited memory
# instead of receiving them pickled.
_SHARED: tuple[Sequence[Document], object] | None = None


def _analyse_batch(indices: list[int]) -> list[DocAnalysis]:
    documents, passage_params = _SHARED  # type: ignore[misc]
    with no_cyclic_gc():
        return [analyse_document(documents[i], passage_params) for i in indices]


def _analyse_parallel(documents: Sequence[Document], todo: list[int], passage_params, workers: int,
                      out: list) -> None:
    """Analyse documents[todo] in `workers` forked processes (fork: no re-import, and the
    documents are shared copy-on-write; the children run pure Python and touch no lock of the
    parent's other threads)."""
    global _SHARED
    batches = [todo[i : i + _TASK_DOCS] for i in range(0, len(todo), _TASK_DOCS)]
    _SHARED = (documents, passage_params)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for b, analysed in zip(batches, pool.map(_analyse_batch, batches)):
                for i, a in zip(b, analysed):
                    out[i] = a
    finally:
        _SHARED = None


def analyse_documents(documents: Sequence[Document], params, analyzer: Analyzer,
                      workers: int | None = None) -> list[DocAnalysis]:
    """Each document's analysis, in order (in worker processes when there is enough text to
    pay for them)."""
    out: list[DocAnalysis | None] = [None] * len(documents)
    todo = list(range(len(documents)))
    chars = sum(len(d.text) for d in documents)
    workers = (os.cpu_count() or 1) if workers is None else workers
    with no_cyclic_gc():
        if workers > 1 and chars > PARALLEL_ABOVE_CHARS:
            try:
                _analyse_parallel(documents, todo, params.passages, workers, out)
            except BrokenProcessPool:  # e.g. a worker killed for memory: finish here
                log.warning("analysis workers failed; analysing in this process")
            todo = [i for i in todo if out[i] is None]
        for i in todo:
            out[i] = analyse_document(documents[i], params.passages, analyzer)
    return out  # type: ignore[return-value]


def learn_acronyms(analyses: Sequence[DocAnalysis], analyzer: Analyzer) -> AcronymMap:
    """`AcronymMap.learn` over the documents' texts, from their cached definitions."""
    return learn_from_definitions((a.definitions for a in analyses), analyzer)


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
