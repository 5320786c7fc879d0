"""Scale benchmark: build, reindex, start-up and question latency at 10k / 100k / 1M passages.

    python benchmarks/scale.py [--passages 10000,100000,1000000] [--json FILE]

Corpus: for each size, documents written as .txt files in a temporary folder (a title line,
~40 paragraphs of ~100 words, every third document with a heading every 4 paragraphs), made of
whole sentences sampled with a fixed seed from ../shared/eval/squad/articles.jsonl; questions are
sampled from its questions.jsonl. Each step runs in a fresh process, so sizes do not pollute
each other:

- build_s: `citebot index`'s path (index.reindex.rebuild_sync: read and parse the files in
  worker processes, analyse, BM25, stream the SQLite file) from raw text, no previous index;
  build_peak_rss_mb (the parent process) and build_worker_peak_rss_mb (the largest worker;
  two run at once on two cores).
- reindex_s: the same command again after one document changed (the incremental path:
  unchanged files are recognised by size and mtime and reused from the previous index file,
  which is copied and patched); reindex_peak_rss_mb.
- startup_s: a fresh process, from interpreter start to the first answer (imports, opening the
  index, loading BM25 arrays, one question).
- p50_ms / p99_ms: END-TO-END latency of `Answerer.ask(question, top_k=10)`, the code path of
  `citebot ask` (question analysis, BM25 top-10, SQLite fetch, sentence re-rank, decision),
  single thread, over --questions questions; peak_rss_mb is that process's peak RSS.
- reference_p50_ms, speedup, top10_identical: the BM25 STAGE compared with the exact
  reference. The Answerer re-ranks BM25's top 10 with sentence features, so its final order is
  intentionally not BM25's; what is compared is `BM25Index.top_k(terms, 10)` on the same analysed
  query terms the Answerer uses (`answerer.query_terms(q)[1]`) against rank_bm25
  (index.bm25.LuceneBM25, Lucene IDF) over the passages' term lists recomputed from the stored
  passage text, ranked by score then passage index (the documented tie rule). top10_identical is
  the share of questions whose top-10 ids and order are identical (scores are compared bitwise
  too). speedup = reference_p50_ms / bm25_p50_ms (the BM25 stage against the reference on the
  same questions). Reference questions: --ref-questions (30 at 1M, where one reference query
  takes ~2 s and the reference needs several GB).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_SQUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PARAGRAPHS_PER_DOC = 40
SEED = 0


def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def squad_files() -> tuple[Path, Path]:
    articles, questions = SHARED_SQUAD / "articles.jsonl", SHARED_SQUAD / "questions.jsonl"
    if not articles.exists() or not questions.exists():
        sys.exit(
            f"scale.py: the SQuAD sample is missing: expected {articles} and {questions} "
            "(the shared/ folder beside the repository)"
        )
    return articles, questions


def generate_corpus(n_passages: int, folder: Path, seed: int = SEED) -> int:
    """Write documents of ~100-word paragraphs; returns the number of documents."""
    from citebot.index.analysis import split_sentences

    articles, _ = squad_files()
    arts = [json.loads(line) for line in articles.open(encoding="utf-8")]
    pool = [s for a in arts for p in a["paragraphs"] for s in split_sentences(p)]
    lens = [len(s.split()) for s in pool]
    titles = [a["title"] for a in arts]
    rng = random.Random(seed)
    n_docs = (n_passages + PARAGRAPHS_PER_DOC - 1) // PARAGRAPHS_PER_DOC
    for d in range(n_docs):
        k = min(PARAGRAPHS_PER_DOC, n_passages - d * PARAGRAPHS_PER_DOC)
        lines = [f"{rng.choice(titles)} notes {d}"]
        headings = d % 3 == 0
        for j in range(k):
            if headings and j % 4 == 0:
                lines.append(f"Part {j // 4 + 1} on {rng.choice(titles)}")
            words, sentences = 0, []
            while words < 90:
                i = rng.randrange(len(pool))
                sentences.append(pool[i])
                words += lens[i]
            lines.append(" ".join(sentences))
        sub = folder / f"{d // 1000:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc{d:07d}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return n_docs


def change_one_document(folder: Path) -> None:
    """Edit one document in the middle of the corpus (append a sentence to a paragraph)."""
    files = sorted(folder.rglob("*.txt"))
    path = files[len(files) // 2]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + " This paragraph was edited for the reindex benchmark.\n", encoding="utf-8")


def load_questions(n: int, seed: int = SEED) -> list[str]:
    _, questions = squad_files()
    qs = [json.loads(line)["question"] for line in questions.open(encoding="utf-8")]
    random.Random(seed + 1).shuffle(qs)
    return qs[:n]


# ---------------------------------------------------------------------------------------------
# Children (each in a fresh process)


def child_build(corpus: str, db: str) -> dict:
    import resource

    from citebot.index.build.params import IndexParams
    from citebot.index.build.reindex import rebuild_sync

    t0 = time.perf_counter()
    result = rebuild_sync([Path(corpus)], Path(db), IndexParams())
    return {
        "seconds": time.perf_counter() - t0,
        "passages": result.info.passages,
        "documents": result.info.documents,
        "peak_rss_mb": peak_rss_mb(),
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
        "incremental": result.incremental,
    }


def child_query(db: str, n_questions: int, started_at: float) -> dict:
    import asyncio

    from citebot.index.answering.answerer import Answerer
    from citebot.index.indexfile import IndexReader

    questions = load_questions(n_questions + 1)

    async def run() -> dict:
        reader = await IndexReader.open(Path(db))
        answerer = Answerer(reader)
        await answerer.ask(questions[0], top_k=10)
        startup = time.time() - started_at
        times, bm25_times = [], []
        for q in questions[1:]:
            t0 = time.perf_counter()
            await answerer.ask(q, top_k=10)
            times.append((time.perf_counter() - t0) * 1e3)
        for q in questions[1:]:
            terms = answerer.query_terms(q)[1]
            t0 = time.perf_counter()
            reader.bm25.top_k(terms, 10)
            bm25_times.append((time.perf_counter() - t0) * 1e3)
        await reader.close()
        return {
            "startup_s": startup,
            "p50_ms": pct(times, 50),
            "p99_ms": pct(times, 99),
            "bm25_p50_ms": pct(bm25_times, 50),
            "bm25_p99_ms": pct(bm25_times, 99),
            "peak_rss_mb": peak_rss_mb(),
        }

    return asyncio.run(run())


def child_reference(db: str, n_questions: int) -> dict:
    """rank_bm25 over term lists recomputed from the stored passage text vs the index's top_k."""
    import asyncio
    import sqlite3

    import numpy as np

    from citebot.index.analysis import AcronymExpander, Analyzer
    from citebot.index.answering.answerer import Answerer
    from citebot.index.indexfile import IndexReader
    from citebot.index.ingest.passages import Citation, Passage
    from citebot.index.ranking.reference import LuceneBM25

    questions = load_questions(n_questions + 1)[1:]

    async def open_reader():
        return await IndexReader.open(Path(db))

    reader = asyncio.run(open_reader())
    answerer = Answerer(reader)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    cw = int(reader.info.meta["context_weight"])
    fast, expand = Analyzer(), AcronymExpander(reader.acronyms).expand
    by_row: dict[int, list[str]] = {}
    rows = conn.execute(
        "SELECT p.idx, p.text, p.section, d.title, d.author, d.path FROM passages p JOIN documents d ON d.id = p.doc_id"
    )
    for idx, text, section, title, author, path in rows:
        p = Passage(
            "",
            "",
            0,
            text,
            Citation(document=title, path=path, paragraphs=(1, 1), start=0, end=0, section=section, author=author),
        )
        by_row[idx] = expand(fast.terms(text)) + expand(fast.terms(p.context)) * cw
    # BM25 position -> passage row (after an incremental reindex rows are not in position order).
    dtype, data = conn.execute("SELECT dtype, data FROM bm25_arrays WHERE name = 'passage_rows'").fetchone()
    corpus = [by_row.pop(int(r)) for r in np.frombuffer(data, dtype=np.dtype(dtype))]
    conn.close()
    ref = LuceneBM25(corpus, k1=reader.bm25.params.k1, b=reader.bm25.params.b)
    del corpus
    same, times = 0, []
    for q in questions:
        terms = answerer.query_terms(q)[1]
        t0 = time.perf_counter()
        scores = ref.get_scores(terms)
        cand = np.flatnonzero(scores > 0)
        order = np.lexsort((cand, -scores[cand]))[:10]
        top = cand[order]
        times.append((time.perf_counter() - t0) * 1e3)
        hits = reader.bm25.top_k(terms, 10)
        same += [h.index for h in hits] == top.tolist() and [h.score for h in hits] == scores[top].tolist()
    asyncio.run(reader.close())
    return {
        "reference_p50_ms": pct(times, 50),
        "top10_identical": same / len(questions),
        "ref_questions": len(questions),
    }


def run_child(*args: str) -> dict:
    started = time.time()
    out = subprocess.run([sys.executable, __file__, "--child", *args, repr(started)], capture_output=True, text=True)
    if out.returncode:  # the child's own error, not just "exit status 1" (a 10M build failed so)
        sys.exit(f"{args[0]} step failed (exit {out.returncode}):\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------


def measure(size: int, workdir: Path, n_questions: int, ref_questions: int) -> dict:
    """One size's row; ref_questions 0 skips the rank_bm25 check (its figures are then None)."""
    folder = workdir / f"corpus-{size}"
    db = workdir / f"index-{size}.sqlite3"
    shutil.rmtree(folder, ignore_errors=True)
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    n_docs = generate_corpus(size, folder)
    print(
        f"  {size:,} passages: generated {n_docs:,} documents in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    build = run_child("build", str(folder), str(db))
    print(f"  build {build['seconds']:.1f} s", file=sys.stderr, flush=True)
    index_mb = db.stat().st_size / 2**20
    change_one_document(folder)
    reindex = run_child("build", str(folder), str(db))
    print(f"  reindex {reindex['seconds']:.1f} s", file=sys.stderr, flush=True)
    query = run_child("query", str(db), str(n_questions))
    print(f"  query p50 {query['p50_ms']:.2f} ms", file=sys.stderr, flush=True)
    ref = (
        run_child("reference", str(db), str(ref_questions))
        if ref_questions
        else {"reference_p50_ms": None, "top10_identical": None, "ref_questions": 0}
    )
    ref_ms = ref["reference_p50_ms"]  # None when skipped
    shutil.rmtree(folder, ignore_errors=True)
    db.unlink(missing_ok=True)
    return {
        "passages": build["passages"],
        "documents": build["documents"],
        "build_s": round(build["seconds"], 2),
        "index_mb": round(index_mb, 1),
        "reindex_s": round(reindex["seconds"], 2),
        "startup_s": round(query["startup_s"], 2),
        "p50_ms": round(query["p50_ms"], 3),
        "p99_ms": round(query["p99_ms"], 3),
        "bm25_p50_ms": round(query["bm25_p50_ms"], 3),
        "bm25_p99_ms": round(query["bm25_p99_ms"], 3),
        "peak_rss_mb": round(query["peak_rss_mb"], 0),
        "build_peak_rss_mb": round(build["peak_rss_mb"], 0),
        "build_worker_peak_rss_mb": round(build["worker_peak_rss_mb"], 0),
        "reindex_incremental": reindex["incremental"],
        "reindex_peak_rss_mb": round(reindex["peak_rss_mb"], 0),
        "reference_p50_ms": ref_ms and round(ref_ms, 2),
        "speedup": ref_ms and round(ref_ms / query["bm25_p50_ms"], 1),
        "top10_identical": ref["top10_identical"],
        "ref_questions": ref["ref_questions"],
    }


COLUMNS = [
    ("passages", "{:,}"),
    ("build_s", "{:.1f}"),
    ("reindex_s", "{:.1f}"),
    ("index_mb", "{:.0f}"),
    ("startup_s", "{:.2f}"),
    ("p50_ms", "{:.2f}"),
    ("p99_ms", "{:.2f}"),
    ("bm25_p50_ms", "{:.2f}"),
    ("bm25_p99_ms", "{:.2f}"),
    ("peak_rss_mb", "{:.0f}"),
    ("build_peak_rss_mb", "{:.0f}"),
    ("build_worker_peak_rss_mb", "{:.0f}"),
    ("reindex_peak_rss_mb", "{:.0f}"),
    ("reference_p50_ms", "{:.1f}"),
    ("speedup", "{:.0f}x"),
    ("top10_identical", "{:.0%}"),
]


def render(rows: list[dict]) -> str:
    header = (
        "p50/p99: end-to-end Answerer.ask(top_k=10) (BM25 top-10 + sentence re-rank, whose order is "
        "intentionally not BM25's);\nbm25_*, reference, speedup, top10_identical: the BM25 stage "
        "(BM25Index.top_k on answerer.query_terms(q)[1]) vs rank_bm25 (Lucene IDF), tie rule: score "
        "desc, then passage index.\n"
    )
    names = [c for c, _ in COLUMNS]
    cells = [["-" if r[c] is None else fmt.format(r[c]) for c, fmt in COLUMNS] for r in rows]
    widths = [max(len(n), *(len(row[i]) for row in cells)) for i, n in enumerate(names)]
    lines = [" | ".join(n.rjust(w) for n, w in zip(names, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return header + "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *args, started = sys.argv[2:]
        if kind == "build":
            out = child_build(*args)
        elif kind == "query":
            out = child_query(args[0], int(args[1]), float(started))
        else:
            out = child_reference(args[0], int(args[1]))
        print(json.dumps(out))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", default="10000,100000,1000000", help="comma-separated corpus sizes")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as a JSON list")
    ap.add_argument("--questions", type=int, default=300, help="questions timed per size (>= 200)")
    ap.add_argument(
        "--ref-questions",
        type=int,
        default=0,
        help="questions checked against rank_bm25 (default: 200, 30 at >= 1M passages)",
    )
    ap.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the rank_bm25 check (at 10M passages the reference would need tens of GB)",
    )
    ap.add_argument("--workdir", help="where to write corpora and indexes (default: a temp folder)")
    args = ap.parse_args()
    squad_files()
    sizes = [int(s.replace("_", "")) for s in args.passages.split(",") if s.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="citebot-scale-", dir=args.workdir) as tmp:
        for size in sizes:
            ref_q = 0 if args.no_reference else args.ref_questions or (30 if size >= 1_000_000 else 200)
            print(f"measuring {size:,} passages (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
            rows.append(measure(size, Path(tmp), args.questions, ref_q))
    print(render(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
