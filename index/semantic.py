"""The optional semantic re-rank: a bi-encoder's cosine mixed into the re-rank's scores.

Why: BM25 and the sentence features match words; a question that paraphrases its passage
("agency heads" for "chiefs") misses. Mixing in the cosine between the question's and each
candidate's all-MiniLM-L6-v2 vector (index/embedding.py) finds the answering passage more
often. Measured by benchmarks/semantic_rerank.py on the SQuAD half (24 articles as one corpus;
the weight and depth chosen on the questions of even-numbered articles, reported on the
2,593 of odd-numbered ones): hit@1 0.8392 -> 0.8646, hit@3 0.9236 -> 0.9495, hit@5
0.9495 -> 0.9637; seed-dev unchanged. A static-embedding model (wordllama) gained 0.005 only.

How: for each question the Answerer re-ranks BM25's top `answer.semantic_candidates` (25) as
usual; each candidate's lexical total and its cosine are min-max normalised over the
candidates, and

    score = (1 - w) * lexical + w * cosine,    w = answer.semantic_weight (0.55)

orders them (ties keep the lexical order). Passage vectors are computed at index time and
stored in the index file (`passage_vectors`, keyed by the sha256 of the passage text), so a
question costs one small encoding (~15 ms) and a reindex embeds only passages whose text is
new: the rest are copied from the previous index. A corpus of more than
`answer.semantic_max_passages` passages stays lexical (embedding runs at ~12 passages/s on one
core: 20,000 passages take about half an hour once).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embedding import DIMENSIONS, MODEL_ID, Encoder, Progress, load_encoder
from .indexfile import tables

log = logging.getLogger(__name__)

# meta keys: the model the vectors are of, how many, what this build embedded and reused, or
# why the index has none.
META_MODEL, META_COUNT, META_EMBEDDED, META_REUSED, META_SKIPPED = (
    "semantic_model", "semantic_vectors", "semantic_embedded", "semantic_reused", "semantic_skipped")
_CHUNK = 500  # keys per `IN (...)` lookup in the previous index
MAX_QUESTION_CHARS = 2000  # as the analyser: nobody asks a longer question on purpose


def passage_key(text: str) -> str:
    """What a passage's vector is stored under: the sha256 of its text (the text is all that is embedded)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VectorStats:
    """What `add_vectors` did: vectors in the index, embedded now, copied; or why none."""

    vectors: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: str | None = None


def add_vectors(db_path: Path, previous: Path | None, max_passages: int, progress: Progress | None = None,
                encoder: Encoder | None = None) -> VectorStats:
    """Give the unpublished index file at `db_path` a vector for every distinct passage text.

    Vectors already in the file (an incremental reindex patches a copy of the old one) or in
    `previous` (the index being replaced) are kept when they are of the same model; only the
    other texts are embedded. Vectors of texts no passage holds any more are dropped. Above
    `max_passages` passages the file gets no vectors, and its meta says why.
    """
    with tables.unpublished(db_path) as db:
        texts = tables.passage_texts(db)
        meta = tables.read_meta(db)
        if len(texts) > max_passages:
            reason = (f"{len(texts)} passages, above answer.semantic_max_passages ({max_passages})")
            tables.drop_passage_vectors(db)
            tables.set_meta(db, {META_SKIPPED: reason}, drop=(META_MODEL, META_COUNT, META_EMBEDDED, META_REUSED))
            return VectorStats(skipped=reason)
        encoder = encoder or load_encoder()  # (raises, saying what to install, before anything is written)
        wanted = {passage_key(t): t for t in texts}
        tables.ensure_passage_vectors(db, clear=meta.get(META_MODEL) != MODEL_ID)  # another model's (or none)
        held = tables.vector_keys(db)
        stale = held - wanted.keys()
        tables.delete_vectors(db, sorted(stale))
        missing = sorted(wanted.keys() - held)
        copied = _copy_from(previous, missing, db) if previous is not None and previous != db_path else set()
        reused = len(held) - len(stale) + len(copied)
        todo = [k for k in missing if k not in copied]
        vectors = encoder.embed_many([wanted[k] for k in todo], progress)
        tables.insert_vectors(db, ((k, vectors[i].tobytes()) for i, k in enumerate(todo)))
        tables.set_meta(db, {META_MODEL: MODEL_ID, META_COUNT: str(len(wanted)), META_EMBEDDED: str(len(todo)),
                             META_REUSED: str(reused)}, drop=(META_SKIPPED,))
    return VectorStats(len(wanted), len(todo), reused)


def _copy_from(previous: Path, keys: Sequence[str], db: sqlite3.Connection) -> set[str]:
    """Copy the vectors of `keys` that `previous` holds (of the same model) into `db`."""
    if not keys or not previous.exists():
        return set()
    found: set[str] = set()
    try:
        with tables.read_only(previous) as old:
            if tables.meta_value(old, META_MODEL) != MODEL_ID:
                return set()
            for at in range(0, len(keys), _CHUNK):
                rows = tables.vectors_of(old, keys[at:at + _CHUNK])
                tables.insert_vectors(db, rows)
                found.update(k for k, _ in rows)
    except sqlite3.Error as exc:  # an unreadable previous index: its vectors are embedded again
        log.warning("could not reuse passage vectors from %s (%s); embedding them again", previous, exc)
        return set()
    return found


def vector_step(enabled: bool, max_passages: int,
                progress: Progress | None = None) -> Callable[[Path, Path], None] | None:
    """What a build runs on its finished file before swapping it in (`rebuild_sync(finish=...)`),
    or None when the semantic re-rank is off. The encoder is loaded here, so a missing extra is
    reported before the build starts, not after."""
    if not enabled:
        return None
    encoder = load_encoder()

    def finish(tmp: Path, db_path: Path) -> None:
        add_vectors(tmp, db_path, max_passages, progress, encoder)

    return finish


def describe(meta: Mapping[str, str]) -> str | None:
    """One line on an index's vectors for `citebot index`, or None when it has none and says nothing."""
    if META_SKIPPED in meta:
        return f"Semantic re-rank off for this index: {meta[META_SKIPPED]}."
    if META_MODEL in meta:
        return (f"Passage vectors: {meta.get(META_COUNT)} ({meta.get(META_EMBEDDED)} embedded, "
                f"{meta.get(META_REUSED)} reused).")
    return None


class SemanticRerank:
    """Reorders one question's candidates by the mixed score (see the module docstring)."""

    def __init__(self, vectors: Mapping[str, bytes], encoder: Encoder, weight: float) -> None:
        self._vectors = vectors
        self._encoder = encoder
        self.weight = weight

    @classmethod
    def for_reader(cls, reader, weight: float) -> "SemanticRerank | None":
        """The re-rank over `reader`'s vectors, or None (with a warning) when its index has none
        of this model. Loads the encoder: raises SemanticUnavailableError when it cannot."""
        encoder = load_encoder()
        meta = reader.info.meta
        if meta.get(META_MODEL) != MODEL_ID:
            why = meta.get(META_SKIPPED) or ("it was built with answer.semantic = false" if META_MODEL not in meta
                                             else f"its vectors are of another model ({meta[META_MODEL]})")
            log.warning("answer.semantic is on, but the index at %s has no passage vectors (%s); answering "
                        "lexically; run 'citebot index' with answer.semantic = true to add them", reader.path, why)
            return None
        rows = reader.read_sync(tables.PASSAGE_VECTORS_QUERY)
        return cls({key: blob for key, blob in rows}, encoder, weight)

    def order(self, question: str, totals: Sequence[float],
              texts: Sequence[str]) -> list[tuple[int, float, float]] | None:
        """(candidate, mixed score, cosine) triples, best first; None (keep the lexical order)
        when some candidate has no vector (an index patched while the re-rank was off). The
        cosine is the raw one, not normalised: how close the passage is to the question, which
        the decline rule uses (`decline.answers`)."""
        blobs = [self._vectors.get(passage_key(t)) for t in texts]
        if not blobs or any(b is None for b in blobs):
            if blobs:
                log.debug("a candidate has no passage vector; lexical order kept for %r", question)
            return None
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), DIMENSIONS)  # type: ignore[arg-type]
        q = self._encoder.embed(question[:MAX_QUESTION_CHARS]).astype(np.float64)
        # An explicit product and pairwise sum, not BLAS: the same floats on every run.
        cosine = (matrix.astype(np.float64) * q).sum(axis=1)
        mixed = (1 - self.weight) * _minmax(np.asarray(totals, dtype=np.float64)) + self.weight * _minmax(cosine)
        ranking = sorted(range(len(texts)), key=lambda i: -mixed[i])  # stable: ties keep the lexical order
        return [(i, float(mixed[i]), float(cosine[i])) for i in ranking]


def _minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.ones_like(x)
