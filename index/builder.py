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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .analysis import AcronymExpander, AcronymMap, Analyzer, sentence_spans
from .bm25 import BM25Index, BM25Params
from .corpus_warnings import CorpusWarning, WarningKind
from .documents import READ_KINDS, Document, UnreadableDocument, corpus_folder, discover_files
from .loading import load_document
from .source_names import META_KEY as ROOTS_META_KEY
from .source_names import encode_roots
from .errors import EmptyCorpusError
from .gc_pause import no_cyclic_gc
from .crawl import CrawlResult, SiteSource, crawl_sources, page_state
from .fetch import Page, WebSource, fetch_sources_sync, is_url
from .html import html_text, parse_html
from .passages import Passage, PassageParams, split_document
from .pdf import is_pdf, parse_pdf
from .doc_analysis import analyse_documents, learn_acronyms
from .source_rules import SourceRules

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
    # corpus.exclude and corpus.weights. Not part of `writer.shaping_meta`: excluded files are
    # documents removed and weights a column rewritten, both of which the incremental build does.
    sources: SourceRules = SourceRules()

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
    warnings: list[CorpusWarning] = field(default_factory=list)
    seconds: float = 0.0
    analyses: list | None = field(default=None, repr=False)  # per-document DocAnalysis
    # Per document: (expanded body terms, sentences), so a later incremental reindex can keep
    # avg_sentence_terms exact without re-reading unchanged documents.
    doc_stats: list[tuple[int, int]] | None = field(default=None, repr=False)
    # (path, size, mtime_ns, content hash) of each file read, stat taken before reading.
    file_states: list[tuple[str, int, int, str]] = field(default_factory=list, repr=False)
    # Further `meta` entries to write (e.g. the corpus roots that name files, `source_names`).
    extra_meta: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def terms(self) -> int:
        return self.bm25.vocabulary_size


def passage_terms(passage: Passage, analyzer: Analyzer, acronyms: AcronymMap,
                  context_weight: int) -> tuple[list[str], int]:
    """The terms BM25 sees for a passage (its text with acronyms added for spelled-out names,
    then its context field repeated), and how many of them come from the text itself."""
    body = acronyms.expand(analyzer.terms(passage.text))
    return body + acronyms.expand(analyzer.terms(passage.context)) * context_weight, len(body)


CorpusSource = Path | WebSource | SiteSource | CrawlResult | str
"""A file or folder, a URL (a WebSource, or a string with a scheme: fetched with default
options), or a whole site (a SiteSource, crawled; or the CrawlResult of its crawl)."""

UrlSource = WebSource | SiteSource | CrawlResult


def split_sources(sources: Sequence[CorpusSource]) -> tuple[list[Path], list[UrlSource]]:
    """Paths (files and folders) apart from URL and site sources, each in the order given."""
    paths: list[Path] = []
    web: list[UrlSource] = []
    for source in sources:
        if isinstance(source, (WebSource, SiteSource, CrawlResult)):
            web.append(source)
        elif isinstance(source, str) and is_url(source):
            web.append(WebSource(source.strip()))
        else:
            paths.append(Path(source))
    return paths, web


def load_corpus(paths: Sequence[CorpusSource], max_file_bytes: int | None = None,
                progress: Progress | None = None, file_stats: dict[str, tuple[int, int]] | None = None,
                rules: SourceRules | None = None) -> tuple[list[Document], list[CorpusWarning]]:
    """Read every supported file under `paths` and fetch every URL; problems become warnings.

    Files come first (folders recursively, in sorted order, less those `rules.exclude`
    leaves out), then URLs in the order given.
    Documents with identical text are kept once (the first one wins), so a file copied into
    two folders does not get twice the say in ranking. `file_stats`, when given, receives
    each file's (size, mtime_ns) as taken *before* reading it: a file edited while the build
    reads it then looks changed to the next reindex, never unchanged.
    """
    folders, web = split_sources(paths)
    files, warnings = discover_files(folders, rules) if folders else ([], [])
    total = len(files) + len(web)
    loaded: list[tuple[str, Document | None]] = []
    for done, path in enumerate(files, start=1):
        if progress:
            progress(done, total, str(path))
        try:
            if file_stats is not None:
                st = path.stat()
                file_stats[str(path)] = (st.st_size, st.st_mtime_ns)
            doc = load_document(path, max_bytes=max_file_bytes, root=corpus_folder(path, folders))
            warnings.extend(doc.notes)
            loaded.append((str(path), doc))
        except UnreadableDocument as exc:
            warnings.append(exc.warning())
        except OSError as exc:  # vanished between the folder walk and the stat
            warnings.append(CorpusWarning.cannot_read(path, exc))
    loaded.extend(fetched_documents(web, len(files), total, progress, warnings, file_stats))
    documents: list[Document] = []
    seen: dict[str, str] = {}
    for source, doc in loaded:
        if doc is None:
            continue
        if not doc.paragraphs:
            warnings.append(CorpusWarning.empty(source))
            continue
        if doc.content_hash in seen:
            warnings.append(CorpusWarning.duplicate(source, seen[doc.content_hash]))
            continue
        seen[doc.content_hash] = source
        documents.append(doc)
    return documents, warnings


def fetched_documents(web: Sequence[UrlSource], offset: int, total: int, progress: Progress | None,
                      warnings: list[CorpusWarning], states: dict[str, tuple[int, int]] | None = None
                      ) -> Iterator[tuple[str, Document]]:
    """Fetch the pages (single URLs first, then the sites' pages, each in order; sites not
    crawled yet are crawled now) and extract their documents (progress counts single URLs on
    from `offset` of `total`); a page that cannot be fetched or read becomes a warning.
    `states`, when given, receives each site page's `crawl.page_state` by its URL."""
    if not web:
        return
    single = [w for w in web if isinstance(w, WebSource)]
    pages, fetch_warnings = fetch_sources_sync(
        single, (lambda done, _total, what: progress(offset + done, total, what)) if progress else None)
    warnings.extend(fetch_warnings)
    sites: list[CrawlResult] = crawl_sources([w for w in web if not isinstance(w, WebSource)])
    for site in sites:
        warnings.extend(site.warnings)
        pages.extend(site.pages)
        if states is not None:
            states.update((page.url, page_state(page)) for page in site.pages)
    for page in pages:
        doc = read_page(page, warnings)
        if doc is not None:
            yield page.url, doc


def read_page(page: Page, warnings: list[CorpusWarning]) -> Document | None:
    """`page_document`, or None and a warning for a page that cannot be read."""
    try:
        return page_document(page)
    except UnreadableDocument as exc:  # a scanned, password-protected or damaged PDF
        warnings.append(CorpusWarning(exc.kind, page.url, f"skipped, {exc.reason}"))
    except Exception as exc:  # a page the extractor chokes on must not stop the build
        log.debug("extraction failed for %s", page.url, exc_info=True)
        warnings.append(CorpusWarning(WarningKind.PAGE_UNREADABLE, page.url,
                                      f"skipped, the page could not be read ({exc})"))
    return None


def page_document(page: Page) -> Document:
    """The document of a fetched page: a PDF read as a .pdf file is, an HTML page through the
    main-content extraction; either cites the URL it was fetched from (or its canonical URL)."""
    if is_pdf(page.content_type):
        return parse_pdf(page.body, page.url, url=page.final_url)
    text, encoding = html_text(page.body, page.content_type)
    return replace(parse_html(text, page.url, kind="url", url=page.final_url), encoding=encoding)


def build_from_documents(documents: Iterable[Document], params: IndexParams = IndexParams(),
                         analyzer: Analyzer | None = None, warnings: list[CorpusWarning] | None = None,
                         workers: int | None = None) -> BuiltIndex:
    """Cut, analyse and rank-prepare documents. Raises EmptyCorpusError if nothing is left.

    Per-document analysis (passages, sentence spans, terms before acronym expansion, acronym
    definitions) is pure, so it is taken from `cache` when a document is unchanged and is
    spread over processes for large corpora (`workers`, default: all cores); acronyms are
    learned over the whole corpus and injected afterwards. The result is identical to the
    sequential reference (`build_reference`), which tests check.
    """
    with no_cyclic_gc():
        return _build(documents, params, analyzer, warnings, workers)


def _build(documents: Iterable[Document], params: IndexParams, analyzer: Analyzer | None,
           warnings: list[CorpusWarning] | None, workers: int | None) -> BuiltIndex:
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    documents = list(documents)
    analyses = analyse_documents(documents, params, analyzer, workers)
    if not any(a.passages for a in analyses):
        raise EmptyCorpusError("the corpus has no documents with text to index")
    acronyms = learn_acronyms(analyses, analyzer)
    expander = AcronymExpander(acronyms)
    passages: list[Passage] = []
    sentences: list[list[tuple[int, int]]] = []
    term_lists: list[list[str]] = []
    doc_stats: list[tuple[int, int]] = []
    cw = params.context_weight
    expand = expander.expand
    for a in analyses:
        passages.extend(a.passages)
        sentences.extend(a.sentences)
        doc_body = 0
        for body, context in zip(a.body, a.context):
            full = expand(body)
            doc_body += len(full)
            if cw:
                full += expand(context) * cw
            term_lists.append(full)
        doc_stats.append((doc_body, sum(len(s) for s in a.sentences)))
    bm25 = BM25Index.build(term_lists, params.bm25)
    del term_lists
    body_terms = sum(b for b, _ in doc_stats)
    n_sentences = sum(n for _, n in doc_stats)
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
        analyses=analyses,
        doc_stats=doc_stats,
    )


def build_reference(documents: Iterable[Document], params: IndexParams = IndexParams(),
                    analyzer: Analyzer | None = None) -> BuiltIndex:
    """The straightforward sequential build (the definition `build_from_documents` must match)."""
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
        documents=documents, passages=passages, sentences=sentences, bm25=bm25, acronyms=acronyms,
        params=params, analyzer_version=analyzer.version,
        fingerprint=corpus_fingerprint(documents, params, analyzer.version),
        avg_sentence_terms=body_terms / n_sentences if n_sentences else 12.0,
    )


def build_from_paths(paths: Sequence[CorpusSource], params: IndexParams = IndexParams(),
                     progress: Progress | None = None) -> BuiltIndex:
    """Read a corpus from files, folders and URLs and build its index."""
    started = time.perf_counter()
    stats: dict[str, tuple[int, int]] = {}
    documents, warnings = load_corpus(paths, params.max_file_bytes, progress, file_stats=stats, rules=params.sources)
    for warning in warnings:
        # Debug only: the adapters show `warnings` themselves (`corpus_warnings.summarise`: the
        # CLI on stderr, the bot in its log); logging them here too printed every warning twice.
        log.debug("%s", warning)
    if not documents:
        raise nothing_indexed(paths, warnings)
    built = build_from_documents(documents, params, warnings=warnings)
    built.file_states = [(d.path, *stats[d.path], d.content_hash) for d in documents if d.path in stats]
    built.extra_meta[ROOTS_META_KEY] = encode_roots(split_sources(paths)[0])
    built.seconds = time.perf_counter() - started
    return built


def nothing_indexed(sources: Sequence[CorpusSource], warnings: list[CorpusWarning]) -> EmptyCorpusError:
    """The error for a corpus that gave no document: it names the sources and the kinds
    citebot reads, and carries the warnings that say why each path was skipped."""
    shown = ", ".join(str(p) for p in sources) or "(no paths given)"
    return EmptyCorpusError(f"no documents could be indexed from {shown} ({READ_KINDS})", warnings)


@dataclass(frozen=True)
class DocumentKey:
    """What `corpus_fingerprint` reads of a document, for builds that keep no Document."""

    path: str
    content_hash: str


def corpus_fingerprint(documents: Sequence[Document | DocumentKey], params: IndexParams, analyzer_version: str) -> str:
    """A hash of the documents' text and paths and of every parameter that shapes the index."""
    h = hashlib.sha256()
    h.update(json.dumps([analyzer_version, repr(params)]).encode())
    for doc in sorted(documents, key=lambda d: (d.path, d.content_hash)):
        h.update(f"{doc.path}\0{doc.content_hash}\n".encode())
    return h.hexdigest()[:16]
