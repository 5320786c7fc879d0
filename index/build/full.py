"""The full build, the one every index is built by from scratch (`citebot index`, `citebot eval`,
the tests): read, parse and analyse in worker processes, stream to SQLite.

Sources are files and folders, URLs and sites, and documents already in memory (`Document`s:
`citebot eval`'s SQuAD articles), read in that order. Building in memory held every document,
passage and term list of the corpus at once; at a million passages that peaked at 12.5 GB, and
reading and parsing the files ran on one core. Here each worker process reads and parses a batch
of files and analyses them (`doc_analysis.analyse_document`), returning plain rows and each
document's terms as ids numbered by the worker (`term_ids`); the parent writes the rows into the
new SQLite file as they arrive and keeps only each passage's term *ids* (4 bytes a term) for BM25,
in a temporary file (`id_spill`). Acronyms are learned over the whole corpus once every document
is in, then injected into the few passages whose terms can hold a long form; the BM25 arrays are
built from the id chunks (`postings_scan`, or `postings.csr_from_id_chunks_twice` below 50k
passages).

Its passages, term lists and scores are those of the plain sequential definition
(`reference.build_reference`, scored by rank_bm25 with Lucene's IDF), which the tests compare
it with; the incremental build (`incremental`) must give the same file content
(`indexfile.content_digest`).
"""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis import ANALYZER_VERSION, Analyzer
from ..corpus_warnings import CorpusWarning
from ..indexfile import IndexFileWriter, index_meta
from ..indexfile.rows import stored_document_fields, stored_passage_rows
from ..ingest.documents import Document, discover_files
from ..ingest.source_names import META_KEY as ROOTS_META_KEY
from ..ingest.source_names import encode_roots
from ..ranking.bm25 import FORMAT_VERSION, drop_unheld_terms
from ..ranking.vocabulary import encode_terms
from .acronym_ids import IdPair, id_pairs, short_form_hits
from .doc_analysis import analyse_document, code_fingerprint, learn_from_definitions, passage_terms
from .gc_pause import no_cyclic_gc
from .id_spill import TermIdSpill
from .params import IndexParams
from .postings import csr_from_id_chunks_twice
from .sources import (
    CorpusSource,
    DocumentKey,
    Progress,
    SeenTexts,
    corpus_fingerprint,
    empty_warning,
    fetched_documents,
    given_documents,
    nothing_indexed,
    read_corpus_file,
    split_sources,
)
from .term_ids import GlobalTermIds, LocalTermIds
from .weights import write_weights

log = logging.getLogger(__name__)

_TASK_FILES = 32  # files per task sent to a worker
_AHEAD = 8  # tasks in flight per worker: bounds what waits in memory for the parent
_CHUNK_PASSAGES = 8192  # passages per chunk when counting postings

# From this many passages on, the BM25 arrays are built by compiled linear passes
# (`postings_scan`, 5x faster); below, numpy's sorts are quick enough: measured on the bundled
# corpus (16 passages), importing numba and loading the cached kernels costs 1.6 s in a fresh
# process (more when numba compiles them, once per machine), the whole numpy build 0.06 s.
COMPILED_CSR_ABOVE_PASSAGES = 50_000
_BYTES_PER_PASSAGE = 700  # a ~100-word passage's text: guesses from a corpus's size how many it holds
# Corpora with less text than this are read in-process: starting workers costs ~0.5 s.
PARALLEL_ABOVE_CHARS = 4_000_000


@dataclass
class AnalysedDocument:
    """One document as a worker hands it back: rows to store and its terms, no objects."""

    hash: str
    path: str
    row: tuple  # documents columns hash..kind
    definitions: list[tuple[str, str]]
    n_sentences: int
    passages: list[tuple]  # `indexfile.rows.stored_passage_rows`
    # Every passage's BM25 terms before acronym expansion, one after the other: as text where
    # the document was read, and as global term ids once a worker's read reached the parent
    # (`term_ids`; the text is then dropped before pickling).
    tokens: list[str] | None
    token_counts: list[int]  # per passage: its number of tokens (body, then context x weight)
    body_counts: list[int]  # per passage: how many of those are body terms
    term_ids: np.ndarray | None = None  # in a worker: local ids; in the parent: global ids


@dataclass
class FileOutcome:
    """What reading one corpus file gave: a document, or a warning; and its stat."""

    source: str
    stat: tuple[int, int] | None
    document: AnalysedDocument | None
    warning: CorpusWarning | None
    notes: tuple[CorpusWarning, ...] = ()  # what reading noticed without skipping it (`Document.notes`)


def analysed(doc: Document, params: IndexParams) -> AnalysedDocument:
    """Analyse one document into rows and terms (`passage_terms` before acronym expansion;
    `_finish` injects the acronyms by term id)."""
    a = analyse_document(doc, params.passages)
    cw = params.context_weight
    tokens: list[str] = []
    token_counts: list[int] = []
    body_counts: list[int] = []
    for body, context in zip(a.body, a.context):
        terms = passage_terms(body, context, cw)
        tokens.extend(terms)
        token_counts.append(len(terms))
        body_counts.append(len(body))
    return AnalysedDocument(
        hash=doc.content_hash,
        path=doc.path,
        row=stored_document_fields(doc),
        definitions=a.definitions,
        n_sentences=sum(len(s) for s in a.sentences),
        passages=stored_passage_rows(a),
        tokens=tokens,
        token_counts=token_counts,
        body_counts=body_counts,
    )


def read_file(path: Path, params: IndexParams, folders: Sequence[Path] = ()) -> FileOutcome:
    """Stat (before reading: an edit during the build then looks changed next time), read,
    parse and analyse one file; a problem becomes the outcome's warning."""
    try:
        st = path.stat()
    except OSError as exc:
        return FileOutcome(str(path), None, None, CorpusWarning.cannot_read(path, exc))
    doc = read_corpus_file(path, params.max_file_bytes, folders)
    if isinstance(doc, CorpusWarning):
        return FileOutcome(str(path), None, None, doc)
    empty = empty_warning(str(path), doc)
    if empty is not None:
        return FileOutcome(str(path), None, None, empty, doc.notes)
    return FileOutcome(str(path), (st.st_size, st.st_mtime_ns), analysed(doc, params), None, doc.notes)


@dataclass
class _WorkerState:
    """What a worker process reads files with, made in the worker by `_start_worker` (the
    pool's initializer, from its initargs): the parameters, the corpus folders, and the terms
    it has numbered so far."""

    params: IndexParams
    folders: Sequence[Path]
    local_ids: LocalTermIds = field(default_factory=LocalTermIds)


_WORKER: _WorkerState | None = None  # set in each worker process by `_start_worker`, never by the parent


def _start_worker(params: IndexParams, folders: Sequence[Path]) -> None:
    global _WORKER
    _WORKER = _WorkerState(params, folders)


def _read_batch(paths: list[Path]) -> tuple[int, int, list[str], list[FileOutcome]]:
    """In a worker: the outcomes of reading `paths`, each document's terms as local ids, with
    (this worker, the first new local id, the terms it numbered for this batch)."""
    state = _WORKER
    assert state is not None, "_read_batch runs in a worker started by _start_worker"
    with no_cyclic_gc():
        outcomes = [read_file(p, state.params, state.folders) for p in paths]
    for outcome in outcomes:
        doc = outcome.document
        if doc is not None:
            assert doc.tokens is not None, "read_file keeps a document's tokens; only this drops them"
            doc.term_ids = state.local_ids.encode(doc.tokens)
            doc.tokens = None
    return (os.getpid(), *state.local_ids.take_new_terms(), outcomes)


def read_files(
    files: Sequence[Path],
    params: IndexParams,
    term_ids: GlobalTermIds,
    workers: int | None = None,
    once_forked: Callable[[int], None] | None = None,
    folders: Sequence[Path] = (),
) -> Iterator[FileOutcome]:
    """Each file's outcome, in order; read in `workers` forked processes when there is enough
    text to pay for starting them (a worker that dies, e.g. killed for memory, is replaced by
    reading the rest in this process). A document read by a worker comes with its global
    term ids (`term_ids`), one read here with its terms as text. `once_forked(total bytes)` is
    called when the workers run (a thread started before a fork would be lost in the child,
    with whatever lock it held). `folders`: the corpus folders (a Markdown file includes only
    files inside its own)."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    size = 0
    for f in files:
        try:
            size += f.stat().st_size
        except OSError:
            pass
    done = 0
    if workers > 1 and size > PARALLEL_ABOVE_CHARS:
        batches = [list(files[i : i + _TASK_FILES]) for i in range(0, len(files), _TASK_FILES)]
        try:
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(params, tuple(folders)),
            ) as pool:
                pending: list[Future] = []
                submitted = 0
                while done < len(files):
                    while submitted < len(batches) and len(pending) < workers * _AHEAD:
                        pending.append(pool.submit(_read_batch, batches[submitted]))
                        submitted += 1
                    if once_forked is not None:
                        once_forked(size)
                        once_forked = None
                    worker, start, new_terms, outcomes = pending.pop(0).result()
                    term_ids.learn(worker, start, new_terms)
                    done += len(outcomes)
                    _globalise_batch(term_ids, worker, [o.document for o in outcomes if o.document is not None])
                    yield from outcomes
        except BrokenProcessPool:
            log.warning("index workers failed; reading the remaining files in this process")
    for path in files[done:]:
        yield read_file(path, params, folders)


def _globalise_batch(term_ids: GlobalTermIds, worker: int, docs: list[AnalysedDocument]) -> None:
    """Give a worker's batch of documents their global term ids: one lookup for the whole batch
    (per document, the numpy calls cost more than their work). New terms are still numbered in
    order of first appearance, the documents being in order; each document keeps a view of
    its part."""
    if not docs:
        return
    local = [d.term_ids for d in docs if d.term_ids is not None]
    assert len(local) == len(docs), "_read_batch gives every document it reads its term ids"
    ids = term_ids.globalise(worker, np.concatenate(local))
    at = 0
    for d, own in zip(docs, local):
        n = own.size
        d.term_ids = ids[at : at + n]
        at += n


@dataclass
class _Collected:
    """What the parent keeps while documents stream into the file."""

    writer: IndexFileWriter
    term_ids: TermIdSpill  # per document: its passages' token ids, in a temporary file
    # term -> id, handing out the next id to a new term (ids in order of first appearance)
    vocab: defaultdict[str, int] = field(default_factory=lambda: defaultdict(itertools.count().__next__))
    count_parts: list[list[int]] = field(default_factory=list)  # per document: tokens per passage
    body_parts: list[list[int]] = field(default_factory=list)  # per document: body tokens per passage
    definitions: list[list[tuple[str, str]]] = field(default_factory=list)
    sentences: list[int] = field(default_factory=list)
    keys: list[DocumentKey] = field(default_factory=list)
    files: list[tuple[str, int, int, str]] = field(default_factory=list)
    seen: SeenTexts = field(default_factory=SeenTexts)
    passages: int = 0

    def add(
        self, source: str, stat: tuple[int, int] | None, doc: AnalysedDocument, warnings: list[CorpusWarning]
    ) -> None:
        """Store one document's rows and keep its term ids (identical text is kept once)."""
        duplicate = self.seen.duplicate_warning(source, doc.hash)
        if duplicate is not None:
            warnings.append(duplicate)
            return
        doc_id = len(self.keys) + 1
        first = self.passages
        self.writer.add_documents(
            [
                (
                    doc_id,
                    *doc.row,
                    doc_id - 1,
                    len(doc.passages),
                    json.dumps(doc.definitions),
                    sum(doc.body_counts),
                    doc.n_sentences,
                )
            ]
        )
        self.writer.add_passages((first + j, row[0], doc_id, *row[1:]) for j, row in enumerate(doc.passages))
        ids = doc.term_ids
        if ids is None:
            tokens = doc.tokens or []
            ids = np.fromiter(map(self.vocab.__getitem__, tokens), dtype=np.int32, count=len(tokens))
        self.term_ids.append(ids)
        self.count_parts.append(doc.token_counts)
        self.body_parts.append(doc.body_counts)
        self.definitions.append(doc.definitions)
        self.sentences.append(doc.n_sentences)
        self.keys.append(DocumentKey(doc.path, doc.hash))
        if stat is not None:
            self.files.append((doc.path, *stat, doc.hash))
        self.passages += len(doc.passages)


def build_index_file(
    sources: Sequence[CorpusSource],
    tmp: Path,
    params: IndexParams,
    generation: int,
    progress: Progress | None = None,
    workers: int | None = None,
) -> tuple[int, int, list[CorpusWarning]]:
    """Build the index of `sources` into the new file `tmp`. Returns (documents, passages,
    warnings). Raises EmptyCorpusError when nothing can be indexed."""
    started = time.perf_counter()
    folders, web = split_sources(sources)
    files, warnings = discover_files(folders, params.sources) if folders else ([], [])
    total = len(files) + len(web)
    with no_cyclic_gc(), IndexFileWriter(tmp) as writer, TermIdSpill(tmp.parent) as spill:
        kept = _Collected(writer, spill)
        outcomes = read_files(files, params, GlobalTermIds(kept.vocab), workers, _warm_up_if_large, folders)
        for done, outcome in enumerate(outcomes, start=1):
            if progress:
                progress(done, total, outcome.source)
            warnings.extend(outcome.notes)
            if outcome.warning:
                warnings.append(outcome.warning)
            elif outcome.document is not None:
                kept.add(outcome.source, outcome.stat, outcome.document, warnings)
        states: dict[str, tuple[int, int]] = {}  # a site page's crawl.page_state, for the next reindex
        for source, doc in itertools.chain(
            fetched_documents(web, len(files), total, progress, warnings, states),
            ((d.path, d) for d in given_documents(sources)),
        ):
            empty = empty_warning(source, doc)
            if empty is not None:
                warnings.append(empty)
                continue
            kept.add(source, states.get(source), analysed(doc, params), warnings)
        if not kept.keys:
            raise nothing_indexed(sources, warnings)
        _finish(kept, params, generation, started, {ROOTS_META_KEY: encode_roots(folders)})
    return len(kept.keys), kept.passages, warnings


def _warm_up_if_large(corpus_bytes: int) -> None:
    """For a corpus that will take the compiled CSR path, load its kernels in a background
    thread while the workers read (~0.5 s, or seconds the first time on a machine, when numba
    compiles them) rather than in the serial tail of the build."""
    if corpus_bytes >= COMPILED_CSR_ABOVE_PASSAGES * _BYTES_PER_PASSAGE:
        from .postings_scan import warm_up

        threading.Thread(target=warm_up, name="csr-warm-up", daemon=True).start()


def _finish(kept: _Collected, params: IndexParams, generation: int, started: float, extra_meta: dict[str, str]) -> None:
    """Learn acronyms, inject them, build the BM25 arrays, write the rest of the file (with
    `extra_meta` in the meta table)."""
    kept.writer.index_passages()  # every passage is in: index them while the arrays are built
    analyzer = Analyzer()
    acronyms = learn_from_definitions(kept.definitions, analyzer)
    body_extra = [0] * len(kept.keys)
    pairs = id_pairs(acronyms, kept.vocab)
    cw = params.context_weight
    passes = iter([False, True])  # counting, then writing
    hits: list[tuple[np.ndarray, np.ndarray]] = []  # per chunk, found by the first pass

    def chunks() -> Iterator[tuple[np.ndarray, ...]]:
        writing = next(passes)
        return _id_chunks(kept, pairs, cw, body_extra if writing else None, hits)

    if kept.passages >= COMPILED_CSR_ABOVE_PASSAGES:
        from .postings_scan import csr_from_id_chunks_compiled

        arrays = csr_from_id_chunks_compiled(chunks, kept.vocab)
    else:
        arrays = csr_from_id_chunks_twice(chunks, kept.vocab)
    # A short form whose definition stood outside every passage (page furniture) got an id
    # but no posting; the index lists only terms some passage holds.
    terms, arrays["term_offsets"] = drop_unheld_terms(list(kept.vocab), np.diff(arrays["term_offsets"]))
    arrays.update(
        {
            "format_version": np.array([FORMAT_VERSION], dtype=np.int64),
            "params": np.array([params.bm25.k1, params.bm25.b], dtype=np.float64),
            **encode_terms(terms),
        }
    )
    body_terms = [sum(b) + extra for b, extra in zip(kept.body_parts, body_extra)]
    # Rows were written with the body terms before injection: rewrite only those that changed.
    kept.writer.set_body_terms(
        (n, doc_id) for doc_id, (n, extra) in enumerate(zip(body_terms, body_extra), start=1) if extra
    )
    n_sentences = sum(kept.sentences)
    meta = index_meta(
        params,
        ANALYZER_VERSION,
        code_fingerprint(),
        corpus_fingerprint(kept.keys, params, ANALYZER_VERSION),
        generation,
        len(kept.keys),
        kept.passages,
        len(terms),
        time.perf_counter() - started,
        sum(body_terms) / n_sentences if n_sentences else 12.0,
    )
    meta.update(extra_meta)
    meta.update(write_weights(kept.writer.db, params.sources, meta.get(ROOTS_META_KEY)))
    kept.writer.finish(arrays, np.arange(kept.passages), acronyms.to_rows(), kept.files, meta)


def _id_chunks(
    kept: _Collected,
    pairs: list[IdPair],
    cw: int,
    body_extra: list[int] | None,
    hits: list[tuple[np.ndarray, np.ndarray]],
) -> Iterator[tuple[np.ndarray, ...]]:
    """(token ids, tokens per passage[, each token's passage in the chunk]) in chunks of about
    _CHUNK_PASSAGES passages, with acronym short forms injected (`acronym_ids`); adds to
    `body_extra[d]` how many were injected into document d's bodies, when given. `hits` keeps
    each chunk's short-form hits (the segment of each, and the short form's id): the first pass
    finds them, a second reuses them."""
    for i, docs in enumerate(_document_groups(kept)):
        ids = kept.term_ids.read(docs[0], docs[-1])  # (a group is consecutive documents)
        if i == len(hits):
            hits.append(_short_form_hits(kept, docs, ids, pairs, cw))
        yield _chunk(kept, docs, ids, cw, body_extra, hits[i])


def _document_groups(kept: _Collected) -> Iterator[list[int]]:
    """Consecutive documents holding about _CHUNK_PASSAGES passages together."""
    group: list[int] = []
    passages = 0
    for d, counts in enumerate(kept.count_parts):
        group.append(d)
        passages += len(counts)
        if passages >= _CHUNK_PASSAGES:
            yield group
            group, passages = [], 0
    if group:
        yield group


def _short_form_hits(
    kept: _Collected, docs: list[int], ids: np.ndarray, pairs: list[IdPair], cw: int
) -> tuple[np.ndarray, np.ndarray]:
    """(segment, short-form id) of every counted long form in the chunk of `docs`, whose
    token ids are `ids`."""
    if not pairs:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    segment = _segments(kept, docs, cw)
    at, shorts = short_form_hits(ids, segment, pairs)
    return segment[at], shorts


def _segments(kept: _Collected, docs: list[int], cw: int) -> np.ndarray:
    """Each token's segment in the chunk of `docs`: each passage's body, then each copy of its
    context (acronyms are expanded in each separately)."""
    counts = np.array([c for d in docs for c in kept.count_parts[d]], dtype=np.int64)
    per_passage = 1 + cw
    seg_len = np.empty((counts.size, per_passage), dtype=np.int64)
    seg_len[:, 0] = [b for d in docs for b in kept.body_parts[d]]
    if cw:
        seg_len[:, 1:] = ((counts - seg_len[:, 0]) // cw)[:, None]
    return np.repeat(np.arange(counts.size * per_passage, dtype=np.int64), seg_len.ravel())


def _chunk(
    kept: _Collected,
    docs: list[int],
    ids: np.ndarray,
    cw: int,
    body_extra: list[int] | None,
    hits: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, ...]:
    """One chunk for the CSR builders: (ids, counts) in passage order, or with the short forms
    of `hits` appended, (ids, counts, each token's passage)."""
    counts = np.array([c for d in docs for c in kept.count_parts[d]], dtype=np.int64)
    segment, shorts = hits
    if not segment.size:
        return ids, counts
    n = counts.size
    per_passage = 1 + cw
    passage = segment // per_passage
    if body_extra is not None:
        doc_of = np.repeat(np.array(docs), [len(kept.count_parts[d]) for d in docs])
        in_body = doc_of[passage[segment % per_passage == 0]]
        for doc, extra in zip(*np.unique(in_body, return_counts=True)):
            body_extra[int(doc)] += int(extra)
    local = np.repeat(np.arange(n, dtype=np.int64), counts)
    return (
        np.concatenate((ids, shorts.astype(ids.dtype))),
        counts + np.bincount(passage, minlength=n),
        np.concatenate((local, passage)),
    )
