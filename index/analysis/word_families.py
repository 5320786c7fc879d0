"""Words of one family: "publication" and "publisher", "agree" and "agreement".

The index's terms are Snowball stems, which keep derivations apart on purpose ("public" and
"publish" rank differently, and should). But the decline rule asks a looser question -- does the
chosen passage speak of what the question asks about? -- and a paraphrase often swaps a word for
another of its family: "Which publication does the author run?" is answered by "Chacko is the
publisher of Frontier India". So a question term the passage lacks still counts as held when a
passage term has the same Lancaster stem (Paice/Husk's aggressive stemmer, in nltk), of at least
MIN_FAMILY_STEM letters: shorter ones join unrelated words ("use" and "user" do belong together,
but so do "new" and "news").

Measured with `citebot eval` (before -> after): seed-dev answerable declined 16.7% -> 8.3%;
SQuAD's 5,696 declined 1.53% -> 1.47%; off-topic SQuAD questions against the bundled article
declined 98.26% -> 98.16% (dev half) -- nothing else moved.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import lru_cache

from nltk.stem.lancaster import LancasterStemmer

MIN_FAMILY_STEM = 4
_STEMMER = LancasterStemmer()


@lru_cache(maxsize=65_536)
def family(term: str) -> str:
    """The family a term (a Snowball stem, or a word) belongs to: its Lancaster stem."""
    return _STEMMER.stem(term)


def same_family(missing: Iterable[str], held: Collection[str]) -> set[str]:
    """The `missing` terms with a family of at least MIN_FAMILY_STEM letters among `held`'s.

    Only the held terms that begin as a wanted family does are stemmed: the stemmer rewrites
    endings, so a stem of four letters or more keeps its word's first three (a vowel-initial
    word cut to two letters and given a new ending is the rare exception, and is then missed).
    Stemming every term of the passage cost ~0.6 ms a question on a large corpus."""
    wanted = {t: f for t in missing if len(f := family(t)) >= MIN_FAMILY_STEM}
    if not wanted:
        return set()
    starts = {f[:3] for f in wanted.values()}
    families = {family(t) for t in held if t[:3] in starts}
    return {t for t, f in wanted.items() if f in families}
