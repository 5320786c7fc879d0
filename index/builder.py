"""Building an index in memory: files -> documents -> passages -> terms -> BM25.

This is the pure, synchronous part of `citebot index`; `store.py` persists the result. It is
kept free of I/O other than reading the corpus so that tests and the evaluation can build an
index from documents they made themselves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .acronyms import AcronymMap
from .analysis import Analyzer
from .bm25 import BM25Index, BM25Params
from .documents import Document, UnreadableDocument, discover_files, load_document
from .errors import EmptyCorpusError
from .passages import Passage, PassageParams, split_document
from .sentences import sentence_spans

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as progress(done, total, what) while files are read."""


@dataclass(frozen=True)
class IndexParams:
    """Everything that changes which passages and terms an index holds."""

    bm25: BM25Params = BM25Params(k1=0.7, b=0.9)
    passages: PassageParams = PassageParams()
    context_weight: int = 1
    max_file_bytes: int = 50 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 0 <= self.context_weight <= 10:
            raise ValueError(f"index.context_weight must be between 0 and 10, got {self.context_weight}")


@dataclass
class BuiltIndex:
    """An index held in memory, ready to be written by the store or searched directly."""

    documents: list[Document]
    passages: list[Passage]
    sentences: list[list[tuple[int, int]]]
    bm25: BM25Index
    acronyms: AcronymMap
    params: IndexParams
    analyzer_version: str
    fingerprint: str
    avg_sentence_terms: float = 12.0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def terms(self) -> int:
        return self.bm25.vocabulary_size


def passage_terms(passage: Passage, analyzer: Analyzer, acronyms: AcronymMap,
                  context_weight: int) -> tuple[list[str], int]:
    """The terms BM25 sees for a passage (its text with acronyms added for spelled-out names,
    then its context field repeated), and how many of them come from the text itself."""
    body = acronyms.expand(analyzer.terms(passage.text))
    return body + acronyms.expand(analyzer.terms(passage.context)) * context_weight, len(body)


def load_corpus(paths: Sequence[Path], max_file_bytes: int | None = None,
                progress: Progress | None = None) -> tuple[list[Document], list[str]]:
    """Read every supported file under `paths`; unreadable files become warnings.

    Documents with identical text are kept once (the first path in sorted order wins), so a
    file copied into two folders does not get twice the say in ranking.
    """
    files, warnings = discover_files(list(paths))
    documents: list[Document] = []
    seen: dict[str, str] = {}
    for done, path in enumerate(files, start=1):
        if progress:
            progress(done, len(files), str(path))
        try:
            doc = load_document(path, max_bytes=max_file_bytes)
        except UnreadableDocument as exc:
            warnings.append(f"{exc.path}: skipped, {exc.reason}")
            continue
        if not doc.paragraphs:
            warnings.append(f"{path}: skipped, no text to index")
            continue
        if doc.content_hash in seen:
            warnings.append(f"{path}: skipped, same text as {seen[doc.content_hash]}")
            continue
        seen[doc.content_hash] = str(path)
        documents.append(doc)
    return documents, warnings


def build_from_documents(documents: Iterable[Document], params: IndexParams = IndexParams(),
                         analyzer: Analyzer | None = None, warnings: list[str] | None = None) -> BuiltIndex:
    """Cut, analyse and rank-prepare documents. Raises EmptyCorpusError if nothing is left."""
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    documents = list(documents)
    passages: list[Passage] = []
    for doc in documents:
        passages.extend(split_document(doc, params.passages))
    if not passages:
        raise EmptyCorpusError("the corpus has no documents with text to index")
    sentences = [sentence_spans(p.text) for p in passages]
    acronyms = AcronymMap.learn((doc.text for doc in documents), analyzer)
    analysed = [passage_terms(p, analyzer, acronyms, params.context_weight) for p in passages]
    bm25 = BM25Index.build([terms for terms, _ in analysed], params.bm25)
    body_terms = sum(n for _, n in analysed)
    n_sentences = sum(len(s) for s in sentences)
    return BuiltIndex(
        documents=documents,
        passages=passages,
        sentences=sentences,
        bm25=bm25,
        acronyms=acronyms,
        params=params,
        analyzer_version=analyzer.version,
        fingerprint=corpus_fingerprint(documents, params, analyzer.version),
        avg_sentence_terms=body_terms / n_sentences if n_sentences else 12.0,
        warnings=list(warnings or []),
        seconds=time.perf_counter() - started,
    )


def build_from_paths(paths: Sequence[Path], params: IndexParams = IndexParams(),
                     progress: Progress | None = None) -> BuiltIndex:
    """Read a corpus from files and folders and build its index."""
    started = time.perf_counter()
    documents, warnings = load_corpus(paths, params.max_file_bytes, progress)
    for warning in warnings:
        log.warning("%s", warning)
    if not documents:
        shown = ", ".join(str(p) for p in paths) or "(no paths given)"
        raise EmptyCorpusError(f"no documents could be indexed from {shown}", warnings)
    built = build_from_documents(documents, params, warnings=warnings)
    built.seconds = time.perf_counter() - started
    return built


def corpus_fingerprint(documents: Sequence[Document], params: IndexParams, analyzer_version: str) -> str:
    """A hash of the documents' text and paths and of every parameter that shapes the index."""
    h = hashlib.sha256()
    h.update(json.dumps([analyzer_version, repr(params)]).encode())
    for doc in sorted(documents, key=lambda d: (d.path, d.content_hash)):
        h.update(f"{doc.path}\0{doc.content_hash}\n".encode())
    return h.hexdigest()[:16]
