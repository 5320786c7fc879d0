"""The realistic benchmark corpus (benchmarks/realistic_corpus.py) grows its vocabulary like real text.

The scale corpus saturates at the SQuAD sample's ~15,000 words; the realistic one must keep
meeting new words (Heaps' law, beta between 0.4 and 0.9) and be the same for the same seed.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """benchmarks/NAME.py as the module NAME, loaded by path (benchmarks/ is no package, and the
    tests put nothing on sys.path). Registered in sys.modules first, so that realistic_corpus's
    own `import scale` finds the module loaded here."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


scale = load_benchmark("scale")
realistic_corpus = load_benchmark("realistic_corpus")

WORD = re.compile(r"[a-z]+")
PASSAGES = 16_000

pytestmark = pytest.mark.skipif(
    not (scale.SHARED_SQUAD / "articles.jsonl").exists(), reason="the shared SQuAD sample is not beside the repository"
)


def vocabulary_growth(folder: Path) -> list[tuple[int, int]]:
    """(words so far, distinct words so far) after each document, in generation order."""
    seen: set[str] = set()
    words, out = 0, []
    for path in sorted(folder.rglob("*.txt")):
        found = WORD.findall(path.read_text(encoding="utf-8").lower())
        words += len(found)
        seen.update(found)
        out.append((words, len(seen)))
    return out


def test_realistic_vocabulary_grows_like_heaps_law(tmp_path: Path) -> None:
    scale.generate_corpus(PASSAGES, tmp_path / "synthetic")
    realistic_corpus.generate_corpus(PASSAGES, tmp_path / "realistic")
    synthetic = vocabulary_growth(tmp_path / "synthetic")
    realistic = vocabulary_growth(tmp_path / "realistic")
    assert realistic[-1][1] >= 5 * synthetic[-1][1], (realistic[-1], synthetic[-1])
    (n1, v1), (n2, v2) = realistic[len(realistic) // 4 - 1], realistic[-1]
    beta = math.log(v2 / v1) / math.log(n2 / n1)
    assert 0.4 <= beta <= 0.9, beta
    # The synthetic corpus has saturated: a quarter of it already holds nearly all its words.
    assert synthetic[len(synthetic) // 4 - 1][1] > 0.9 * synthetic[-1][1]


def test_realistic_corpus_is_deterministic_by_seed(tmp_path: Path) -> None:
    realistic_corpus.generate_corpus(800, tmp_path / "a")
    realistic_corpus.generate_corpus(800, tmp_path / "b")
    realistic_corpus.generate_corpus(800, tmp_path / "c", seed=1)
    a = [p.read_bytes() for p in sorted((tmp_path / "a").rglob("*.txt"))]
    b = [p.read_bytes() for p in sorted((tmp_path / "b").rglob("*.txt"))]
    c = [p.read_bytes() for p in sorted((tmp_path / "c").rglob("*.txt"))]
    assert len(a) == 20 and a == b
    assert a != c


def test_made_up_words_are_distinct_per_rank() -> None:
    words = [realistic_corpus.made_up_word(r) for r in range(200_000)]
    assert len(set(words)) == len(words)
    assert all(w.isalpha() and len(w) >= 5 for w in words[:1000])
