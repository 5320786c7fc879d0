"""A question's search terms, with the words the corpus does not know corrected where they can be.

The decline rule counts a question word that no source uses against the answer (a question about
Hamlet is not answered by an article that never names him), so a word that is only misspelt, or
typed the way people chat ("yrs", "whats"), must not look like an unknown subject. Each question
word whose term the index lacks is, in order:

1. a chat spelling from index/data/informal-en.txt ("yrs" -> "years"; "pls" -> nothing): replaced;
2. a common English word (among the first RARE_ENGLISH_RANK of index/data/english-words.txt) --
   a real word the corpus does not use: kept, and counted as unknown;
3. otherwise (a rarer English word too: the list's tail is mostly names and variant spellings,
   where "Chaco" is one letter from the corpus's "Chacko") a typo when the speller finds the
   corpus term it was meant to be: replaced by it;
4. else kept as typed, and counted as unknown.

A question whose terms are all in the index gets exactly the terms it always got.

Each term also gets the English rank of the words it stands for (for the decline rule's weights,
`decline.term_weight`), unless it was typed as a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..analysis import QUESTION_MEASURES, Analyzer, fold_token, raw_tokens
from .spelling import Speller

# English words ranked beyond this in english-words.txt (82,863 words, most frequent first) may
# be typos of a corpus term: the speller is asked (step 3 above).
RARE_ENGLISH_RANK = 20_000


@lru_cache(maxsize=1)
def informal_words() -> dict[str, tuple[str, ...]]:
    """Chat spellings and what they stand for, from index/data/informal-en.txt."""
    text = resources.files("citebot.index.data").joinpath("informal-en.txt").read_text(encoding="utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            typed, *meant = line.split()
            table[typed] = tuple(meant)
    return table


@lru_cache(maxsize=1)
def english_ranks() -> dict[str, int]:
    """Each word of index/data/english-words.txt and its rank there (1: the most frequent).
    Such a word is never taken for a typo; its rank says how common it is (`decline`)."""
    text = resources.files("citebot.index.data").joinpath("english-words.txt").read_text(encoding="utf-8")
    return ranked(_data_lines(text))


def ranked(words: list[str]) -> dict[str, int]:
    """Each word and its 1-based place in `words`, in that order; a word listed twice keeps its
    first (best) rank. dict(zip()) rather than a loop when no word repeats: every process that
    answers loads the English list for its first question."""
    ranks = dict(zip(words, range(1, len(words) + 1)))
    if len(ranks) < len(words):
        ranks = {}
        for rank, word in enumerate(words, start=1):
            ranks.setdefault(word, rank)
    return ranks


def _data_lines(text: str) -> list[str]:
    """The lines of a data file that are neither empty nor comments ("#")."""
    return [line for line in text.splitlines() if line and line[0] != "#"]


STEMS_HEADER = """\
# The index term (stem) of each word of english-words.txt, with the best rank of its words there:
# how common an English word the term stands for is (index/answering/decline.py). Made by the default
# analyser; regenerate after changing it (tests/index/answering/test_spelling.py checks this file) with
#   python -c "import citebot.index.answering.question_terms as q; q.write_english_stems()"
"""


def english_stem_lines(analyzer: Analyzer | None = None) -> list[str]:
    """english-stems.txt's lines: "term rank", most common first, one per term."""
    analyzer = analyzer or Analyzer()
    best: dict[str, int] = {}
    for word, rank in english_ranks().items():
        term = analyzer.term(word)
        if term and term not in best:
            best[term] = rank
    return [f"{term} {rank}" for term, rank in best.items()]


def write_english_stems() -> None:
    """Rewrite index/data/english-stems.txt from english-words.txt (for a changed analyser)."""
    path = Path(__file__).resolve().parent / "data" / "english-stems.txt"
    path.write_text(STEMS_HEADER + "\n".join(english_stem_lines()) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def english_stem_ranks() -> dict[str, int]:
    """Each index term of an English word, and the best English rank of its words (english-stems.txt)."""
    text = resources.files("citebot.index.data").joinpath("english-stems.txt").read_text(encoding="utf-8")
    lines = _data_lines(text)
    fields = " ".join(lines).split(" ")  # term, rank, term, rank, ...
    if len(fields) != 2 * len(lines):
        raise ValueError("english-stems.txt: every line must be 'term rank'")
    return dict(zip(fields[0::2], map(int, fields[1::2])))


@dataclass(frozen=True)
class Correction:
    """One question word searched for as something else: `typed` as it was in the question,
    `terms` the index terms searched instead (none for chat filler), `meant` the words they stand
    for when the table says so (the Answerer finds the corpus's own spelling otherwise)."""

    typed: str
    terms: tuple[str, ...]
    meant: str | None = None


@dataclass(frozen=True)
class QuestionTerms:
    """The terms to search (with repeats, in question order), the corrections made, and the
    English rank of each term that stands for an English word (`english_stem_ranks`), unless
    only words typed as names stand for it."""

    terms: list[str]
    corrections: tuple[Correction, ...] = field(default=())
    ranks: dict[str, int] = field(default_factory=dict)


class QuestionAnalyser:
    """Turns questions into search terms for one index (see the module docstring)."""

    def __init__(self, analyzer: Analyzer, df: Callable[[str], int], speller: Speller | None) -> None:
        """`df` is the index's document frequency; `speller` corrects typos (None: no
        correction). The analyser's question terms are its words' terms (`_words`; the tests
        check it), so corrections can replace them word by word."""
        self.analyzer = analyzer
        self._df = df
        self.speller = speller

    def analyse(self, question: str) -> QuestionTerms:
        """The question's search terms, corrections and English ranks."""
        words, names = self._words(question)
        terms = [t for _, t in words]
        common = {t for typed, t in words if typed not in names}
        if all(map(self._df, terms)):
            return QuestionTerms(terms, (), _ranks(terms, common))
        out: list[str] = []
        corrections: list[Correction] = []
        fixed: dict[str, Correction | None] = {}
        for typed, term in words:
            if self._df(term):
                out.append(term)
                continue
            if typed not in fixed:
                # A chat question has a few typos; text with hundreds of unknown words (pasted
                # code, another language) is searched as typed past the first few.
                fixed[typed] = self._correct(typed, term) if len(fixed) < MAX_CORRECTED_WORDS else None
            correction = fixed[typed]
            if correction is None:
                out.append(term)
                continue
            out.extend(correction.terms)
            if correction not in corrections:
                corrections.append(correction)
            if typed not in names:
                common.update(correction.terms)
        return QuestionTerms(out, tuple(corrections), _ranks(out, common))

    def needs_speller(self, question: str) -> bool:
        """Whether analysing `question` would consult the speller (a word may be a typo)."""
        lexicon, table = english_ranks(), informal_words()
        return any(
            not self._df(term) and (folded := _folded(typed)) not in table and folded not in lexicon
            for typed, term in self._words(question)[0]
        )

    def _words(self, question: str) -> tuple[list[tuple[str, str]], frozenset[str]]:
        """(word as typed, its term) for every question word that has a term, in order, without
        the measure word of "how long", "how many", ... (as `Analyzer.question_terms`); and the
        words typed as names: capitalised after the first word, in a question not all in
        capitals. A name is not the English word it may spell ("Hamlet", "Jupiter"): it gets no
        English rank."""
        tokens, mixed = self.analyzer.raw(question)
        names = frozenset(t for t in tokens[1:] if t[:1].isupper()) if mixed else frozenset()
        folded = [fold_token(t, mixed) for t in tokens]
        term = self.analyzer.term
        out = []
        for i, (typed, f) in enumerate(zip(tokens, folded)):
            if i and folded[i - 1] == "how" and f in QUESTION_MEASURES:
                continue
            t = term(f)
            if t:
                out.append((typed, t))
        return out, names

    def _correct(self, typed: str, term: str) -> Correction | None:
        folded = _folded(typed)
        meant = informal_words().get(folded)
        if meant is not None:
            terms = tuple(t for w in meant for t in self._terms_of(w))
            return Correction(typed, terms, " ".join(meant) if terms else None)
        rank = english_ranks().get(folded)
        if (rank is not None and rank <= RARE_ENGLISH_RANK) or self.speller is None:
            return None
        corrected = self.speller.correct(folded, term, surface=rank is None)
        return Correction(typed, (corrected,)) if corrected else None

    def _terms_of(self, words: str) -> Sequence[str]:
        return [t for t in map(self.analyzer.term, raw_tokens(words)) if t]


# The most distinct unknown words of one question that are looked up for a correction (each
# costs about 1 ms, up to ~20 ms for a long word): a bound on a question's cost.
MAX_CORRECTED_WORDS = 8


def _folded(typed: str) -> str:
    return typed.casefold()


def _ranks(terms: Iterable[str], common: AbstractSet[str]) -> dict[str, int]:
    """The English rank of each of `terms` that is in `common` (typed as a common word) and stands
    for an English word."""
    stems = english_stem_ranks()
    return {t: stems[t] for t in terms if t in common and t in stems}


def corrected_question(question: str, corrections: Sequence[tuple[str, str]]) -> str:
    """`question` with each typed word (as a whole word) replaced by the word searched for."""
    for typed, searched in corrections:
        question = re.sub(rf"(?<![^\W_]){re.escape(typed)}(?![^\W_])", lambda _: searched, question)  # noqa: B023 - used within this iteration
    return question
