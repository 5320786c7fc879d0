"""Passage vectors for the semantic re-rank, written into a new index file before it is swapped in.

The build's side of `ranking.semantic`: every distinct passage text gets its all-MiniLM-L6-v2
vector, copied from the previous index when it holds one of the same model, embedded otherwise;
`vector_step` is what `rebuild_sync(finish=...)` runs. The SQL is `indexfile.tables`'.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..indexfile import tables
from ..ranking.embedding import MODEL_ID, Encoder, Progress, load_encoder
from ..ranking.semantic import META_COUNT, META_EMBEDDED, META_MODEL, META_REUSED, META_SKIPPED, passage_key

log = logging.getLogger(__name__)

_CHUNK = 500  # keys per `IN (...)` lookup in the previous index


@dataclass(frozen=True)
class VectorStats:
    """What `add_vectors` did: vectors in the index, embedded now, copied; or why none."""

    vectors: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: str | None = None


def add_vectors(
    db_path: Path,
    previous: Path | None,
    max_passages: int,
    progress: Progress | None = None,
    encoder: Encoder | None = None,
) -> VectorStats:
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
            reason = f"{len(texts)} passages, above answer.semantic_max_passages ({max_passages})"
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
        tables.set_meta(
            db,
            {
                META_MODEL: MODEL_ID,
                META_COUNT: str(len(wanted)),
                META_EMBEDDED: str(len(todo)),
                META_REUSED: str(reused),
            },
            drop=(META_SKIPPED,),
        )
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
                rows = tables.vectors_of(old, keys[at : at + _CHUNK])
                tables.insert_vectors(db, rows)
                found.update(k for k, _ in rows)
    except sqlite3.Error as exc:  # an unreadable previous index: its vectors are embedded again
        log.warning("could not reuse passage vectors from %s (%s); embedding them again", previous, exc)
        return set()
    return found


def vector_step(
    enabled: bool, max_passages: int, progress: Progress | None = None
) -> Callable[[Path, Path], None] | None:
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
        return (
            f"Passage vectors: {meta.get(META_COUNT)} ({meta.get(META_EMBEDDED)} embedded, "
            f"{meta.get(META_REUSED)} reused)."
        )
    return None
