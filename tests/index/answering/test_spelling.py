"""Tolerant matching (index/spelling.py, index/question_terms.py): typos are corrected to the
corpus's own terms, and nothing else is.

The properties are checked against brute force over the real index of the bundled article:
a question whose words are all corpus words is never changed, and a single-edit misspelling of
a corpus word is corrected to it whenever no other corpus word is as close.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from citebot.index.analysis import Analyzer, fold_token
from citebot.index.answering.answerer import Answerer, AnswerParams
from citebot.index.answering.question_terms import (
    RARE_ENGLISH_RANK,
    corrected_question,
    english_ranks,
    english_stem_lines,
    english_stem_ranks,
    informal_words,
    ranked,
)
from citebot.index.answering.spelling import (
    DeleteIndex,
    Speller,
    deletions,
    max_distance,
    one_edit_variants,
    osa_distance,
    variant_terms,
)
from citebot.index.indexfile import IndexReader

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"


def reference_osa(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook table (no early exit)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


short_words = st.text(alphabet="abcdé", min_size=0, max_size=7)


@given(short_words, short_words, st.integers(0, 3))
def test_osa_distance_is_the_textbook_distance_up_to_its_limit(a: str, b: str, limit: int) -> None:
    assert osa_distance(a, b, limit) == min(reference_osa(a, b), limit + 1)


@given(
    st.lists(st.text(alphabet="abcde", min_size=3, max_size=9), min_size=1, max_size=40, unique=True),
    st.text(alphabet="abcde", min_size=1, max_size=10),
    st.integers(1, 2),
)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_deletions_find_every_term_within_the_distance(terms: list[str], word: str, distance: int) -> None:
    index = DeleteIndex(terms, np.ones(len(terms), dtype=np.int64))
    near = {i for i, t in enumerate(terms) if reference_osa(word, t) <= distance and (distance == 1 or len(t) >= 4)}
    assert near <= index.candidates(word, distance)


def test_deletions_of_a_word() -> None:
    assert deletions("abc", 1) == {"abc", "bc", "ac", "ab"}
    assert deletions("abc", 2) == {"abc", "bc", "ac", "ab", "a", "b", "c"}
    assert "abc" not in one_edit_variants("abc", "xyz") and "axbc" in one_edit_variants("abc", "x")


def test_a_large_vocabulary_indexes_only_its_most_frequent_terms() -> None:
    rng = random.Random(7)
    terms = list(dict.fromkeys("".join(rng.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(3000)))
    dfs = np.arange(len(terms), 0, -1, dtype=np.int64)  # term 0 the most frequent
    index = DeleteIndex(terms, dfs, max_terms=500)
    assert index.term_ids.tolist() == list(range(500))
    assert set(index.owners.tolist()) == set(range(500))
    # Bounded by the cap, not the vocabulary: 8-letter terms have at most 1 + 8 + 28 deletions.
    assert index.hashes.size <= 500 * 37 and index.nbytes < 500 * 37 * 8 + 500 * 8 + 1


@given(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=14))
def test_variant_terms_are_the_analysers_terms(word: str) -> None:
    assert variant_terms(Analyzer())(word) == Analyzer().term(word)


def test_variant_terms_of_real_words() -> None:
    fast, plain = variant_terms(Analyzer()), Analyzer()
    words = [w for w in english_ranks() if w.isalpha() and w.islower()]
    assert [fast(w) for w in words[::7]] == [plain.term(w) for w in words[::7]]


def test_max_distance_grows_with_the_word() -> None:
    assert [max_distance("x" * n) for n in (1, 3, 4, 7, 8, 20)] == [0, 0, 1, 1, 2, 2]


def test_corrected_question_replaces_whole_words_only() -> None:
    assert (
        corrected_question("Is Roscomsos, or roscomsos2, Roscomsos?", [("Roscomsos", "Roscosmos")])
        == "Is Roscosmos, or roscomsos2, Roscosmos?"
    )
    assert corrected_question("how many yrs? yrs.", [("yrs", "years")]) == "how many years? years."


# ---------------------------------------------------------------------------------------------
# On the real index of the bundled article


@pytest.fixture
def article_words(answerer: Answerer) -> list[str]:
    """The article's words that are in the index (as a term, or as a stopword, which is none):
    not those of the comment form the parser drops."""
    tokens, _ = Analyzer().raw(ARTICLE.read_text(encoding="utf-8"))
    term, df = Analyzer().term, answerer.reader.bm25.df
    return sorted(t for t in set(tokens) if (found := term(fold_token(t, True))) is None or df(found))


async def test_a_question_of_corpus_words_is_never_changed(answerer: Answerer, article_words: list[str]) -> None:
    plain = Analyzer().question_terms

    @given(st.lists(st.sampled_from(article_words), min_size=1, max_size=12), st.sampled_from(["", "?", "!"]))
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def check(words: list[str], end: str) -> None:
        question = " ".join(words) + end
        analysed = answerer.analyse(question)
        assert analysed.terms == plain(question)
        assert analysed.corrections == ()

    check()
    assert not answerer.speller.built  # nothing needed it


def unambiguous_single_edit(answerer: Answerer, typo: str, meant: str) -> bool:
    """Whether `meant` is the only corpus term one edit from `typo`, by brute force: comparing the
    typo's term with every vocabulary term, and analysing every one-edit variant of the typo."""
    bm25 = answerer.reader.bm25
    term = answerer.analyzer.term(typo)
    terms, _ = bm25.vocabulary()
    near = {t for t in terms if t.isalpha() and len(t) >= 3 and osa_distance(term, t, 1) <= 1}
    near |= {v for v in map(Analyzer().term, one_edit_variants(typo, string.ascii_lowercase)) if v and bm25.df(v)}
    return near == {meant}


async def test_a_single_edit_misspelling_is_corrected_when_unambiguous(answerer: Answerer) -> None:
    bm25 = answerer.reader.bm25
    lexicon = english_ranks()
    # Distinctive corpus words: names and words no English list has, indexed as themselves.
    words = sorted(
        t for t in bm25.vocabulary()[0] if t.isalpha() and len(t) >= 5 and t not in lexicon and Analyzer().term(t) == t
    )
    assert len(words) >= 10, words
    corrected = []

    @given(
        st.sampled_from(words),
        st.sampled_from(["delete", "swap", "replace", "insert"]),
        st.integers(0, 30),
        st.sampled_from(string.ascii_lowercase),
    )
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def check(word: str, edit: str, at: int, letter: str) -> None:
        i = at % len(word)
        typo = {
            "delete": word[:i] + word[i + 1 :],
            "swap": word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :],
            "replace": word[:i] + letter + word[i + 1 :],
            "insert": word[:i] + letter + word[i:],
        }[edit]
        term = answerer.analyzer.term(typo)
        assume(typo != word and term is not None and not bm25.df(term) and typo not in lexicon)
        assume(typo not in informal_words() and max_distance(typo) >= 1)
        assume(unambiguous_single_edit(answerer, typo, word))
        analysed = answerer.analyse(f"Who is {typo.capitalize()}?")
        assert answerer.speller.correct(typo, term) == word
        assert word in analysed.terms and [c.typed.casefold() for c in analysed.corrections] == [typo]
        corrected.append(typo)

    check()
    assert corrected, "no example was unambiguous"


@pytest.mark.parametrize(
    "typo,meant",
    [
        ("Roscomsos", "Roscosmos"),
        ("Bakonov", "Bakanov"),
        ("enigne", "engine"),
        ("Boieng", "Boeing"),
        ("sanctons", "sanctions"),
        ("Starlinr", "Starliner"),
    ],
)
async def test_misspelt_questions_are_searched_as_the_corpus_spells_them(
    answerer: Answerer, typo: str, meant: str
) -> None:
    question = f"What about {typo} and the ISS?"
    answer = await answerer.ask(question)
    [(typed, shown)] = answer.corrections
    # Shown as a passage spells it: "engine" may be "engines" there.
    assert typed == typo and shown.casefold() in (meant.casefold(), meant.casefold() + "s")
    assert answer.searched_for == question.replace(typo, shown)
    assert answer.to_json()["searched_for"] == answer.searched_for
    assert answer.to_json()["corrections"] == [{"typed": typo, "searched": shown}]
    plain = await answerer.ask(question.replace(typo, meant))
    assert [h.passage.id for h in answer.hits] == [h.passage.id for h in plain.hits]


@pytest.mark.parametrize(
    "question", ["Who wrote Hamlet?", "How many moons does Jupiter have?", "What does the ISS keep in its lockers?"]
)
async def test_real_words_the_corpus_does_not_use_are_not_corrected(answerer: Answerer, question: str) -> None:
    assert (await answerer.ask(question)).corrections == ()


@pytest.mark.parametrize("typed,meant,corrected", [("Chaco", "Chacko", True), ("nation", "station", False)])
async def test_only_rare_english_words_may_be_typos_of_a_corpus_word(
    answerer: Answerer, typed: str, meant: str, corrected: bool
) -> None:
    # Both are English words one edit from a word of the article; the list's tail is mostly
    # names and variant spellings, so only the rare one is taken for a typo.
    assert (english_ranks()[typed.lower()] > RARE_ENGLISH_RANK) == corrected
    answer = await answerer.ask(f"What about {typed}?")
    assert answer.corrections == (((typed, meant),) if corrected else ())


async def test_chat_spellings_are_spelt_out(answerer: Answerer) -> None:
    analysed = answerer.analyse("whats ROS pls")
    assert analysed.terms == ["ros"]
    answer = await answerer.ask("how many yrs did the talks pause for")
    assert answer.corrections == (("yrs", "years"),) and "year" in answer.terms
    assert answer.searched_for == "how many years did the talks pause for"


async def test_turning_correction_off(built_index: Path) -> None:
    reader = await IndexReader.open(built_index)
    try:
        answerer = Answerer(reader, AnswerParams(correct_typos=False))
        assert answerer.speller is None
        answer = await answerer.ask("Who is the head of Roscomsos?")
        assert answer.corrections == () and "roscomso" in answer.terms
    finally:
        await reader.close()


def test_the_speller_builds_once_and_only_when_needed() -> None:
    calls = []
    terms = ["roscosmo", "bakanov", "station"]

    def vocabulary():
        calls.append(1)
        return terms, np.array([3, 2, 5])

    df = {t: 1 for t in terms}.get
    speller = Speller(vocabulary, lambda t: df(t) or 0, Analyzer().term)
    assert not speller.built and not calls
    assert speller.correct("bakonov", "bakonov") == "bakanov"
    assert speller.correct("bakanof", "bakanof") == "bakanov"
    assert calls == [1] and speller.built
    assert speller.correct("zzzzzz", "zzzzzz") is None


def test_fold_token_keeps_what_the_question_typed() -> None:
    # The speller sees case-folded words; "(searched for: …)" shows the word as typed.
    assert fold_token("Roscomsos", True) == "roscomsos"


def test_the_shipped_english_stems_are_the_analysers() -> None:
    shipped = (ROOT / "index" / "data" / "english-stems.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in shipped if not line.startswith("#")] == english_stem_lines(), (
        "regenerate index/data/english-stems.txt (see its header)"
    )


def test_word_lists_keep_their_order_and_a_repeated_words_first_rank() -> None:
    assert list(ranked(["the", "of", "and"]).items()) == [("the", 1), ("of", 2), ("and", 3)]
    assert list(ranked(["the", "of", "the", "and"]).items()) == [("the", 1), ("of", 2), ("and", 4)]
    ranks = english_ranks()
    assert list(ranks)[:3] == ["the", "of", "and"] and ranks["the"] == 1 and min(ranks.values()) == 1
    stems = english_stem_ranks()
    assert stems[Analyzer().term("running")] <= ranks["running"] and all(r >= 1 for r in stems.values())


async def test_a_large_vocabulary_builds_the_speller_off_the_event_loop(built_index: Path, monkeypatch) -> None:
    import threading

    import citebot.index.answering.answerer as answering

    monkeypatch.setattr(answering, "SPELLER_OFF_LOOP_TERMS", 0)  # as if the vocabulary were large
    built_in: list[threading.Thread] = []
    build = Speller.ensure_built

    def recorded(self: Speller):
        built_in.append(threading.current_thread())
        return build(self)

    monkeypatch.setattr(Speller, "ensure_built", recorded)
    reader = await IndexReader.open(built_index)
    try:
        answerer = Answerer(reader)
        assert (await answerer.ask("Who is the head of Roscosmos?")).corrections == ()
        assert not built_in  # no word needed it
        answer = await answerer.ask("Who is the head of Roscomsos?")
        assert answer.corrections == (("Roscomsos", "Roscosmos"),)
        assert built_in and built_in[0] is not threading.main_thread()
    finally:
        await reader.close()
