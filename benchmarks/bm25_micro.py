"""Micro-benchmark for index/bm25.py on a seeded synthetic Zipfian corpus.

    python benchmarks/bm25_micro.py --docs 100000
    python benchmarks/bm25_micro.py               # 1,000,000 docs (~2.5 min, several GB
                                                  # of RAM for the rank_bm25 reference)

Corpus: document lengths log-normal (mean ~100 tokens, clipped to [5, 1000]),
tokens drawn from a Zipf(s=1.17) distribution over 500,000 terms "w<rank>"
(~60 unique terms per document; rank < 100 plays the role of stopwords).
Queries: 5-10 distinct non-stopword terms of a random document, shuffled; 30%
also get a random non-stopword term, 10% an unknown term, 10% a repeated term.

Prints: corpus generation time (not part of the build), build time, index
size, p50/p99/max query latency over --queries queries (single thread, k=10),
reload time and peak RSS of a *fresh process* that loads the index from an
SQLite file of BLOBs (as the store would) and runs the same queries, the
reference (LuceneBM25.get_scores + tie rule) p50 on --ref-queries queries and
the share of those whose top-10 is identical (ids and order), plus the max
relative score difference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from citebot.index.build.postings import csr_from_id_chunks_twice  # noqa: E402
from citebot.index.ranking.bm25 import BM25Index, BM25Params  # noqa: E402
from citebot.index.ranking.postings import ArrayPostings  # noqa: E402
from citebot.index.ranking.reference import LuceneBM25  # noqa: E402
from citebot.index.ranking.vocabulary import Vocabulary  # noqa: E402

VOCAB = 500_000
ZIPF_S = 1.17
STOPWORD_RANKS = 100


def peak_rss_mb() -> float:
    """High-water RSS of this process (VmHWM: unlike ru_maxrss it is not
    inherited from the parent across fork/exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def index_of_ids(ids: np.ndarray, offs: np.ndarray) -> BM25Index:
    """The BM25 index of the corpus's term ids, built by the index build's CSR builder (terms
    "w<id>", numbered in id order over those some document holds, as the build lists them)."""
    held = np.bincount(ids, minlength=VOCAB) > 0
    new_id = np.cumsum(held) - 1
    terms = [f"w{i}" for i in np.flatnonzero(held).tolist()]
    lens = np.diff(offs)
    chunks = [
        (new_id[ids[offs[a] : offs[min(a + 8192, lens.size)]]], lens[a : a + 8192]) for a in range(0, lens.size, 8192)
    ]
    arrays = csr_from_id_chunks_twice(lambda: iter(chunks), terms)
    postings = ArrayPostings(arrays.pop("doc_ids"), arrays.pop("tfs"))
    return BM25Index(params=BM25Params(), vocab=Vocabulary.of(terms), postings=postings, **arrays)


def make_corpus(n_docs: int, seed: int) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """Docs as token lists, plus the flat term-id array and doc offsets."""
    rng = np.random.default_rng(seed)
    lens = np.clip(np.rint(rng.lognormal(np.log(100) - 0.08, 0.4, n_docs)), 5, 1000).astype(np.int64)
    cdf = np.cumsum(1.0 / np.arange(1, VOCAB + 1, dtype=np.float64) ** ZIPF_S)
    cdf /= cdf[-1]
    total = int(lens.sum())
    ids = np.empty(total, dtype=np.int32)
    step = 10_000_000
    for a in range(0, total, step):
        b = min(total, a + step)
        ids[a:b] = np.searchsorted(cdf, rng.random(b - a), side="right")
    np.minimum(ids, VOCAB - 1, out=ids)
    words = np.array([f"w{i}" for i in range(VOCAB)], dtype=object)
    offs = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(lens, out=offs[1:])
    docs: list[list[str]] = []
    per = 20_000
    for d0 in range(0, n_docs, per):
        d1 = min(n_docs, d0 + per)
        toks = words[ids[offs[d0] : offs[d1]]].tolist()
        base = int(offs[d0])
        bounds = (offs[d0 : d1 + 1] - base).tolist()
        docs.extend(toks[s:e] for s, e in zip(bounds[:-1], bounds[1:]))
    return docs, ids, offs


def make_queries(ids: np.ndarray, offs: np.ndarray, n: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed + 1)
    cdf = np.cumsum(1.0 / np.arange(1, VOCAB + 1, dtype=np.float64) ** ZIPF_S)
    cdf /= cdf[-1]
    n_docs = offs.size - 1
    queries = []
    while len(queries) < n:
        d = int(rng.integers(n_docs))
        terms = np.unique(ids[offs[d] : offs[d + 1]])
        terms = terms[terms >= STOPWORD_RANKS]
        if terms.size == 0:
            continue
        take = min(terms.size, int(rng.integers(5, 11)))
        q = [f"w{t}" for t in rng.choice(terms, size=take, replace=False)]
        if rng.random() < 0.3:
            while True:
                t = int(np.searchsorted(cdf, rng.random(), side="right"))
                if STOPWORD_RANKS <= t < VOCAB:
                    break
            q.append(f"w{t}")
        if rng.random() < 0.1:
            q.append("unknown-term")
        if rng.random() < 0.1:
            q.append(q[0])
        rng.shuffle(q)
        queries.append(q)
    return queries


def reference_top(ref: LuceneBM25, query: list[str], k: int) -> tuple[list[int], list[float]]:
    scores = ref.get_scores(query)
    cand = np.flatnonzero(scores > 0)
    order = np.lexsort((cand, -scores[cand]))[:k]
    top = cand[order]
    return top.tolist(), scores[top].tolist()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def time_queries(index: BM25Index, queries: list[list[str]], k: int) -> list[float]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.top_k(q, k)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def reload_child(db: str, queries_path: str, k: int) -> None:
    """Runs in a fresh process: load BLOBs from SQLite, reload, query."""
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    blobs = dict(con.execute("SELECT name, data FROM bm25"))
    con.close()
    t1 = time.perf_counter()
    index = BM25Index.from_blobs(blobs)
    t2 = time.perf_counter()
    queries = json.loads(Path(queries_path).read_text())
    times = time_queries(index, queries, k)
    print(
        json.dumps(
            {
                "sqlite_read_s": t1 - t0,
                "from_blobs_s": t2 - t1,
                "p50_ms": pct(times, 50),
                "p99_ms": pct(times, 99),
                "rss_mb": current_rss_mb(),
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ref-queries", type=int, default=30)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-ref", action="store_true", help="skip the slow rank_bm25 reference")
    ap.add_argument("--no-reload", action="store_true", help="skip the SQLite reload check")
    ap.add_argument("--reload-child", nargs=2, metavar=("DB", "QUERIES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reload_child:
        reload_child(args.reload_child[0], args.reload_child[1], args.k)
        return

    print(f"N = {args.docs:,} docs, Zipf s={ZIPF_S} over {VOCAB:,} terms, seed {args.seed}")
    t0 = time.perf_counter()
    docs, ids, offs = make_corpus(args.docs, args.seed)
    t1 = time.perf_counter()
    rss_corpus = current_rss_mb()
    print(f"corpus generated in {t1 - t0:.1f} s ({ids.size:,} tokens), RSS {rss_corpus:.0f} MB")
    queries = make_queries(ids, offs, args.queries, args.seed)

    t0, c0 = time.perf_counter(), time.process_time()
    index = index_of_ids(ids, offs)
    t_build, c_build = time.perf_counter() - t0, time.process_time() - c0
    arrays = index.to_arrays()
    n_bytes = sum(a.nbytes for a in arrays.values())
    print(
        f"build {t_build:.2f} s (CPU {c_build:.2f} s; os.getloadavg {os.getloadavg()[0]:.1f}): "
        f"vocabulary {index.vocabulary_size:,}, postings "
        f"{arrays['doc_ids'].size:,} ({arrays['doc_ids'].size / args.docs:.1f}/doc), "
        f"avgdl {index.avgdl:.1f}, serialised {n_bytes / 2**20:.0f} MB; "
        f"peak RSS so far {peak_rss_mb():.0f} MB (corpus alone {rss_corpus:.0f} MB)"
    )

    time_queries(index, queries[:5], args.k)  # warm-up
    times = time_queries(index, queries, args.k)
    print(
        f"top_k(k={args.k}) over {len(times)} queries: p50 {pct(times, 50):.2f} ms, "
        f"p90 {pct(times, 90):.2f} ms, p99 {pct(times, 99):.2f} ms, max {max(times):.2f} ms, "
        f"mean {np.mean(times):.2f} ms"
    )

    if not args.no_reload:
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "bm25.sqlite3")
            qpath = os.path.join(tmp, "queries.json")
            Path(qpath).write_text(json.dumps(queries))
            t0 = time.perf_counter()
            blobs = index.to_blobs()
            con = sqlite3.connect(db)
            con.execute("CREATE TABLE bm25 (name TEXT PRIMARY KEY, data BLOB)")
            con.executemany("INSERT INTO bm25 VALUES (?, ?)", blobs.items())
            con.commit()
            con.close()
            del blobs
            t_save = time.perf_counter() - t0
            out = subprocess.run(
                [sys.executable, __file__, "--reload-child", db, qpath, "--k", str(args.k)],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout)
            print(
                f"save to SQLite {t_save:.2f} s ({os.path.getsize(db) / 2**20:.0f} MB); fresh process: "
                f"SQLite read {r['sqlite_read_s']:.2f} s + from_blobs {r['from_blobs_s']:.2f} s, "
                f"RSS {r['rss_mb']:.0f} MB (peak {r['peak_rss_mb']:.0f} MB), "
                f"queries p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms"
            )

    if not args.no_ref:
        t0 = time.perf_counter()
        ref = LuceneBM25(docs)
        print(f"reference LuceneBM25 built in {time.perf_counter() - t0:.1f} s")
        ref_times, agree, max_rel = [], 0, 0.0
        sub = queries[: args.ref_queries]
        for q in sub:
            t0 = time.perf_counter()
            want_ids, want_scores = reference_top(ref, q, args.k)
            ref_times.append((time.perf_counter() - t0) * 1e3)
            hits = index.top_k(q, args.k)
            if [h.index for h in hits] == want_ids:
                agree += 1
            for h, w in zip(hits, want_scores):
                max_rel = max(max_rel, abs(h.score - w) / abs(w))
        print(
            f"reference p50 {pct(ref_times, 50):.0f} ms; top-{args.k} agreement "
            f"{agree}/{len(sub)} = {agree / len(sub):.0%}; max relative score diff {max_rel:.1e}; "
            f"peak RSS with the reference {peak_rss_mb():.0f} MB"
        )


if __name__ == "__main__":
    main()
