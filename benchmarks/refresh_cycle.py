"""How long one refresh cycle takes (index/build/refresh.py): nothing changed, and one file changed.

    python benchmarks/refresh_cycle.py [--files 200] [--runs 5]

Two corpora: the bundled article, and `--files` files generated from the SQuAD articles in
../shared/eval/squad (a few paragraphs each). Files are dated back an hour, as files edited
before the last build are. Prints the median of `--runs` cycles: the check alone, and the
whole refresh (check + incremental rebuild + swap) after appending a sentence to one file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from citebot.index.build.params import IndexParams
from citebot.index.build.refresh import refresh_sync
from citebot.index.build.reindex import rebuild_sync

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "eval" / "squad" / "articles.jsonl"


def age(folder: Path) -> None:
    when = time.time() - 3600
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


def generated(folder: Path, n: int) -> None:
    paragraphs = [p for line in SQUAD.read_text(encoding="utf-8").splitlines() for p in json.loads(line)["paragraphs"]]
    for i in range(n):
        chosen = [paragraphs[(i * 3 + k) % len(paragraphs)] for k in range(3)]
        (folder / f"note-{i:04d}.txt").write_text(f"Note {i}\n\n" + "\n\n".join(chosen) + "\n", encoding="utf-8")


def measure(corpus: Path, db: Path, runs: int) -> dict[str, float]:
    params = IndexParams()
    age(corpus)
    rebuild_sync([corpus], db, params)
    refresh_sync([corpus], db, params)  # warm: first check after the build
    unchanged = []
    for _ in range(runs):
        started = time.perf_counter()
        result = refresh_sync([corpus], db, params)
        unchanged.append(time.perf_counter() - started)
        assert result.rebuilt is None
    changed = []
    target = sorted(corpus.iterdir())[0]
    for i in range(runs):
        with target.open("a", encoding="utf-8") as out:
            out.write(f"\nAn appended sentence number {i} about the refresh benchmark.\n")
        started = time.perf_counter()
        result = refresh_sync([corpus], db, params)
        changed.append(time.perf_counter() - started)
        assert result.rebuilt is not None and result.rebuilt.incremental and result.rebuilt.analysed == 1
    return {
        "nothing_changed_ms": statistics.median(unchanged) * 1000,
        "one_file_changed_ms": statistics.median(changed) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="citebot-refresh-") as tmp:
        base = Path(tmp)
        bundled = base / "bundled"
        bundled.mkdir()
        shutil.copy(ROOT / "corpus" / "nasa-roscosmos-2025.txt", bundled)
        many = base / "generated"
        many.mkdir()
        generated(many, args.files)
        for name, corpus in (("bundled corpus (1 file)", bundled), (f"{args.files} generated files", many)):
            figures = measure(corpus, base / f"{corpus.name}.sqlite3", args.runs)
            print(
                f"{name}: nothing changed {figures['nothing_changed_ms']:.1f} ms, "
                f"one file changed {figures['one_file_changed_ms']:.1f} ms (median of {args.runs})"
            )


if __name__ == "__main__":
    main()
