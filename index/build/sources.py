"""What a build reads: corpus sources (files, folders, URLs, sites, in-memory documents), and
the rules for which documents it skips, written once for the full and the incremental build.

A document is skipped with a warning when its file cannot be read (`read_corpus_file`), when
it has no text (`empty_warning`), or when its text is one an earlier document already has
(`SeenTexts.duplicate_warning`: the first one wins, so a file copied into two folders does not
get twice the say in ranking).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..corpus_warnings import CorpusWarning, WarningKind
from ..errors import EmptyCorpusError
from ..ingest.crawl import CrawlResult, SiteSource, crawl_sources, page_state
from ..ingest.documents import READ_KINDS, Document, corpus_folder, discover_files
from ..ingest.fetch import Page, WebSource, fetch_sources_sync, is_url
from ..ingest.files import UnreadableDocument
from ..ingest.html import html_text, parse_html
from ..ingest.loading import load_document
from ..ingest.pdf import is_pdf, parse_pdf
from ..ingest.source_rules import SourceRules
from .params import IndexParams

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as progress(done, total, what) while files are read."""

CorpusSource = Path | WebSource | SiteSource | CrawlResult | Document | str
"""A file or folder, a URL (a WebSource, or a string with a scheme: fetched with default
options), a whole site (a SiteSource, crawled; or the CrawlResult of its crawl), or a document
already in memory (a `Document`: `citebot eval`'s SQuAD articles, tests)."""

UrlSource = WebSource | SiteSource | CrawlResult


def split_sources(sources: Sequence[CorpusSource]) -> tuple[list[Path], list[UrlSource]]:
    """Paths (files and folders) apart from URL and site sources, each in the order given
    (in-memory documents are neither: `given_documents`)."""
    paths: list[Path] = []
    web: list[UrlSource] = []
    for source in sources:
        if isinstance(source, Document):
            continue
        if isinstance(source, (WebSource, SiteSource, CrawlResult)):
            web.append(source)
        elif isinstance(source, str) and is_url(source):
            web.append(WebSource(source.strip()))
        else:
            paths.append(Path(source))
    return paths, web


def given_documents(sources: Sequence[CorpusSource]) -> list[Document]:
    """The in-memory documents among `sources`, in order (a build reads them after files and URLs)."""
    return [s for s in sources if isinstance(s, Document)]


# ---------------------------------------------------------------------------------------------
# The skip rules


def read_corpus_file(path: Path, max_bytes: int, folders: Sequence[Path]) -> Document | CorpusWarning:
    """The document of one corpus file, or the warning that says why it is skipped (a kind
    citebot cannot read, too large, damaged, vanished since the folder walk)."""
    try:
        return load_document(path, max_bytes=max_bytes, root=corpus_folder(path, list(folders)))
    except UnreadableDocument as exc:
        return exc.warning()
    except OSError as exc:
        return CorpusWarning.cannot_read(path, exc)


def empty_warning(source: str, doc: Document) -> CorpusWarning | None:
    """The warning for a document with no text to index, None for one with text."""
    return None if doc.paragraphs else CorpusWarning.empty(source)


@dataclass
class SeenTexts:
    """The texts a build has kept so far, by content hash: identical text is kept once."""

    first: dict[str, str] = field(default_factory=dict)  # content hash -> the source that has it

    def duplicate_warning(self, source: str, content_hash: str) -> CorpusWarning | None:
        """The warning for a document whose text an earlier one has; None (and the text
        recorded as kept) for a new one."""
        if content_hash in self.first:
            return CorpusWarning.duplicate(source, self.first[content_hash])
        self.first[content_hash] = source
        return None


# ---------------------------------------------------------------------------------------------
# Reading


def load_corpus(
    paths: Sequence[CorpusSource],
    max_file_bytes: int | None = None,
    progress: Progress | None = None,
    file_stats: dict[str, tuple[int, int]] | None = None,
    rules: SourceRules | None = None,
) -> tuple[list[Document], list[CorpusWarning]]:
    """Read every supported file under `paths` and fetch every URL; problems become warnings.

    Files come first (folders recursively, in sorted order, less those `rules.exclude`
    leaves out), then URLs in the order given, then in-memory documents; the skip rules are
    the build's (see the module docstring). `file_stats`, when given, receives each file's
    (size, mtime_ns) as taken *before* reading it. For tests and tools that want the
    documents themselves; a build streams them (`full.build_index_file`).
    """
    folders, web = split_sources(paths)
    files, warnings = discover_files(folders, rules) if folders else ([], [])
    total = len(files) + len(web)
    loaded: list[tuple[str, Document]] = []
    max_bytes = IndexParams().max_file_bytes if max_file_bytes is None else max_file_bytes
    for done, path in enumerate(files, start=1):
        if progress:
            progress(done, total, str(path))
        try:
            st = path.stat()
        except OSError as exc:  # vanished between the folder walk and the stat
            warnings.append(CorpusWarning.cannot_read(path, exc))
            continue
        if file_stats is not None:
            file_stats[str(path)] = (st.st_size, st.st_mtime_ns)
        doc = read_corpus_file(path, max_bytes, folders)
        if isinstance(doc, CorpusWarning):
            warnings.append(doc)
            continue
        warnings.extend(doc.notes)
        loaded.append((str(path), doc))
    loaded.extend(fetched_documents(web, len(files), total, progress, warnings, file_stats))
    loaded.extend((doc.path, doc) for doc in given_documents(paths))
    documents: list[Document] = []
    seen = SeenTexts()
    for source, doc in loaded:
        warning = empty_warning(source, doc) or seen.duplicate_warning(source, doc.content_hash)
        if warning is not None:
            warnings.append(warning)
        else:
            documents.append(doc)
    return documents, warnings


def fetched_documents(
    web: Sequence[UrlSource],
    offset: int,
    total: int,
    progress: Progress | None,
    warnings: list[CorpusWarning],
    states: dict[str, tuple[int, int]] | None = None,
) -> Iterator[tuple[str, Document]]:
    """Fetch the pages (single URLs first, then the sites' pages, each in order; sites not
    crawled yet are crawled now) and extract their documents (progress counts single URLs on
    from `offset` of `total`); a page that cannot be fetched or read becomes a warning.
    `states`, when given, receives each site page's `crawl.page_state` by its URL."""
    if not web:
        return
    single = [w for w in web if isinstance(w, WebSource)]
    pages, fetch_warnings = fetch_sources_sync(
        single, (lambda done, _total, what: progress(offset + done, total, what)) if progress else None
    )
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
        warnings.append(
            CorpusWarning(WarningKind.PAGE_UNREADABLE, page.url, f"skipped, the page could not be read ({exc})")
        )
    return None


def page_document(page: Page) -> Document:
    """The document of a fetched page: a PDF read as a .pdf file is, an HTML page through the
    main-content extraction; either cites the URL it was fetched from (or its canonical URL)."""
    if is_pdf(page.content_type):
        return parse_pdf(page.body, page.url, url=page.final_url)
    text, encoding = html_text(page.body, page.content_type)
    return replace(parse_html(text, page.url, kind="url", url=page.final_url), encoding=encoding)


def nothing_indexed(sources: Sequence[CorpusSource], warnings: list[CorpusWarning]) -> EmptyCorpusError:
    """The error for a corpus that gave no document: it names the sources and the kinds
    citebot reads, and carries the warnings that say why each path was skipped."""
    shown = ", ".join(str(p) if not isinstance(p, Document) else p.path for p in sources) or "(no paths given)"
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
