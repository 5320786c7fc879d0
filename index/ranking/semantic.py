"""The optional semantic re-rank: a bi-encoder's cosine mixed into the re-rank's scores.

Why: BM25 and the sentence features match words; a question that paraphrases its passage
("agency heads" for "chiefs") misses. Mixing in the cosine between the question's and each
candidate's all-MiniLM-L6-v2 vector (index/ranking/embedding.py) finds the answering passage more
often. Measured by benchmarks/semantic_rerank.py on the SQuAD half (24 articles as one corpus;
the weight and depth chosen on the questions of even-numbered articles, reported on the
2,593 of odd-numbered ones): hit@1 0.8392 -> 0.8646, hit@3 0.9236 -> 0.9495, hit@5
0.9495 -> 0.9637; seed-dev unchanged. A static-embedding model (wordllama) gained 0.005 only.

How: for each question the Answerer re-ranks BM25's top `answer.semantic_candidates` (25) as
usual; each candidate's lexical total and its cosine are min-max normalised over the
candidates, and

    score = (1 - w) * lexical + w * cosine,    w = answer.semantic_weight (0.55)

orders them (ties keep the lexical order). Passage vectors are computed at index time and
stored in the index file (`passage_vectors`, keyed by the sha256 of the passage text, written
by `build.vectors`), so a
question costs one small encoding (~15 ms) and a reindex embeds only passages whose text is
new: the rest are copied from the previous index. A corpus of more than
`answer.semantic_max_passages` passages stays lexical (embedding runs at ~12 passages/s on one
core: 20,000 passages take about half an hour once).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

import numpy as np

from .embedding import DIMENSIONS, MODEL_ID, Encoder, load_encoder

log = logging.getLogger(__name__)

# meta keys: the model the vectors are of, how many, what this build embedded and reused, or
# why the index has none.
META_MODEL, META_COUNT, META_EMBEDDED, META_REUSED, META_SKIPPED = (
    "semantic_model",
    "semantic_vectors",
    "semantic_embedded",
    "semantic_reused",
    "semantic_skipped",
)
MAX_QUESTION_CHARS = 2000  # as the analyser: nobody asks a longer question on purpose


def passage_key(text: str) -> str:
    """What a passage's vector is stored under: the sha256 of its text (the text is all that is embedded)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SemanticRerank:
    """Reorders one question's candidates by the mixed score (see the module docstring)."""

    def __init__(self, vectors: Mapping[str, bytes], encoder: Encoder, weight: float) -> None:
        self._vectors = vectors
        self._encoder = encoder
        self.weight = weight

    @classmethod
    def for_reader(cls, reader, weight: float) -> SemanticRerank | None:
        """The re-rank over `reader`'s vectors, or None (with a warning) when its index has none
        of this model. Loads the encoder: raises SemanticUnavailableError when it cannot."""
        encoder = load_encoder()
        meta = reader.info.meta
        if meta.get(META_MODEL) != MODEL_ID:
            why = meta.get(META_SKIPPED) or (
                "it was built with answer.semantic = false"
                if META_MODEL not in meta
                else f"its vectors are of another model ({meta[META_MODEL]})"
            )
            log.warning(
                "answer.semantic is on, but the index at %s has no passage vectors (%s); answering "
                "lexically; run 'citebot index' with answer.semantic = true to add them",
                reader.path,
                why,
            )
            return None
        return cls(reader.passage_vectors_sync(), encoder, weight)

    def order(
        self, question: str, totals: Sequence[float], texts: Sequence[str]
    ) -> list[tuple[int, float, float]] | None:
        """(candidate, mixed score, cosine) triples, best first; None (keep the lexical order)
        when some candidate has no vector (an index patched while the re-rank was off). The
        cosine is the raw one, not normalised: how close the passage is to the question, which
        the decline rule uses (`decline.answers`)."""
        found = [self._vectors.get(passage_key(t)) for t in texts]
        blobs = [b for b in found if b is not None]
        if not found or len(blobs) < len(found):
            if found:
                log.debug("a candidate has no passage vector; lexical order kept for %r", question)
            return None
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), DIMENSIONS)
        q = self._encoder.embed(question[:MAX_QUESTION_CHARS]).astype(np.float64)
        # An explicit product and pairwise sum, not BLAS: the same floats on every run.
        cosine = (matrix.astype(np.float64) * q).sum(axis=1)
        mixed = (1 - self.weight) * _minmax(np.asarray(totals, dtype=np.float64)) + self.weight * _minmax(cosine)
        ranking = sorted(range(len(texts)), key=lambda i: -mixed[i])  # stable: ties keep the lexical order
        return [(i, float(mixed[i]), float(cosine[i])) for i in ranking]


def _minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.ones_like(x)
