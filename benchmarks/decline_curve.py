"""How the "not in my sources" rule trades declining off-topic questions against answering.

    python benchmarks/decline_curve.py [--eval ../shared/eval] [--dump FILE] [--report SETTING]

Asks every question once through the real Answerer (config.toml's settings: typos corrected, the
re-rank as configured) and keeps what the rule looks at: each question term's document
frequency and English rank, whether the chosen passage holds it, the BM25 margin. It then
replays the rule (`index.decline`, the functions the Answerer calls) for a grid of its
parameters, which is cheap, and prints the share of each set declined.

The split is fixed. Dev (the part the rule is chosen on): SQuAD questions of even-numbered
articles (`decline_sets.half_of`) and the odd-numbered lines (1st, 3rd, ...) of the sets in
tests/eval. Test (the part it is reported on): SQuAD questions of odd-numbered articles, the
even-numbered lines of tests/eval, and the shared seed sets (seed-dev, seed-dev-unanswerable).
For each half:

- `off-topic`: SQuAD questions asked against the bundled article (corpus/) alone;
- `SQuAD answerable`: the same questions against the 24 SQuAD articles as one corpus;
- `answerable`: questions the bundled article answers (casual and typo sets; + seed-dev in test);
- `unanswerable`: questions about the article's subject that it does not answer;
- `SQuAD off-topic`: the bundled article's questions (all of the above) against SQuAD.

A setting is min_coverage,weak_coverage,min_margin,english_prior,common_rank.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from decline_sets import DEFAULT_EVAL, half_of  # noqa: E402

from citebot.bot.settings import load_settings  # noqa: E402
from citebot.index.answering.answerer import Answerer, AnswerParams  # noqa: E402
from citebot.index.answering.decline import answers, question_coverage, term_weight  # noqa: E402
from citebot.index.build.reindex import rebuild_sync  # noqa: E402
from citebot.index.evaluation import EvalQuestion, load_eval_set  # noqa: E402
from citebot.index.indexfile import IndexReader  # noqa: E402

OWN_SETS = ROOT / "tests" / "eval"
GRID = {
    "min_coverage": tuple(round(0.25 + 0.01 * i, 2) for i in range(31)),
    "weak_coverage": (0.2, 0.3),
    "min_margin": (1.5, float("inf")),
    "english_prior": (0.0, 100.0, 300.0, 1000.0),
    "common_rank": (0.0, 50.0, 100.0, 200.0),
}


async def _evidence(built, questions: list[EvalQuestion], params: AnswerParams) -> list[dict]:
    """What the decline rule sees for each question, asked against an index of `built` (sources,
    index parameters), built as `citebot index` does."""
    with tempfile.TemporaryDirectory(prefix="citebot-curve-") as tmp:
        db = Path(tmp) / "curve.sqlite3"
        await asyncio.to_thread(rebuild_sync, built[0], db, built[1])
        reader = await IndexReader.open(db)
        try:
            answerer = Answerer(reader, params)
            bm25 = reader.bm25
            rows = []
            for q in questions:
                answer = await answerer.ask(q.question, params.top_k)
                row: dict = {
                    "q": q.question,
                    "n": bm25.n_docs,
                    "corrections": len(answer.corrections),
                    "answered": answer.answered,
                }
                if answer.hits:
                    ranks = answerer.analyse(q.question).ranks
                    terms = list(dict.fromkeys(answer.terms))
                    held = answerer.held_terms(terms, answer.hits[0].passage)
                    row["terms"] = [[t, bm25.df(t), ranks.get(t), t in held] for t in terms]
                    row["margin"] = min(answer.margin, 1e300)
                rows.append(row)
            return rows
        finally:
            await reader.close()


def _lines(path: Path, half: str) -> list[EvalQuestion]:
    """The odd-numbered lines of a tests/eval set for 'dev', the even-numbered ones for 'test'."""
    return load_eval_set(path).questions[0 if half == "dev" else 1 :: 2]


async def collect(eval_dir: Path) -> dict[str, list[dict]]:
    settings = load_settings(ROOT / "config.toml")
    params = settings.answer
    squad = load_eval_set(eval_dir / "squad")
    bundled = ([ROOT / "corpus"], settings.index)
    squad_index = (list(squad.documents), settings.index)
    out: dict[str, list[dict]] = {}
    for half in ("dev", "test"):
        asked = [q for q in squad.questions if half_of(q.document.split("/")[1]) == half]
        answerable = _lines(OWN_SETS / "casual-answerable.jsonl", half) + _lines(
            OWN_SETS / "typos-answerable.jsonl", half
        )
        unanswerable = _lines(OWN_SETS / "ontopic-unanswerable.jsonl", half)
        if half == "test":
            answerable += load_eval_set(eval_dir / "seed-dev.jsonl").questions
            unanswerable += load_eval_set(eval_dir / "seed-dev-unanswerable.jsonl").questions
        out[f"{half} off-topic"] = await _evidence(bundled, asked, params)
        out[f"{half} SQuAD answerable"] = await _evidence(squad_index, asked, params)
        out[f"{half} answerable"] = await _evidence(bundled, answerable, params)
        out[f"{half} unanswerable"] = await _evidence(bundled, unanswerable, params)
        out[f"{half} SQuAD off-topic"] = await _evidence(squad_index, answerable + unanswerable, params)
    return out


def declined(row: dict, params: AnswerParams) -> bool:
    """The Answerer's decision for one question under `params` (from its evidence)."""
    if "terms" not in row:
        return True
    df = {t: d for t, d, _, _ in row["terms"]}
    rank = {t: r for t, _, r, _ in row["terms"]}
    held = {t for t, _, _, h in row["terms"] if h}
    coverage = question_coverage(
        df, held, lambda t: term_weight(row["n"], df[t], rank[t], params.english_prior, params.common_rank)
    )
    return not answers(coverage, row["margin"], params.min_coverage, params.weak_coverage, params.min_margin)


def rates(data: dict[str, list[dict]], params: AnswerParams) -> dict[str, float]:
    return {name: sum(declined(r, params) for r in rows) / len(rows) for name, rows in data.items()}


DEV_SETS = ("dev off-topic", "dev answerable", "dev SQuAD answerable")


def dev_error(r: dict[str, float], sizes: dict[str, int]) -> tuple[float, float]:
    """What the rule is chosen by: the mean of its three error rates on dev -- off-topic questions
    answered, the bundled article's answerable questions declined, SQuAD's declined -- so that
    the article and SQuAD count alike, whatever their sizes; then the error over all those
    questions together, to break ties."""
    errors = [1 - r[DEV_SETS[0]], r[DEV_SETS[1]], r[DEV_SETS[2]]]
    pooled = sum(e * sizes[n] for e, n in zip(errors, DEV_SETS)) / sum(sizes[n] for n in DEV_SETS)
    return sum(errors) / 3, pooled


def _setting(text: str) -> AnswerParams:
    values = [float(v) for v in text.split(",")]
    return replace(AnswerParams(), **dict(zip(GRID, values)))


def _label(p: AnswerParams) -> str:
    return ",".join(f"{getattr(p, k):g}" for k in GRID)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--dump", type=Path, help="keep the evidence in this JSON file (and reuse it if present)")
    parser.add_argument("--report", action="append", help="one setting to print (repeatable); default: the grid")
    parser.add_argument(
        "--frontier",
        action="store_true",
        help="print, for each off-topic target, the dev-best setting and its test figures",
    )
    parser.add_argument(
        "--choose",
        action="store_true",
        help="print the settings with the least dev error among those within the targets on dev (see `dev_error`)",
    )
    args = parser.parse_args(argv)
    if args.dump and args.dump.is_file():
        data = json.loads(args.dump.read_text(encoding="utf-8"))
    else:
        data = asyncio.run(collect(args.eval))
        if args.dump:
            args.dump.write_text(json.dumps(data), encoding="utf-8")
    names = list(data)
    print("questions: " + ", ".join(f"{n} {len(data[n])}" for n in names))
    if args.report:
        settings = [_setting(s) for s in args.report]
    else:
        settings = [
            replace(AnswerParams(), **dict(zip(GRID, values)))
            for values in itertools.product(*GRID.values())
            if values[1] <= values[0]
        ]
    results = [(p, rates(data, p)) for p in settings]
    print("declined | setting " + ",".join(GRID) + " | " + " | ".join(names))
    if args.choose:
        ok = [
            (p, r)
            for p, r in results
            if r["dev off-topic"] >= 0.95 and r["dev SQuAD answerable"] <= 0.05 and r["dev answerable"] <= 0.05
        ]
        sizes = {n: len(rows) for n, rows in data.items()}
        ok.sort(key=lambda x: dev_error(x[1], sizes))
        for p, r in ok[:15]:
            print(f"{_label(p)} | dev error {dev_error(r, sizes)[0]:.4f} | " + " | ".join(f"{r[n]:.4f}" for n in names))
        return 0
    if not args.frontier:
        for p, r in results:
            print(f"{_label(p)} | " + " | ".join(f"{r[n]:.4f}" for n in names))
        return 0
    for target in (0.90, 0.93, 0.95, 0.96, 0.97, 0.98, 0.99):
        ok = [(p, r) for p, r in results if r["dev off-topic"] >= target]
        if not ok:
            print(f"dev off-topic >= {target}: none")
            continue
        p, r = min(
            ok,
            key=lambda x: (
                max(x[1]["dev answerable"], x[1]["dev SQuAD answerable"]),
                x[1]["dev SQuAD answerable"],
                -x[1]["dev off-topic"],
            ),
        )
        print(f"dev off-topic >= {target}: {_label(p)} | " + " | ".join(f"{r[n]:.4f}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
