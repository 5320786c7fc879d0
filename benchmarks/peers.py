"""Citebot beside other BM25 engines (bm25s, tantivy) on the same corpus and the same questions.

    python benchmarks/peers.py [--passages N] [--corpus synthetic|realistic|both] [--json FILE]
    (the peers: pip install -e ".[bench]")

Why: scale.py says how fast Citebot is; this says whether that is good, against two engines
people would otherwise reach for. Corpora: scale.py's (SQuAD sentences; its vocabulary saturates
at ~15,000 words) and realistic_corpus.py's (the same with Zipf-drawn made-up words, a vocabulary
that grows by Heaps' law, as real text's does). Questions: scale.py's sampler. Every engine builds
in a fresh process and serves in another, one engine at a time (nothing else competes for the two
cores), so no engine's caches or heap pollute another's figures:

- citebot: scale.py's own children - build = `citebot index`'s path (read, parse, analyse, BM25,
  the SQLite file); serving = END-TO-END `Answerer.ask(q, top_k=10)` (question analysis, BM25,
  SQLite fetch, sentence re-rank, decision), so it does more per question than the peers.
  top10_identical: its BM25 stage against the rank_bm25 reference (scale.child_reference) on
  --ref-questions questions.
- bm25s 0.3.16 (numba backend if numba is importable, else numpy; its English stop words, no
  stemmer; k1/b as Citebot's): build = read the files, tokenise, index, save; serving = load,
  then per question tokenise + retrieve(k=10), one query per call, one thread.
- tantivy 0.27 (the `en_stem` pipeline - simple tokenizer, remove_long(40), lowercase, English
  stemmer - plus English stop words; its own BM25, k1=1.2 b=0.75): build = read, add, commit,
  wait for merges; serving = open, then per question parse_query_lenient + search(10) + the ids.

The peers index each paragraph of the same files (the title line and the 'Part N' headings are
not passages); Citebot also indexes a passage's title and section context, as it does in use.
startup_s: fresh process start to the first answer. p50/p99: the other questions. bm25_p50_ms /
bm25_p99_ms: Citebot's BM25 stage alone (`BM25Index.top_k` on the analysed terms; null for the
peers, whose whole query is that stage). serving_rss_mb:
the serving process's peak RSS; build_rss_mb: the building process's peak RSS (for Citebot the
larger of its own and its parse workers', RUSAGE_CHILDREN). Ratios are Citebot / peer (< 1: Citebot
is faster or smaller).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realistic_corpus  # noqa: E402
import scale  # noqa: E402

GENERATORS = {"synthetic": scale.generate_corpus, "realistic": realistic_corpus.generate_corpus}
PEERS = ("bm25s", "tantivy")
TANTIVY_TOKENIZER = "en_stem_stop"
INSTALL_HINT = 'pip install -e ".[bench]"'


def read_passages(folder: Path) -> list[str]:
    """The paragraphs of the generated documents, in file order (not titles or headings)."""
    out: list[str] = []
    for path in sorted(folder.rglob("*.txt")):
        blocks = path.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
        out += [b for b in blocks[1:] if not b.startswith("Part ")]
    return out


def distinct_words(folder: Path) -> int:
    """Distinct lower-case words of the generated files (the vocabulary the corpora differ in)."""
    word, seen = re.compile(r"[a-z]+"), set()
    for path in folder.rglob("*.txt"):
        seen.update(word.findall(path.read_text(encoding="utf-8").lower()))
    return len(seen)


def citebot_k1_b() -> tuple[float, float]:
    from citebot.index.build.params import IndexParams

    params = IndexParams().bm25
    return params.k1, params.b


def build_rss_mb() -> float:
    """Peak RSS of this process (and of any children it waited for)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


# ---------------------------------------------------------------------------------------------
# Children (each in a fresh process)


def bm25s_backend() -> str:
    return "numba" if importlib.util.find_spec("numba") else "numpy"


def child_bm25s_build(folder: str, out: str) -> dict:
    import bm25s

    t0 = time.perf_counter()
    passages = read_passages(Path(folder))
    k1, b = citebot_k1_b()
    tokens = bm25s.tokenize(passages, stopwords="en", show_progress=False)
    del passages
    retriever = bm25s.BM25(k1=k1, b=b, backend=bm25s_backend())
    retriever.index(tokens, show_progress=False)
    retriever.save(out)
    return {"build_s": time.perf_counter() - t0, "build_rss_mb": build_rss_mb(), "passages": len(tokens.ids)}


def child_bm25s_query(index_dir: str, n_questions: int, started_at: float) -> dict:
    import bm25s

    questions = scale.load_questions(n_questions + 1)
    retriever = bm25s.BM25.load(index_dir, show_progress=False)

    def search(q: str) -> list[int]:
        tokens = bm25s.tokenize([q], stopwords="en", return_ids=False, show_progress=False)
        if not tokens[0]:
            return []
        docs, _ = retriever.retrieve(tokens, k=10, show_progress=False, n_threads=1)
        return docs[0].tolist()

    search(questions[0])
    return timed(search, questions[1:], time.time() - started_at, {"backend": retriever.backend})


def tantivy_analyzer():
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def tantivy_schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", stored=True)
    builder.add_text_field("body", stored=False, tokenizer_name=TANTIVY_TOKENIZER)
    return builder.build()


def child_tantivy_build(folder: str, out: str) -> dict:
    import tantivy

    t0 = time.perf_counter()
    passages = read_passages(Path(folder))
    Path(out).mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(tantivy_schema(), path=out)
    index.register_tokenizer(TANTIVY_TOKENIZER, tantivy_analyzer())
    writer = index.writer()
    for i, text in enumerate(passages):
        writer.add_document(tantivy.Document(id=i, body=text))
    writer.commit()
    writer.wait_merging_threads()
    return {"build_s": time.perf_counter() - t0, "build_rss_mb": build_rss_mb(), "passages": len(passages)}


def child_tantivy_query(index_dir: str, n_questions: int, started_at: float) -> dict:
    import tantivy

    questions = scale.load_questions(n_questions + 1)
    index = tantivy.Index.open(index_dir)
    index.register_tokenizer(TANTIVY_TOKENIZER, tantivy_analyzer())
    searcher = index.searcher()

    def search(q: str) -> list[int]:
        query, _errors = index.parse_query_lenient(q, ["body"])
        return [searcher.doc(addr)["id"][0] for _score, addr in searcher.search(query, 10).hits]

    search(questions[0])
    return timed(search, questions[1:], time.time() - started_at, {})


def timed(search, questions: list[str], startup_s: float, extra: dict) -> dict:
    times = []
    for q in questions:
        t0 = time.perf_counter()
        search(q)
        times.append((time.perf_counter() - t0) * 1e3)
    return {
        "startup_s": startup_s,
        "p50_ms": scale.pct(times, 50),
        "p99_ms": scale.pct(times, 99),
        "serving_rss_mb": scale.peak_rss_mb(),
        **extra,
    }


CHILDREN = {
    "bm25s-build": child_bm25s_build,
    "bm25s-query": child_bm25s_query,
    "tantivy-build": child_tantivy_build,
    "tantivy-query": child_tantivy_query,
}


def run_child(kind: str, *args: str) -> dict:
    started = time.time()
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, *args, repr(started)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------


def measure_citebot(folder: Path, work: Path, corpus: str, n_questions: int, ref_questions: int) -> dict:
    db = work / "citebot.sqlite3"
    build = scale.run_child("build", str(folder), str(db))
    query = scale.run_child("query", str(db), str(n_questions))
    ref = scale.run_child("reference", str(db), str(ref_questions))
    db.unlink(missing_ok=True)
    return {
        "engine": "citebot",
        "corpus": corpus,
        "passages": build["passages"],
        "build_s": build["seconds"],
        "startup_s": query["startup_s"],
        "p50_ms": query["p50_ms"],
        "p99_ms": query["p99_ms"],
        "bm25_p50_ms": query["bm25_p50_ms"],
        "bm25_p99_ms": query["bm25_p99_ms"],
        "serving_rss_mb": query["peak_rss_mb"],
        "build_rss_mb": max(build["peak_rss_mb"], build["worker_peak_rss_mb"]),
        "top10_identical": ref["top10_identical"],
    }


def measure_peer(engine: str, folder: Path, work: Path, corpus: str, n_questions: int) -> dict:
    out = work / f"{engine}-index"
    build = run_child(f"{engine}-build", str(folder), str(out))
    query = run_child(f"{engine}-query", str(out), str(n_questions))
    shutil.rmtree(out, ignore_errors=True)
    return {
        "engine": engine,
        "corpus": corpus,
        "passages": build["passages"],
        "build_s": build["build_s"],
        "startup_s": query["startup_s"],
        "p50_ms": query["p50_ms"],
        "p99_ms": query["p99_ms"],
        "bm25_p50_ms": None,
        "bm25_p99_ms": None,
        "serving_rss_mb": query["serving_rss_mb"],
        "build_rss_mb": build["build_rss_mb"],
        "top10_identical": None,
    }


COLUMNS = [
    ("engine", "{}"),
    ("corpus", "{}"),
    ("passages", "{:,}"),
    ("build_s", "{:.1f}"),
    ("startup_s", "{:.2f}"),
    ("p50_ms", "{:.2f}"),
    ("p99_ms", "{:.2f}"),
    ("bm25_p50_ms", "{:.2f}"),
    ("bm25_p99_ms", "{:.2f}"),
    ("serving_rss_mb", "{:.0f}"),
    ("build_rss_mb", "{:.0f}"),
    ("top10_identical", "{:.0%}"),
]
RATIOS = ["build_s", "startup_s", "p50_ms", "p99_ms", "serving_rss_mb", "build_rss_mb"]


def table(names: list[str], cells: list[list[str]]) -> str:
    widths = [max(len(n), *(len(row[i]) for row in cells)) for i, n in enumerate(names)]
    lines = [" | ".join(n.rjust(w) for n, w in zip(names, widths)), "-+-".join("-" * w for w in widths)]
    return "\n".join(lines + [" | ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells])


def render(rows: list[dict]) -> str:
    cells = [[("-" if r[c] is None else fmt.format(r[c])) for c, fmt in COLUMNS] for r in rows]
    out = [table([c for c, _ in COLUMNS], cells)]
    ratio_rows = []
    for r in rows:
        if r["engine"] == "citebot":
            continue
        ours = next((c for c in rows if c["engine"] == "citebot" and c["corpus"] == r["corpus"]), None)
        if ours is not None:
            ratio_rows.append(
                [f"citebot/{r['engine']}", r["corpus"]]
                + [f"{ours[k] / r[k]:.2f}" if r[k] else "-" for k in RATIOS]
                # Citebot's BM25 stage alone against the peer's whole query (goal: <= 0.5 x bm25s's p99).
                + [f"{ours['bm25_p99_ms'] / r['p99_ms']:.2f}" if ours.get("bm25_p99_ms") and r["p99_ms"] else "-"]
            )
    if ratio_rows:
        out.append("\nRatios Citebot / peer (< 1: Citebot faster or smaller):")
        out.append(table(["ratio", "corpus", *RATIOS, "bm25_p99_ms/p99_ms"], ratio_rows))
    return "\n".join(out)


def installed_peers(wanted: list[str]) -> list[str]:
    found = []
    for engine in wanted:
        if importlib.util.find_spec(engine) is None:
            print(f"peers.py: {engine} is not installed, skipped (install the peers: {INSTALL_HINT})", flush=True)
        else:
            found.append(engine)
    return found


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *args, started = sys.argv[2:]
        fn = CHILDREN[kind]
        out = fn(args[0], int(args[1]), float(started)) if kind.endswith("-query") else fn(*args)
        print(json.dumps(out))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=100_000, help="corpus size in passages")
    ap.add_argument("--corpus", choices=["synthetic", "realistic", "both"], default="both")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as a JSON list")
    ap.add_argument("--questions", type=int, default=300, help="questions timed per engine")
    ap.add_argument(
        "--ref-questions", type=int, default=100, help="questions of Citebot's BM25 stage checked against rank_bm25"
    )
    ap.add_argument("--engines", default="citebot,bm25s,tantivy", help="comma-separated subset")
    ap.add_argument("--workdir", help="where to write corpora and indexes (default: a temp folder)")
    args = ap.parse_args()
    scale.squad_files()
    if args.json and Path(args.json).exists():
        sys.exit(f"peers.py: {args.json} exists; not overwriting it")
    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(wanted) - {"citebot", *PEERS}
    if unknown:
        sys.exit(f"peers.py: unknown engine(s) {', '.join(sorted(unknown))}; choose from citebot, bm25s, tantivy")
    peers = installed_peers([e for e in wanted if e in PEERS])
    corpora = ["synthetic", "realistic"] if args.corpus == "both" else [args.corpus]
    rows = []
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)  # a new folder is fine; never emptied
    with tempfile.TemporaryDirectory(prefix="citebot-peers-", dir=args.workdir) as tmp:
        work = Path(tmp)
        for corpus in corpora:
            folder = work / f"corpus-{corpus}"
            t0 = time.perf_counter()
            GENERATORS[corpus](args.passages, folder)
            print(
                f"{corpus}: {args.passages:,} passages generated in {time.perf_counter() - t0:.1f} s, "
                f"{distinct_words(folder):,} distinct words (load {os.getloadavg()[0]:.1f})",
                file=sys.stderr,
                flush=True,
            )
            if "citebot" in wanted:
                rows.append(measure_citebot(folder, work, corpus, args.questions, args.ref_questions))
                print(f"  citebot done: p50 {rows[-1]['p50_ms']:.2f} ms", file=sys.stderr, flush=True)
            for engine in peers:
                rows.append(measure_peer(engine, folder, work, corpus, args.questions))
                print(f"  {engine} done: p50 {rows[-1]['p50_ms']:.2f} ms", file=sys.stderr, flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    print(render(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
