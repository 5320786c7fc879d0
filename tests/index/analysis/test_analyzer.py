"""Analysis and acronyms: what a term is, on both the passage side and the question side."""

from __future__ import annotations

from pathlib import Path

import pytest
from nltk.stem.snowball import SnowballStemmer

from citebot.index.analysis import (
    SHOUT,
    AcronymMap,
    Analyzer,
    content_terms,
    english_stopwords,
    find_definitions,
    raw_tokens,
)
from citebot.index.answering.answerer import Answerer
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.loading import load_document

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="module")
def article_acronyms(analyzer: Analyzer) -> AcronymMap:
    return AcronymMap.learn([load_document(ARTICLE).text], analyzer)


# ---------------------------------------------------------------------------------------------
# Terms


def test_stopwords_are_removed(analyzer):
    assert analyzer.terms("the of and is was what who it") == []
    assert analyzer.terms("What is the name of the station?") == ["name", "station"]
    assert {"the", "and", "of", "what", "who", "how"} <= english_stopwords()


def test_contractions_in_the_stoplist_are_removed(analyzer):
    assert analyzer.terms("Don't stop, it's fine") == ["stop", "fine"]


def test_case_folding(analyzer):
    assert analyzer.terms("NASA") == analyzer.terms("Nasa") == analyzer.terms("nasa") == ["nasa"]
    # casefold, not lower: the German sharp s folds to "ss".
    assert analyzer.terms("Straße") == analyzer.terms("strasse")


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("engines", "engin"),
        ("sanctions", "sanction"),
        ("running", "run"),
        ("stations", "station"),
        ("operation", "oper"),
        ("exploration", "explor"),
        ("cosmonauts", "cosmonaut"),
    ],
)
def test_snowball_stems(analyzer, word, stem):
    assert analyzer.terms(word) == [stem]
    assert SnowballStemmer("english").stem(word) == stem


def test_inflections_meet_on_one_stem(analyzer):
    assert analyzer.terms("engine") == analyzer.terms("engines") == analyzer.terms("Engines")
    assert analyzer.terms("launched") == analyzer.terms("launches") == analyzer.terms("launch")


@pytest.mark.parametrize("text", ["ISS\u2019s operation", "ISS's operation", "ISS\u2019S operation"])
def test_curly_and_straight_possessives_give_the_same_terms(analyzer, text):
    assert analyzer.terms(text) == ["iss", "oper"]


def test_possessive_of_a_name(analyzer):
    assert analyzer.terms("Russia\u2019s engines") == analyzer.terms("Russia's engines") == ["russia", "engin"]


def test_dotted_abbreviations_are_one_word(analyzer):
    # "U.S." becomes the single word "US", marked as an acronym so the stopword "us" keeps it.
    assert raw_tokens("the U.S. Air Force") == ["the", SHOUT + "us", "air", "force"]
    assert analyzer.terms("the U.S. Air Force") == analyzer.terms("the US Air Force")


def test_capitalised_stopword_in_mixed_text_is_kept_as_an_acronym(analyzer):
    # Documented in raw_tokens: an all-capitals word in mixed-case text is an acronym.
    assert analyzer.terms("IT staff") == ["it", "staff"]
    assert analyzer.terms("it is what it is") == []
    assert analyzer.terms("the WHO guidance") == ["who", "guidanc"]
    assert analyzer.terms("Who gave guidance") == ["gave", "guidanc"]
    # All-capitals text is shouting, not acronyms: its stopwords still go.
    assert analyzer.terms("WHO IS THE HEAD OF ROSCOSMOS") == ["head", "roscosmo"]


def test_upper_case_us_is_kept(analyzer):
    assert "us" in analyzer.terms("escalating US sanctions")
    assert "us" in analyzer.terms("the U.S. Air Force")


def test_lower_case_us_is_dropped_as_a_stopword(analyzer):
    assert analyzer.terms("Can you tell us about the sanctions?") == ["tell", "sanction"]
    assert analyzer.terms("US sanctions against us") == ["us", "sanction"]


def test_question_terms_drop_measure_words_after_how(analyzer):
    assert analyzer.question_terms("How long will the ISS keep operating?") == ["iss", "keep", "oper"]
    assert analyzer.question_terms("How many engines were ordered?") == ["engin", "order"]
    assert analyzer.question_terms("how much does a launch cost") == ["launch", "cost"]
    assert analyzer.question_terms("How often do crews fly?") == ["crew", "fli"]
    # The same words are kept where they name something.
    assert "long" in analyzer.terms("How long will the ISS keep operating?")
    assert "long" in analyzer.question_terms("What are the long-term plans?")
    assert "mani" in analyzer.question_terms("Why did many projects stop?")


def test_passages_and_questions_share_one_vocabulary(analyzer):
    passage = "The chiefs of Roscosmos and NASA have reached an agreement to extend the ISS\u2019s operation"
    question = "Did the chiefs of NASA and Roscosmos extend the ISS's operation?"
    assert set(analyzer.question_terms(question)) <= set(analyzer.terms(passage))


def test_content_terms_keep_first_seen_order():
    assert content_terms(["iss", "oper", "iss", "nasa", "oper"]) == ["iss", "oper", "nasa"]


# ---------------------------------------------------------------------------------------------
# Acronyms


def test_find_definitions_on_the_article():
    found = set(find_definitions(load_document(ARTICLE).text))
    assert found == {
        ("ISS", "International Space Station"),
        ("ROS", "Russian Orbital Space Station"),
        ("JAXA", "Japan Aerospace Exploration Agency"),
    }


@pytest.mark.parametrize(
    "text",
    ["The big cat (USA) slept.", "A word (OK) here.", "Nothing defined (x) here.", "Values (CSV) spreadsheets here."],
)
def test_find_definitions_ignores_parentheses_that_define_nothing(text):
    assert find_definitions(text) == []


def test_learned_acronyms_are_in_the_analysers_vocabulary(analyzer, article_acronyms):
    pairs = article_acronyms.pairs
    assert set(pairs) == {"iss", "ros", "jaxa"}
    assert pairs["ros"] == tuple(analyzer.terms("Russian Orbital Space Station"))
    assert pairs["iss"] == tuple(analyzer.terms("International Space Station"))
    assert pairs["jaxa"] == tuple(analyzer.terms("Japan Aerospace Exploration Agency"))
    assert AcronymMap.from_rows(article_acronyms.to_rows()).pairs == pairs


def test_expand_adds_the_short_form_for_a_spelled_out_long_form(analyzer, article_acronyms):
    terms = analyzer.terms("When will the Russian Orbital Space Station launch?")
    expanded = article_acronyms.expand(terms)
    assert expanded[: len(terms)] == terms
    assert expanded[len(terms) :] == ["ros"]
    assert article_acronyms.expand(analyzer.terms("Japan Aerospace Exploration Agency")).count("jaxa") == 1


@pytest.mark.parametrize(
    "text",
    [
        "a Russian space station in orbit",
        "the space station",
        "Russian Orbital Station",
        "Orbital Space Station of Russia",
        "an international agency for space exploration",
    ],
)
def test_expand_adds_nothing_for_unrelated_text(analyzer, article_acronyms, text):
    terms = analyzer.terms(text)
    assert article_acronyms.expand(terms) == terms


def test_expand_does_not_count_the_definition_twice(analyzer, article_acronyms):
    terms = analyzer.terms("the Russian Orbital Space Station (ROS)")
    assert article_acronyms.expand(terms).count("ros") == 1


def test_expand_does_not_add_the_long_form_for_the_short_form(analyzer, article_acronyms):
    assert article_acronyms.expand(["ros", "launch"]) == ["ros", "launch"]


# ---------------------------------------------------------------------------------------------
# End to end: either form of a name finds the paragraph that defines it


@pytest.fixture(scope="module")
def index_db(built_index: Path) -> Path:
    """The session's index of the bundled article (conftest); read only."""
    return built_index


@pytest.mark.parametrize(
    ("short_q", "long_q", "paragraph"),
    [
        # Paragraph 8: "the joint development of the Russian Orbital Space Station (ROS), which is
        # scheduled to be launched following the retirement of the International Space Station".
        ("What is ROS?", "What is the Russian Orbital Space Station?", 8),
        ("When will ROS be launched?", "When will the Russian Orbital Space Station be launched?", 8),
        ("ROS", "Russian Orbital Space Station", 8),
        # Paragraph 9: "... including SpaceX and the Japan Aerospace Exploration Agency (JAXA)".
        ("What is JAXA?", "What is the Japan Aerospace Exploration Agency?", 9),
    ],
)
async def test_short_and_long_form_questions_rank_the_defining_paragraph_first(index_db, short_q, long_q, paragraph):
    reader = await IndexReader.open(index_db)
    try:
        answerer = Answerer(reader)
        for question in (short_q, long_q):
            answer = await answerer.ask(question)
            assert answer.hits, question
            assert answer.hits[0].passage.citation.paragraphs == (paragraph, paragraph), question
            assert answer.answered, question
    finally:
        await reader.close()


async def test_a_question_with_only_the_acronym_uses_the_long_form_via_expansion(index_db):
    reader = await IndexReader.open(index_db)
    try:
        answerer = Answerer(reader)
        terms, expanded = answerer.query_terms("When will ROS be launched?")
        assert terms == ["ros", "launch"] and expanded == ["ros", "launch"]
        terms, expanded = answerer.query_terms("When will the Russian Orbital Space Station be launched?")
        assert "ros" not in terms and expanded[-1] == "ros"
    finally:
        await reader.close()
