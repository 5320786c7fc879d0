"""The reference build: the plain, sequential definition of what an index holds.

What the real build (`full.build_index_file`, parallel, streaming, acronyms injected by term id)
must equal: the passages of each document (`split_document`), their sentence spans, the
corpus-wide acronym map (`AcronymMap.learn` over the documents' texts, in order), each
passage's BM25 terms (`doc_analysis.passage_terms` with the analyser's terms, acronyms
expanded), and their scores by rank_bm25 with Lucene's IDF (`ranking.reference.LuceneBM25`). Slow on
purpose: for tests and benchmarks, never a build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from ..analysis import AcronymMap, Analyzer
from ..analysis.reference import ReferenceAnalyzer, reference_expand, reference_sentence_spans
from ..errors import EmptyCorpusError
from ..ingest.documents import Document
from ..ingest.passages import Passage, split_document
from ..ranking.reference import LuceneBM25
from .doc_analysis import passage_terms
from .params import IndexParams


@dataclass
class ReferenceIndex:
    """The reference build's result: plain passages, their term lists and a rank_bm25 scorer."""

    documents: list[Document]
    passages: list[Passage]
    sentences: list[list[tuple[int, int]]]
    terms: list[list[str]]  # per passage: what BM25 indexes
    body_terms: list[int]  # per passage: how many of `terms` come from its text (acronyms expanded)
    acronyms: AcronymMap
    bm25: LuceneBM25
    params: IndexParams

    @property
    def avg_sentence_terms(self) -> float:
        """The expanded body terms per sentence over the corpus (what the build stores in meta)."""
        n_sentences = sum(len(s) for s in self.sentences)
        return sum(self.body_terms) / n_sentences if n_sentences else 12.0


def build_reference(
    documents: Iterable[Document], params: IndexParams = IndexParams(), analyzer: Analyzer | None = None
) -> ReferenceIndex:
    """The straightforward sequential build of `documents` (already read and deduplicated:
    `sources.load_corpus`). Raises EmptyCorpusError when no document has text. Every step is
    the reference implementation (`analysis.reference`: nltk's tokeniser and Punkt, the plain
    acronym loop) unless `analyzer` says otherwise."""
    analyzer = analyzer or ReferenceAnalyzer()
    documents = list(documents)
    passages: list[Passage] = []
    for doc in documents:
        passages.extend(split_document(doc, params.passages))
    if not passages:
        raise EmptyCorpusError("the corpus has no documents with text to index")
    sentences = [reference_sentence_spans(p.text) for p in passages]
    acronyms = AcronymMap.learn((doc.text for doc in documents), analyzer)
    expand = partial(reference_expand, acronyms)
    terms, body_terms = [], []
    for p in passages:
        body = analyzer.terms(p.text)
        terms.append(passage_terms(body, analyzer.terms(p.context), params.context_weight, expand))
        body_terms.append(len(expand(body)))
    bm25 = LuceneBM25(terms, k1=params.bm25.k1, b=params.bm25.b)
    return ReferenceIndex(documents, passages, sentences, terms, body_terms, acronyms, bm25, params)
