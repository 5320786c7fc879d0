"""Write the question sets that calibrate the "not in my sources" rule, split in two fixed halves.

    python benchmarks/decline_sets.py OUT [--eval ../shared/eval]

A bot people trust declines what its sources do not answer and answers what they do; both
sides are measured on SQuAD (shared/eval/README.md):

- off-topic: SQuAD questions asked against the bundled article alone (none is answered there);
- answerable: the same questions asked against the 24 SQuAD articles indexed as one corpus.

The split is by article and never changes: questions of even-numbered articles (squad-dev-00,
-02, ..., -22) are the part the rule is chosen on ("dev"), those of odd-numbered ones the part it
is reported on ("test"). OUT receives, for each half H in dev and test:

- `offtopic-H.jsonl`: `{"q": ...}` lines (no gold: an unanswerable set), for
  `citebot eval OUT/offtopic-H.jsonl` against the configured (bundled) corpus;
- `squad-H/`: all 24 articles and that half's questions, for `citebot eval OUT/squad-H`
  (every article is indexed, so the other half's articles still compete for each question).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EVAL = ROOT.parent / "shared" / "eval"


def half_of(article_id: str) -> str:
    """'dev' for an even-numbered SQuAD article ("squad-dev-04"), 'test' for an odd one."""
    return "dev" if int(article_id.rsplit("-", 1)[1]) % 2 == 0 else "test"


def write_sets(eval_dir: Path, out: Path) -> dict[str, int]:
    """Write the four sets into `out`; returns how many questions each holds."""
    squad = eval_dir / "squad"
    rows = [
        json.loads(line)
        for line in (squad / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for half in ("dev", "test"):
        mine = [r for r in rows if half_of(r["article_id"]) == half]
        folder = out / f"squad-{half}"
        folder.mkdir(exist_ok=True)
        shutil.copyfile(squad / "articles.jsonl", folder / "articles.jsonl")
        (folder / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in mine), encoding="utf-8")
        (out / f"offtopic-{half}.jsonl").write_text(
            "".join(json.dumps({"q": r["question"]}) + "\n" for r in mine), encoding="utf-8"
        )
        counts[half] = len(mine)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the sets into")
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the shared eval folder")
    args = parser.parse_args(argv)
    if not (args.eval / "squad" / "questions.jsonl").is_file():
        print(f"error: no SQuAD questions under {args.eval}", file=sys.stderr)
        return 2
    for half, n in write_sets(args.eval, args.out).items():
        print(f"{half}: {n} questions -> {args.out}/offtopic-{half}.jsonl, {args.out}/squad-{half}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
