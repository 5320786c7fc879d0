"""Reindexing a large corpus after a few files changed, without rebuilding what did not.

A full build of a million passages reads, parses and analyses every file and writes a
multi-gigabyte SQLite file. When only a few files changed, almost all of that is already in the
previous index file. This module plans the change (`plan_update`), and, when it is safe, applies
it (`apply_update`) to a *copy* of the old file, which is then swapped in atomically exactly
like a full build's file: readers never see a half-written index and a killed reindex leaves
the old one in place.

Unchanged files are recognised by the (size, mtime_ns) recorded when they were last read (the
stat is taken before reading, so a file edited during a build looks changed next time). Their
passages, sentence data and postings are kept as they are; the changed and new documents are
analysed; the BM25 arrays are updated with numpy (postings of removed passages dropped, the
rest renumbered to their new positions, new postings inserted in order). Passage rows are not
renumbered on disk: `passage_rows` maps BM25 positions to rows.

The result is the index a full build would give: same passages in the same order, same
postings, same document lengths, hence the same scores and rankings (tests compare the two).
Term ids may be numbered differently, which no ranking depends on. The incremental path is
only taken when nothing global changed: same parameters, analyser and analysis code, and the
same corpus-wide acronym map (a new definition would change the terms of passages anywhere, so
that case rebuilds in full, analysing in parallel). Single web pages are fetched again
(conditionally, from the web cache) and read; a page whose text is unchanged is kept like an
unchanged file, a changed one analysed. A crawled site's page is unchanged when its bytes are
(`crawl.page_state`), and then not even read.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis import ANALYZER_VERSION, AcronymExpander, AcronymMap, Analyzer
from ..corpus_warnings import CorpusWarning
from ..indexfile import IndexFilePatch, StoredDocument, read_acronym_rows, read_previous, shaping_meta
from ..indexfile.rows import stored_document_fields, stored_passage_rows
from ..ingest.crawl import CrawlResult, SiteSource, page_state
from ..ingest.documents import Document, discover_files
from ..ingest.fetch import WebSource
from ..ingest.source_names import META_KEY as ROOTS_META_KEY
from ..ingest.source_names import encode_roots
from ..ranking.bm25 import drop_unheld_terms, sorted_position
from ..ranking.vocabulary import decode_terms, encode_terms
from .doc_analysis import (
    DocAnalysis,
    analyse_document,
    code_fingerprint,
    learn_from_definitions,
    passage_terms,
)
from .params import IndexParams
from .sources import (
    CorpusSource,
    DocumentKey,
    SeenTexts,
    corpus_fingerprint,
    empty_warning,
    fetched_documents,
    given_documents,
    read_corpus_file,
    read_page,
    split_sources,
)
from .weights import write_weights

log = logging.getLogger(__name__)

# Above this share of changed passages (and this many) a full build, which analyses in parallel
# is as quick.
MAX_CHANGED_SHARE = 0.2
MAX_CHANGED_PASSAGES = 2000


OldDocument = StoredDocument
"""A document row of the previous index, kept as it is (`indexfile.patch.StoredDocument`)."""


@dataclass
class UpdatePlan:
    """The new corpus described against the old index: which documents stay, which are new."""

    db_path: Path
    meta: dict[str, str]
    # In build order: an OldDocument (kept as it is) or a Document (new or changed).
    order: list[OldDocument | Document]
    removed: list[OldDocument]
    file_states: list[tuple[str, int, int, str]]
    warnings: list[CorpusWarning] = field(default_factory=list)
    roots: str = ""  # the `corpus_roots` meta value (source_names) of this build's folders and files

    @property
    def new_documents(self) -> list[Document]:
        return [d for d in self.order if isinstance(d, Document)]

    def old_starts(self) -> tuple[dict[str, int], int]:
        """Each old document's first BM25 position in the old index (by hash), and the old
        index's passage count: old documents sit in their build order, passages contiguous."""
        old = sorted([*(d for d in self.order if isinstance(d, OldDocument)), *self.removed], key=lambda d: d.order)
        start_of: dict[str, int] = {}
        position = 0
        for d in old:
            start_of[d.hash] = position
            position += d.n_passages
        return start_of, position

    @property
    def removed_paths(self) -> int:
        """Documents whose path is no longer in the corpus (a changed file replaces its old
        version under the same path, which is not a removal)."""
        return len({d.path for d in self.removed} - {d.path for d in self.order})


def plan_update(sources: Sequence[CorpusSource], db_path: Path, params: IndexParams) -> UpdatePlan | None:
    """Describe the corpus at `sources` against the index at `db_path`; None when an
    incremental update does not apply (see the module docstring)."""
    folders, web = split_sources(sources)
    if any(isinstance(w, SiteSource) for w in web):
        return None  # a site not crawled yet: rebuild_sync crawls it first, then comes here
    if given_documents(sources):
        return None  # documents handed in memory (`citebot eval`'s): nothing records what they were
    old = read_previous(db_path, shaping_meta(params, ANALYZER_VERSION, code_fingerprint()))
    if old is None:
        return None
    meta, old_docs, old_files = old.meta, old.documents, old.files
    by_path = {d.path: d for d in old_docs.values()}
    built_at_ns = int(float(meta.get("built_at", "0")) * 1e9)
    files, warnings = discover_files(folders, params.sources) if folders else ([], [])
    loaded: list[tuple[str, OldDocument | Document]] = []
    states: dict[str, tuple[int, int]] = {}
    for path in files:
        key = str(path)
        try:
            st = path.stat()
        except OSError as exc:
            warnings.append(CorpusWarning.cannot_read(path, exc))
            continue
        states[key] = (st.st_size, st.st_mtime_ns)
        known = old_files.get(key)
        reuse = by_path.get(key)
        # Unchanged: same size and mtime as when it was read, the document stored under this
        # path, and a mtime safely older than that build (an edit within the same clock tick
        # as the read could otherwise keep both).
        if (
            known is not None
            and reuse is not None
            and known[:2] == states[key]
            and known[2] == reuse.hash
            and st.st_mtime_ns < built_at_ns - 1_000_000_000
            and st.st_size <= params.max_file_bytes
        ):
            loaded.append((key, reuse))
            continue
        read = read_corpus_file(path, params.max_file_bytes, folders)
        if isinstance(read, CorpusWarning):
            warnings.append(read)
            continue
        warnings.extend(read.notes)
        loaded.append((key, read))
    # Single pages are fetched (conditionally: an unchanged page costs a 304) and read again; one
    # whose text is what the index holds is kept below, as a touched file is.
    loaded.extend(fetched_documents([w for w in web if isinstance(w, WebSource)], 0, 0, None, warnings))
    # Crawled pages after the files and single pages, in crawl order, as the full build reads them.
    for site in (w for w in web if isinstance(w, CrawlResult)):
        warnings.extend(site.warnings)
        for page in site.pages:
            states[page.url] = page_state(page)
            known = old_files.get(page.url)
            reuse = by_path.get(page.url)
            if known is not None and reuse is not None and known[:2] == states[page.url] and known[2] == reuse.hash:
                loaded.append((page.url, reuse))  # the very bytes it was last analysed from
                continue
            page_doc = read_page(page, warnings)
            if page_doc is not None:
                loaded.append((page.url, page_doc))
    # The full build's skip rules (`build.sources`): empty documents are skipped, identical text kept once.
    order: list[OldDocument | Document] = []
    seen = SeenTexts()
    for source, doc in loaded:
        h = doc.hash if isinstance(doc, OldDocument) else doc.content_hash
        skipped = (empty_warning(source, doc) if isinstance(doc, Document) else None) or seen.duplicate_warning(
            source, h
        )
        if skipped is not None:
            warnings.append(skipped)
            continue
        if (
            isinstance(doc, Document)
            and h in old_docs
            and old_docs[h].path == doc.path
            and old_docs[h].encoding == doc.encoding
        ):
            doc = old_docs[h]  # touched but not changed: nothing to redo (same text, read the same way)
        order.append(doc)
    kept = {d.hash for d in order if isinstance(d, OldDocument)}
    removed = [d for d in old_docs.values() if d.hash not in kept]
    if not order:
        return None  # let the full path report the empty corpus
    changed = sum(d.n_passages for d in removed) + sum(len(d.paragraphs) for d in order if isinstance(d, Document))
    total = sum(d.n_passages for d in old_docs.values()) or 1
    if changed > max(MAX_CHANGED_SHARE * total, MAX_CHANGED_PASSAGES):
        return None
    file_states = [
        (d.path, *states[d.path], d.hash if isinstance(d, OldDocument) else d.content_hash)
        for d in order
        if d.path in states
    ]
    return UpdatePlan(db_path, meta, order, removed, file_states, warnings, encode_roots(folders))


_GONE = np.iinfo(np.uint32).max  # remap value of a removed passage (positions stay below 2**32 - 1)


@dataclass
class _NewDocument:
    doc: Document
    analysis: DocAnalysis
    terms: list[list[str]]  # per passage, expanded body + context * weight (what BM25 indexes)
    body_terms: int


def apply_update(plan: UpdatePlan, params: IndexParams, tmp: Path) -> bool:
    """Write the updated index into `tmp` (a copy of the old file); False, writing nothing,
    when the corpus-wide acronym map would change (the caller then builds in full)."""
    started = time.perf_counter()
    analyzer = Analyzer()
    new_docs = {id(d): d for d in plan.new_documents}
    analyses = {i: analyse_document(d, params.passages, analyzer) for i, d in new_docs.items()}
    acronyms = _learn(plan.order, analyses, analyzer)
    old_map = AcronymMap.from_rows(read_acronym_rows(plan.db_path))
    if acronyms.to_rows() != old_map.to_rows():
        log.info("incremental reindex: the acronym map changed; building in full")
        return False
    expand = AcronymExpander(acronyms).expand
    prepared: dict[int, _NewDocument] = {}
    for i, doc in new_docs.items():
        a = analyses[i]
        terms = [passage_terms(b, c, params.context_weight, expand) for b, c in zip(a.body, a.context)]
        body = sum(len(expand(b)) for b in a.body)
        prepared[i] = _NewDocument(doc, a, terms, body)

    with IndexFilePatch(plan.db_path, tmp) as patch:
        updated, positions = _update_postings(patch.arrays(), plan, prepared)
        updated["passage_rows"] = _update_rows(patch, plan, prepared, positions)
        patch.replace_arrays(updated)
        patch.set_meta(_updated_meta(plan, prepared, params, updated, started))
        patch.set_meta(
            write_weights(patch.db, params.sources, plan.roots)
        )  # every document: the weights may have changed
        patch.commit()
    return True


def _learn(order: Sequence[OldDocument | Document], analyses: dict[int, DocAnalysis], analyzer: Analyzer) -> AcronymMap:
    """The corpus-wide acronym map, from stored and fresh definitions in build order."""
    return learn_from_definitions(
        (d.definitions if isinstance(d, OldDocument) else analyses[id(d)].definitions for d in order), analyzer
    )


def _decode(arrays: dict[str, tuple[str, bytes]], name: str) -> np.ndarray:
    dtype, data = arrays[name]
    return np.frombuffer(data, dtype=np.dtype(dtype))


def _update_postings(
    arrays: dict[str, tuple[str, bytes]], plan: UpdatePlan, prepared: dict[int, _NewDocument]
) -> tuple[dict[str, np.ndarray | tuple[str, bytes]], list[int]]:
    """The BM25 arrays of the new corpus, from the old ones and the new documents' terms.

    Returns the arrays (in `BM25Index.to_arrays` layout) and each document's first position.
    """
    doc_len = _decode(arrays, "doc_len")
    offsets = _decode(arrays, "term_offsets").astype(np.int64)
    # Popped: the old postings' bytes are freed as soon as the kept ones are copied out.
    ids_dtype, ids_bytes = arrays.pop("doc_ids")
    doc_ids = np.frombuffer(ids_bytes, dtype=np.dtype(ids_dtype))
    del ids_bytes
    tfs_dtype, tfs_bytes = arrays.pop("tfs")
    tfs = np.frombuffer(tfs_bytes, dtype=np.dtype(tfs_dtype))
    del tfs_bytes
    terms = decode_terms(_decode(arrays, "terms_utf8"), _decode(arrays, "terms_offsets"))

    # Old position -> new position (_GONE: removed), and the new document lengths.
    start_of, pos = plan.old_starts()
    if pos != doc_len.size:
        raise ValueError(f"the index lists {pos} passages for its documents but BM25 has {doc_len.size}")
    remap = np.full(doc_len.size, _GONE, dtype=np.uint32)
    firsts: list[int] = []
    lengths: list[np.ndarray] = []
    new_postings: list[tuple[str, int, int]] = []  # (term, position, tf)
    position = 0
    for d in plan.order:
        firsts.append(position)
        if isinstance(d, OldDocument):
            s = start_of[d.hash]
            remap[s : s + d.n_passages] = np.arange(position, position + d.n_passages, dtype=np.uint32)
            lengths.append(doc_len[s : s + d.n_passages])
            position += d.n_passages
        else:
            new = prepared[id(d)]
            lengths.append(np.fromiter(map(len, new.terms), dtype=np.uint32, count=len(new.terms)))
            for terms_of_passage in new.terms:
                new_postings.extend((t, position, tf) for t, tf in Counter(terms_of_passage).items())
                position += 1
    new_len = np.concatenate(lengths).astype(np.uint32) if lengths else np.zeros(0, dtype=np.uint32)

    # Keep the surviving postings, renumbered (remap is increasing on kept positions, so each
    # term's list stays sorted).
    mapped = remap[doc_ids]
    del doc_ids
    dropped = np.flatnonzero(mapped == _GONE)  # few: the removed documents' postings
    n_terms_old = offsets.size - 1
    kept_per_term = (
        np.diff(offsets)
        - np.bincount(np.searchsorted(offsets, dropped, side="right") - 1, minlength=n_terms_old)[:n_terms_old]
    )
    kept_ids = np.delete(mapped, dropped)
    del mapped
    kept_tfs = np.delete(tfs, dropped)
    del tfs, dropped

    # New postings: new terms get new ids; each posting is inserted at its place in its list.
    vocab = {t: i for i, t in enumerate(terms)}
    for t, _, _ in new_postings:
        if t not in vocab:
            vocab[t] = len(terms)
            terms.append(t)
    n_terms = len(terms)
    counts = np.zeros(n_terms, dtype=np.int64)
    counts[: kept_per_term.size] = kept_per_term
    base = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(counts, out=base[1:])
    new_postings.sort(key=lambda x: (vocab[x[0]], x[1]))
    at = np.empty(len(new_postings), dtype=np.int64)
    for j, (t, p, _) in enumerate(new_postings):
        tid = vocab[t]
        lo, hi = int(base[tid]), int(base[tid + 1])
        at[j] = lo + sorted_position(kept_ids[lo:hi], p)
    new_pos = np.fromiter((p for _, p, _ in new_postings), dtype=np.uint32, count=len(new_postings))
    new_tf = np.fromiter((tf for _, _, tf in new_postings), dtype=np.int64, count=len(new_postings))
    tf_dtype = kept_tfs.dtype if not new_tf.size or int(new_tf.max()) <= np.iinfo(kept_tfs.dtype).max else np.uint32
    all_ids = np.insert(kept_ids, at, new_pos)
    all_tfs = np.insert(kept_tfs.astype(tf_dtype), at, new_tf.astype(tf_dtype))
    np.add.at(counts, np.fromiter((vocab[t] for t, _, _ in new_postings), dtype=np.int64, count=len(new_postings)), 1)

    # Terms no passage holds any more are dropped, as a full build would never see them.
    final_terms, term_offsets = drop_unheld_terms(terms, counts)
    out: dict[str, np.ndarray | tuple[str, bytes]] = {
        name: value for name, value in arrays.items() if name in ("format_version", "params")
    }
    out.update(
        {
            "doc_len": new_len,
            "term_offsets": term_offsets,
            "doc_ids": all_ids,
            "tfs": all_tfs,
            **encode_terms(final_terms),
        }
    )
    return out, firsts


def _update_rows(
    patch: IndexFilePatch, plan: UpdatePlan, prepared: dict[int, _NewDocument], firsts: list[int]
) -> np.ndarray:
    """Delete the removed documents' rows, add the new ones, renumber the document order.
    Returns the new position -> passages.idx map."""
    old_rows = patch.passage_rows()
    start_of, _ = plan.old_starts()
    patch.remove_documents(d.id for d in plan.removed)
    next_doc, next_row = patch.next_ids()
    rows = np.empty(
        sum(d.n_passages if isinstance(d, OldDocument) else len(prepared[id(d)].terms) for d in plan.order),
        dtype=np.uint32,
    )
    order_updates = []
    for order, (d, first) in enumerate(zip(plan.order, firsts)):
        if isinstance(d, OldDocument):
            s = start_of[d.hash]
            rows[first : first + d.n_passages] = old_rows[s : s + d.n_passages]
            order_updates.append((order, d.id))
            continue
        p = prepared[id(d)]
        a = p.analysis
        patch.add_document(
            (
                next_doc,
                *stored_document_fields(d),
                order,
                len(a.passages),
                json.dumps(a.definitions),
                p.body_terms,
                sum(len(s) for s in a.sentences),
            ),
            [(next_row + j, row[0], next_doc, *row[1:]) for j, row in enumerate(stored_passage_rows(a))],
        )
        rows[first : first + len(a.passages)] = np.arange(next_row, next_row + len(a.passages))
        next_doc += 1
        next_row += len(a.passages)
    patch.set_orders(order_updates)
    patch.replace_files(plan.file_states)
    return rows


def _updated_meta(
    plan: UpdatePlan,
    prepared: dict[int, _NewDocument],
    params: IndexParams,
    arrays: Mapping[str, np.ndarray | tuple[str, bytes]],
    started: float,
) -> dict[str, str]:
    doc_len, term_offsets = arrays["doc_len"], arrays["term_offsets"]
    assert isinstance(doc_len, np.ndarray) and isinstance(term_offsets, np.ndarray)  # rebuilt, never kept as stored
    body_terms = n_sentences = 0
    for d in plan.order:
        if isinstance(d, OldDocument):
            body_terms += d.body_terms
            n_sentences += d.n_sentences
        else:
            p = prepared[id(d)]
            body_terms += p.body_terms
            n_sentences += sum(len(s) for s in p.analysis.sentences)
    documents = [DocumentKey(d.path, d.hash) if isinstance(d, OldDocument) else d for d in plan.order]
    generation = int(plan.meta.get("generation", "0")) + 1
    updates = {
        "fingerprint": corpus_fingerprint(documents, params, ANALYZER_VERSION),
        "built_at": repr(time.time()),
        "generation": str(generation),
        "documents": str(len(plan.order)),
        "passages": str(int(doc_len.size)),
        "terms": str(int(term_offsets.size) - 1),
        "build_seconds": f"{time.perf_counter() - started:.3f}",
        "avg_sentence_terms": repr(body_terms / n_sentences if n_sentences else 12.0),
        ROOTS_META_KEY: plan.roots,
    }
    return updates
