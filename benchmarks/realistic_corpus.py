"""A benchmark corpus whose vocabulary keeps growing, as real text's does.

Why: benchmarks/scale.py samples whole sentences from a 24-article SQuAD sample, so its
vocabulary stops growing after a few thousand passages (~15,000 distinct words at any size).
Real collections keep meeting new words - names, places, codes, misspellings - roughly as Heaps'
law V = K * n**beta with beta ~0.5-0.8; a million Wikipedia-like passages hold a million or more
distinct terms. Index size, build memory, the speller's vocabulary and every per-term structure
scale with V, so a benchmark on the saturated corpus flatters any engine.

How: the scale generator's documents (same sentences, same layout, same seed), with a share
(REPLACE_SHARE) of each paragraph's words replaced by made-up words drawn from a Zipf
distribution (exponent ZIPF_A) over a large synthetic vocabulary (VOCABULARY ranks). Sampling n
words from a Zipf law of exponent a yields ~n**(1/a) distinct ones, so the vocabulary grows
like Heaps' law with beta ~1/a (~0.83), while frequent made-up words behave like common real
ones. The words are pronounceable (consonant-vowel syllables, a closing consonant that no
English suffix rule strips) and a pure function of their rank, so no vocabulary is stored and
the corpus is deterministic by seed. Measured with the defaults (distinct lower-case words):
~88,000 at 20k passages, ~296,000 at 100k, ~1.9 million at 1M (beta ~0.8 there); the scale
corpus has 14,538 at every one of these sizes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402  (benchmarks/scale.py: the corpus generator this one builds on)

REPLACE_SHARE = 0.25
ZIPF_A = 1.2
VOCABULARY = 50_000_000
SEED = scale.SEED

_ONSETS = "bdfgklmnprstvz"
_SYLLABLES = [c + v for c in _ONSETS for v in "aeiou"]  # 70
_CODAS = "nkmt"


def made_up_word(rank: int) -> str:
    """The made-up word of a rank (0-based): at least two syllables and a closing consonant."""
    coda, rest = _CODAS[rank % len(_CODAS)], rank // len(_CODAS)
    parts = []
    while rest or len(parts) < 2:
        rest, digit = divmod(rest, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(parts) + coda


class WordReplacer:
    """Replaces a Zipf-distributed share of a paragraph's words with made-up words."""

    def __init__(self, seed: int = SEED, share: float = REPLACE_SHARE, zipf_a: float = ZIPF_A) -> None:
        self._rng = np.random.default_rng(seed)
        self._share, self._a = share, zipf_a
        self._memo: dict[int, str] = {}

    def paragraph(self, text: str) -> str:
        words = text.split(" ")
        picked = np.flatnonzero(self._rng.random(len(words)) < self._share)
        ranks = (self._rng.zipf(self._a, len(picked)) - 1) % VOCABULARY
        memo = self._memo
        for i, rank in zip(picked.tolist(), ranks.tolist()):
            word = words[i]
            core = word.rstrip(".,;:!?\"')")
            if not core.isalpha():
                continue
            new = memo.get(rank)
            if new is None:
                new = memo[rank] = made_up_word(rank)
                if len(memo) > 2_000_000:
                    memo.clear()
            words[i] = new + word[len(core) :]
        return " ".join(words)


def rewrite_document(path: Path, replacer: WordReplacer) -> None:
    """Replace words in a scale document's paragraphs (not its title line or headings)."""
    blocks = path.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
    out = [blocks[0]] + [b if b.startswith("Part ") else replacer.paragraph(b) for b in blocks[1:]]
    path.write_text("\n\n".join(out) + "\n", encoding="utf-8")


def generate_corpus(n_passages: int, folder: Path, seed: int = SEED) -> int:
    """Write scale.generate_corpus's documents, then grow their vocabulary; returns the document count."""
    n_docs = scale.generate_corpus(n_passages, folder, seed)
    replacer = WordReplacer(seed)
    for path in sorted(folder.rglob("*.txt")):
        rewrite_document(path, replacer)
    return n_docs


if __name__ == "__main__":  # python benchmarks/realistic_corpus.py N FOLDER
    generate_corpus(int(sys.argv[1]), Path(sys.argv[2]))
