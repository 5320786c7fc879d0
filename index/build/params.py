"""The parameters that shape an index, apart from the build code so the reader need not import it."""

from __future__ import annotations

from dataclasses import dataclass

from ..ingest.passages import PassageParams
from ..ingest.source_rules import SourceRules
from ..ranking.bm25 import BM25Params


@dataclass(frozen=True)
class IndexParams:
    """Everything that changes which passages and terms an index holds."""

    bm25: BM25Params = BM25Params(k1=0.7, b=0.9)
    passages: PassageParams = PassageParams()
    context_weight: int = 1
    max_file_bytes: int = 50 * 1024 * 1024
    # corpus.exclude and corpus.weights. Not part of `indexfile.schema.shaping_meta`: excluded files are
    # documents removed and weights a column rewritten, both of which the incremental build does.
    sources: SourceRules = SourceRules()

    def __post_init__(self) -> None:
        if not 0 <= self.context_weight <= 10:
            raise ValueError(f"index.context_weight must be between 0 and 10, got {self.context_weight}")
