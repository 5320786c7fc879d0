"""Choose the follow-up weights (index/answering/followup.py) on half of tests/eval/followups.jsonl.

Builds an index of the bundled article, then asks every follow-up of the set with each weight
combination of a small grid, and prints hit@1 on the tuning half (odd lines, 1st, 3rd, ...) and
on the held-out half (even lines), beside the follow-up asked alone and with its earlier
questions pasted in front. `--show` lists each question's top paragraph with the chosen weights.

    python benchmarks/followup_weights.py [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from citebot.index.answering.answerer import Answerer  # noqa: E402
from citebot.index.answering.followup import FollowUpWeights  # noqa: E402
from citebot.index.build.reindex import rebuild_sync  # noqa: E402
from citebot.index.evaluation import EvalQuestion, load_eval_set  # noqa: E402
from citebot.index.indexfile import IndexReader  # noqa: E402

SET = ROOT / "tests" / "eval" / "followups.jsonl"
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"


def top_right(answer, q: EvalQuestion) -> bool:
    return bool(answer.hits) and any(answer.hits[0].passage.citation.covers(g) for g in q.gold)


async def hit1(answerer: Answerer, questions: list[EvalQuestion], mode: str) -> float:
    right = 0
    for q in questions:
        if mode == "context":
            answer = await answerer.ask(q.question, 10, q.context)
        elif mode == "pasted":
            answer = await answerer.ask(" ".join([*q.context, q.question]), 10)
        else:
            answer = await answerer.ask(q.question, 10)
        right += top_right(answer, q)
    return right / len(questions)


async def main() -> None:
    from citebot.bot.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list each question's top paragraph")
    args = parser.parse_args()
    questions = load_eval_set(SET).questions
    tune, held = questions[0::2], questions[1::2]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        shutil.copy(ARTICLE, corpus / ARTICLE.name)
        db = Path(tmp) / "index.sqlite3"
        settings = Settings(corpus_paths=(corpus,), db_path=db, state_db_path=Path(tmp) / "s")
        rebuild_sync([corpus], db, settings.index)
        reader = await IndexReader.open(db)
        try:
            base = Answerer(reader, settings.answer)
            for mode in ("alone", "pasted"):
                print(
                    f"{mode:>8}: tune {await hit1(base, tune, mode):.3f}  held-out {await hit1(base, held, mode):.3f}"
                )
            results = []
            grid = itertools.product((0.3, 0.4, 0.5, 0.6, 0.75), (0.0, 0.05, 0.1, 0.15, 0.25), (0.5, 0.75), (0.75,))
            for wq, wp, decay, alone in grid:
                weights = FollowUpWeights(question=wq, passage=wp, decay=decay, self_contained=min(alone, 1.0))
                answerer = Answerer(reader, settings.answer, follow_up=weights)
                results.append((await hit1(answerer, tune, "context"), await hit1(answerer, held, "context"), weights))
            for t, h, w in sorted(results, key=lambda r: -r[0])[:20]:
                print(
                    f"question {w.question:.2f} passage {w.passage:.2f} decay {w.decay:.2f} "
                    f"self_contained {w.self_contained:.2f}: tune {t:.3f}  held-out {h:.3f}"
                )
            chosen = FollowUpWeights()
            print(
                f"chosen (FollowUpWeights defaults) {chosen}: tune "
                f"{await hit1(Answerer(reader, settings.answer, follow_up=chosen), tune, 'context'):.3f}  held-out "
                f"{await hit1(Answerer(reader, settings.answer, follow_up=chosen), held, 'context'):.3f}"
            )
            if args.show:
                answerer = Answerer(reader, settings.answer, follow_up=chosen)
                for n, q in enumerate(questions, start=1):
                    answer = await answerer.ask(q.question, 3, q.context)
                    tops = [h.passage.citation.paragraphs for h in answer.hits]
                    mark = "ok " if top_right(answer, q) else "MISS"
                    used = "ctx" if answer.context else "own"
                    print(
                        f"{mark} line {n:2} {used} gold {list(q.gold)} top {tops} answered={answer.answered}: "
                        f"{q.context} -> {q.question}"
                    )
        finally:
            await reader.close()


if __name__ == "__main__":
    asyncio.run(main())
