"""Ranking: which passages answer a question best.

- `bm25.BM25Index`: exact Okapi BM25 with Lucene's IDF over the index file's arrays, with
  `maxscore` (the compiled MaxScore top-k for large indexes); `reference.LuceneBM25` is the
  reference (rank_bm25's classes with Lucene's IDF) that the tests and benchmarks compare with.
- `rerank`: BM25's candidates re-ranked by their best sentence and what a reader looks for.
- `source_weights`: corpus.weights applied where passages are compared.
- `semantic` and `embedding`: the optional semantic re-rank (all-MiniLM-L6-v2, int8 ONNX).
"""

from .bm25 import BM25Index, BM25Params, Hit
from .rerank import RerankWeights
from .source_weights import weighted_top_k

__all__ = ["BM25Index", "BM25Params", "Hit", "RerankWeights", "weighted_top_k"]
