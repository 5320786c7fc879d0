"""A content digest of an index file: one sha256 per part, blind to what only says *when*.

Why: refactoring the build must not change the index it writes, and two builds of the same
corpus (a full one and an incremental one, or the same build before and after a change of the
code) never give byte-identical files -- row ids, term ids, build times and the order in which
SQLite laid out pages differ. This digest reads what the file *means*: the documents in build
order without their row ids, the passages in BM25 position order, the postings keyed by term
text (so term-id numbering does not matter) with the document lengths, acronyms, file states,
the `source_times` paths and hashes, and the meta entries less the build-time-only ones
(generation, built_at, build_seconds). `code_fingerprint` (a hash of the analysis code's
source) is a part of its own: it changes with any edit of those files, which is no change of
the index's content.

Self-contained on purpose (sqlite3, numpy, hashlib only): `benchmarks/index_digest.py` also
runs it against older checkouts, which have no `index.indexfile` package.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np

# Meta entries that say when or how often, not what: they differ between any two builds.
BUILD_TIME_META = frozenset({"generation", "built_at", "build_seconds"})
# The analysis code's own hash: its own part, so an edit of that code shows there only.
CODE_META = frozenset({"code_fingerprint"})


def _sha(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def _arrays(conn: sqlite3.Connection) -> dict[str, object]:
    """The BM25 arrays by name. An array over one row's size is stored as rows `name`,
    `name#1`, ... (`array_rows`, not imported: see the module docstring), joined here in order."""
    pieces: dict[str, list[tuple[int, str, bytes]]] = {}
    for stored, dtype, data in conn.execute("SELECT name, dtype, data FROM bm25_arrays"):
        name, sep, number = stored.rpartition("#")
        if not (sep and number.isdigit() and name):
            name, number = stored, "0"
        pieces.setdefault(name, []).append((int(number), dtype, data))
    out: dict[str, object] = {}
    for name, parts in pieces.items():
        parts.sort()
        dtype, data = parts[0][1], b"".join(part[2] for part in parts)
        out[name] = json.loads(data) if dtype == "json" else np.frombuffer(data, dtype=np.dtype(dtype))
    return out


def _terms(arrays: dict[str, object]) -> list[str]:
    blob = np.asarray(arrays["terms_utf8"]).tobytes()
    bounds = np.asarray(arrays["terms_offsets"]).tolist()
    return [blob[a:z].decode("utf-8") for a, z in zip(bounds[:-1], bounds[1:])]


def content_digest(db_path: Path) -> dict[str, str]:
    """{part: sha256} of the index at `db_path`: documents, passages, postings, acronyms,
    files, source_times, meta, code (see the module docstring for what each leaves out)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(documents)")]
        keep = [c for c in cols if c != "id"]
        documents = conn.execute(f"SELECT {', '.join(keep)} FROM documents ORDER BY ord").fetchall()
        hash_of = dict(conn.execute("SELECT id, hash FROM documents").fetchall())
        arrays = _arrays(conn)
        rows = arrays.get("passage_rows")
        pcols = [r[1] for r in conn.execute("PRAGMA table_info(passages)")]
        by_idx = {r[0]: r for r in conn.execute(f"SELECT {', '.join(pcols)} FROM passages")}
        doc_col = pcols.index("doc_id")
        order = np.asarray(rows).tolist() if rows is not None else sorted(by_idx)
        passages = []
        for idx in order:
            row = list(by_idx[idx])
            row[doc_col] = hash_of[row[doc_col]]
            passages.append(row[1:])  # without idx: incremental builds do not renumber rows
        terms = _terms(arrays)
        offsets = np.asarray(arrays["term_offsets"]).tolist()
        doc_ids = np.asarray(arrays["doc_ids"])
        tfs = np.asarray(arrays["tfs"])
        postings = {t: [doc_ids[a:z].tolist(), tfs[a:z].tolist()] for t, a, z in zip(terms, offsets[:-1], offsets[1:])}
        bm25 = {
            "postings": [[t, postings[t]] for t in sorted(postings)],
            "doc_len": np.asarray(arrays["doc_len"]).tolist(),
            "params": np.asarray(arrays["params"]).tolist(),
            "format_version": np.asarray(arrays["format_version"]).tolist(),
            "others": sorted(
                set(arrays)
                - {
                    "terms_utf8",
                    "terms_offsets",
                    "term_offsets",
                    "doc_ids",
                    "tfs",
                    "doc_len",
                    "params",
                    "format_version",
                    "passage_rows",
                }
            ),
        }
        acronyms = conn.execute("SELECT short, long FROM acronyms ORDER BY short").fetchall()
        files = conn.execute("SELECT path, size, mtime_ns, doc_hash FROM files ORDER BY path").fetchall()
        try:
            times = conn.execute("SELECT path, hash FROM source_times ORDER BY path").fetchall()
        except sqlite3.OperationalError:
            times = None
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return {
        "documents": _sha([keep, documents]),
        "passages": _sha([pcols[1:], passages]),
        "postings": _sha(bm25),
        "acronyms": _sha(acronyms),
        "files": _sha(files),
        "source_times": _sha(times),
        "meta": _sha(sorted((k, v) for k, v in meta.items() if k not in BUILD_TIME_META | CODE_META)),
        "code": _sha(sorted((k, v) for k, v in meta.items() if k in CODE_META)),
        "schema": _sha([version, tables]),
    }
