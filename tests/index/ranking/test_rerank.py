"""The fast re-rank gives exactly what the plain definition gives.

`QueryProfile` (index/rerank.py) and `Answerer._decide` (index/answering.py) skip work that
cannot change a result: sentences without a question term, regexes on sentences that cannot
set the number or name cue, acronym scans that cannot append, re-analysing a passage whose
terms are its stored sentences' terms. Each test here holds the fast code to the reference
definition kept below (the code it replaced): the same features, float for float, the same
hits, scores, highlights, coverage, margin and decision.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path

import pytest

from citebot.index.analysis import (
    AcronymExpander,
    AcronymMap,
    Analyzer,
    same_family,
    sentence_spans,
    text_terms_are_sentence_terms,
)
from citebot.index.analysis.reference import ReferenceAnalyzer, reference_expand
from citebot.index.answering.answerer import Answer, Answerer, AnswerParams, Hit
from citebot.index.answering.highlight import SentenceChooser, heading_terms
from citebot.index.indexfile import IndexReader
from citebot.index.ranking.rerank import (
    NUMBER_QUESTION,
    NUMBER_WORDS,
    PERSON_QUESTION,
    Features,
    QueryProfile,
    RerankWeights,
    SpanTexts,
    _holds_name,
    _holds_number,
    candidate_features,
)

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = ROOT / "corpus" / "nasa-roscosmos-2025.txt"


# --------------------------------------------------------------------------- the reference


def reference_features(
    question: str,
    query: Sequence[str],
    idf: Callable[[str], float],
    sentences: Sequence[str],
    sentence_terms: Sequence[Sequence[str]],
    context_terms: set[str],
    avg_sentence_terms: float,
    w: RerankWeights,
) -> Features:
    """candidate_features as first written: one Counter and three sums per sentence."""
    weights = {t: idf(t) for t in set(query)}
    distinct = list(dict.fromkeys(query))
    pairs = [(x, y) for x, y in zip(query, query[1:]) if x != y]
    wants_number = bool(NUMBER_QUESTION.search(question))
    wants_name = not wants_number and bool(PERSON_QUESTION.search(question))
    best = best_cov = best_num = best_name = 0.0
    best_index: int | None = None
    for i, (text, terms) in enumerate(zip(sentences, sentence_terms)):
        counts = Counter(terms)
        norm = w.sentence_k1 * (1 - w.sentence_b + w.sentence_b * len(terms) / avg_sentence_terms)
        score = sum(weights[t] * counts[t] * (w.sentence_k1 + 1) / (counts[t] + norm) for t in query if t in counts)
        if score > best:
            best, best_index = score, i
        if wants_number and score > best_num and NUMBER_WORDS.search(text):
            best_num = score
        if wants_name and score > best_name and _holds_name(text, question):
            best_name = score
        best_cov = max(best_cov, sum(weights[t] for t in distinct if t in counts or t in context_terms))
    sequence = [t for terms in sentence_terms for t in terms]
    present = set(sequence) | context_terms
    bigrams = set(zip(sequence, sequence[1:]))
    return Features(
        sentence=best,
        sentence_coverage=best_cov,
        passage_coverage=sum(weights[t] for t in distinct if t in present),
        ordered_pairs=sum(weights[x] + weights[y] for x, y in pairs if (x, y) in bigrams) / 2,
        number=best_num,
        name=best_name,
        best_sentence=best_index,
    )


def reference_decide(
    a: Answerer,
    question: str,
    terms: list[str],
    expanded: list[str],
    found: Sequence,
    stored: Sequence,
    top_k: int,
    ranks: dict[str, int],
) -> Answer:
    """Answerer._decide as first written: every sentence analysed, expanded and scored in full (the
    highlight by index/highlight.py's rule, on those fully analysed inputs)."""
    bm25 = a.reader.bm25
    weights = a.params.weights
    ranked = []
    for hit, sp in zip(found, stored):
        text = sp.passage.text
        sentences = [text[x:y] for x, y in sp.sentences]
        stored_terms = sp.sentence_terms
        if stored_terms is None:
            stored_terms = map(a._terms, sentences)
        sentence_terms = [a._expand(t) for t in stored_terms]
        context = set(a._expand(a._terms(sp.passage.context)))
        f = reference_features(
            question, expanded, bm25.idf, sentences, sentence_terms, context, a.avg_sentence_terms, weights
        )
        ranked.append((f.total(hit.score, weights), hit.score, sp, sentences, sentence_terms, context))
    ranked.sort(key=lambda r: -r[0])
    # The highlight: index/highlight.py's rule, given every input analysed in full.
    chooser = SentenceChooser(
        question,
        expanded,
        {t: bm25.idf(t) for t in expanded},
        a.avg_sentence_terms,
        weights.sentence_k1,
        weights.sentence_b,
        a.params.answer_type_weight,
    )
    hits = []
    for rank, (total, raw, sp, sentences, sentence_terms, context) in enumerate(ranked[:top_k]):
        headings = heading_terms(sp.passage.text, sp.sentences, context, lambda label: a._expand(a._terms(label)))
        best = chooser.choose(sentences, sentence_terms, headings, rank == 0)
        hits.append(Hit(rank + 1, total, raw, sp.passage, sp.sentences[best] if best is not None else None))
    have = set(a._expand(a._terms(hits[0].passage.text))) | set(a._expand(a._terms(hits[0].passage.context)))
    have |= same_family(set(terms) - have, have)  # a word of the same family counts (index/analysis/word_families.py)
    # Each term's Lucene IDF over the corpus plus english_prior passages of English, where a word
    # of English rank r is in min(1, common_rank / r) of them (index/decline.py).
    p = a.params
    total = covered = 0.0
    for term in dict.fromkeys(terms):
        rank = ranks.get(term)
        share = min(1.0, p.common_rank / rank) if rank is not None and p.common_rank > 0 else 0.0
        n, d = bm25.n_docs + p.english_prior, bm25.df(term) + p.english_prior * share
        weight = math.log(1.0 + (n - d + 0.5) / (d + 0.5))
        total += weight
        covered += weight if term in have else 0.0
    coverage = covered / total if total else 0.0
    runner_up = max((r[1] for r in ranked[1:]), default=0.0)
    margin = hits[0].bm25 / runner_up if runner_up > 0 else math.inf
    answered = coverage >= p.min_coverage or (coverage >= p.weak_coverage and margin >= p.min_margin)
    return Answer(
        question,
        answered,
        hits,
        hits[0].sentence if answered else None,
        coverage,
        margin,
        None if answered else "the sources do not answer this",
        terms,
    )


def answer_key(a: Answer) -> tuple:
    """Everything an Answer says, floats compared exactly."""
    return (
        a.to_json(),
        a.answered,
        a.answer,
        repr(a.coverage),
        repr(a.margin),
        a.reason,
        a.terms,
        [(h.rank, repr(h.score), repr(h.bm25), h.passage.id, h.highlight) for h in a.hits],
    )


# --------------------------------------------------------------------------- features

WORDS = ["space", "station", "ros", "orbit", "launch", "year", "crew", "dock", "x", "y"]
TEXTS = [
    "Launched in 1998.",
    "Twenty-one crew members",
    "nothing here",
    "In MAY the Crew",
    "ſix modules",
    "\u212a one",
    "the oneself",
    "İstanbul",
    "Dmitry Bakanov said",
    "General Director Dmitry Bakanov met NASA",
    "a_one b",
    "déjà vu in the decade",
    "CENTURIES ago",
    "x2 y",
    "",
    "  ",
    "Mr. Smith and Dr. Jones",
]
QUESTIONS = [
    "When did the crew launch?",
    "Who docked the station?",
    "how many crew",
    "What is ROS?",
    "which person launched x",
    "whose orbit",
    "space station crew",
]


def random_candidate(rng: random.Random) -> tuple:
    n = rng.randrange(0, 6)
    sentence_terms = [[rng.choice(WORDS) for _ in range(rng.randrange(0, 8))] for _ in range(n)]
    sentences = [rng.choice(TEXTS) for _ in range(max(0, n + rng.choice([0, 0, 0, -1, 1])))]
    context = set(rng.sample(WORDS, rng.randrange(0, 3)))
    query = [rng.choice(WORDS[:8]) for _ in range(rng.randrange(1, 7))]
    return rng.choice(QUESTIONS), query, sentences, sentence_terms, context


@pytest.mark.parametrize(
    "weights",
    [
        RerankWeights(),
        RerankWeights(0.5, 0.2, 0.3, 1.5, 2.0, 0.7, 0.0, 1.0),
        RerankWeights(sentence_k1=2.0, sentence_b=0.0),
    ],
)
def test_query_profile_features_equal_the_reference(weights: RerankWeights) -> None:
    rng = random.Random(7)
    idf = {w: 0.25 + i * 0.71 for i, w in enumerate(WORDS)}
    idf["y"] = 0.0
    for _ in range(4000):
        question, query, sentences, sentence_terms, context = random_candidate(rng)
        avg = rng.choice([12.0, 3.5, 15.120256652128027])
        expected = reference_features(
            question, query, idf.__getitem__, sentences, sentence_terms, context, avg, weights
        )
        assert (
            candidate_features(question, query, idf.__getitem__, sentences, sentence_terms, context, avg, weights)
            == expected
        )
        profile = QueryProfile(question, query, idf, avg, weights)
        total, best = profile.total(3.25, sentences, [tuple(t) for t in sentence_terms], frozenset(context))
        assert (repr(total), best) == (repr(expected.total(3.25, weights)), expected.best_sentence)


def test_zero_average_sentence_length_fails_as_before() -> None:
    with pytest.raises(ZeroDivisionError):
        candidate_features("q", ["x"], lambda t: 1.0, ["s"], [["y"]], set(), 0.0, RerankWeights())
    assert candidate_features("q", ["x"], lambda t: 1.0, [], [], {"x"}, 0.0, RerankWeights()) == reference_features(
        "q", ["x"], lambda t: 1.0, [], [], {"x"}, 0.0, RerankWeights()
    )


def test_span_texts_are_the_sentences() -> None:
    text = "One. Two three. Four"
    spans = [(0, 4), (5, 15), (16, 20)]
    assert list(SpanTexts(text, spans)) == [text[a:b] for a, b in spans]


def test_number_cue_equals_the_regex() -> None:
    rng = random.Random(3)
    alphabet = "oneTWthrfivsxgzyamjuclbdk0 9_-'.İıſ\u212aé"
    samples = TEXTS + [
        "ONE",
        "oNe.",
        "one1",
        "1one",
        "_one",
        "one_",
        "may-be",
        "decades",
        "Decade!",
        "sıx",
        "ſix",
        "twel\u212ae",
        "march\u00e9",
        "x\u0660y",
        "Ⅻ",
        "²",
    ]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))) for _ in range(20000)]
    samples += [
        " ".join(rng.choice(["one", "One", "zone", "x", "ten", "tens", "often", "9"]) for _ in range(3))
        for _ in range(2000)
    ]
    for s in samples:
        assert _holds_number(s) == bool(NUMBER_WORDS.search(s)), s


# --------------------------------------------------------------------------- acronyms


def test_expander_equals_acronym_map_on_partial_and_overlapping_long_forms() -> None:
    rng = random.Random(5)
    words = ["space", "station", "ros", "russian", "orbit", "deep", "network", "dsn", "x", "ss"]
    acronyms = AcronymMap(
        {
            "ros": ("russian", "orbit", "space", "station"),
            "dsn": ("deep", "space", "network"),
            "ss": ("space", "station"),
            "x": ("x", "x"),
            "o": ("orbit",),
        }
    )
    expander = AcronymExpander(acronyms)
    for _ in range(5000):
        terms = [rng.choice(words) for _ in range(rng.randrange(0, 12))]
        assert expander.expand(terms) == reference_expand(acronyms, terms), terms


# --------------------------------------------------------------------------- text terms


def test_text_terms_are_the_sentences_terms_where_claimed() -> None:
    fast = Analyzer()
    texts = [p for p in ARTICLE.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    texts += [
        "The U.S. Army met. Dr. Smith said so.",
        "US sanctions hit IT staff. WE ARE HERE.",
        "ALL CAPS. lower",
        "Don't stop-believing: o'clock isn't _under_score_ 3.14 x2.",
        "café naïve. ok",
        "a\r\nb. c",
        "One sentence.  Two sentences!",
        "(Aside.) Then more",
        "x.y. z",
    ]
    claimed = 0
    for text in texts:
        spans = sentence_spans(text)
        if text_terms_are_sentence_terms(text, spans):
            claimed += 1
            assert fast.terms(text) == list(chain.from_iterable(fast.terms(text[a:b]) for a, b in spans)), text
            assert fast.terms(text) == ReferenceAnalyzer().terms(text), text
    assert claimed > len(texts) // 2


# --------------------------------------------------------------------------- whole answers


@pytest.mark.parametrize("candidates", [15, 30])
async def test_answers_equal_the_reference_decision(built_index: Path, candidates: int) -> None:
    questions = [
        "How long will the ISS keep operating?",
        "When will the Russian Orbital Space Station be launched?",
        "Which Russian engine flew on the Atlas V?",
        "What is JAXA?",
        "Who wrote this?",
        "Who is Bakanov?",
        "When did the Roscosmos delegation arrive in Houston?",
        "What is the ROS?",
        "How many astronauts?",
        "What is the capital of France?",
        "NASA NASA NASA",
        "space station crew launch year",
        "Which person leads Roscosmos?",
        "What did Isaacman say about the ISS in 2025?",
    ]
    reader = await IndexReader.open(built_index)
    try:
        for analyzer in (None, type("OtherAnalyzer", (Analyzer,), {})()):
            answerer = Answerer(reader, AnswerParams(candidates=candidates), analyzer)
            for question in questions:
                for top_k in (1, 3, 10):
                    terms, expanded = answerer.query_terms(question)
                    ranks = answerer.analyse(question).ranks
                    found = reader.bm25.top_k(expanded, max(candidates, top_k))
                    if not found:
                        continue
                    stored = reader.passages_sync([h.index for h in found])
                    got = answerer._decide(question, terms, expanded, found, stored, top_k, ranks)
                    assert answer_key(got) == answer_key(
                        reference_decide(answerer, question, terms, expanded, found, stored, top_k, ranks)
                    ), question
    finally:
        await reader.close()


async def test_postings_say_which_terms_a_passage_holds(built_index: Path) -> None:
    """What `_coverage` reads from BM25 instead of analysing the top passage again: for every
    passage, the terms its postings hold plus its context's are its analysed, expanded text
    and context terms."""
    reader = await IndexReader.open(built_index)
    try:
        answerer = Answerer(reader)
        stored = await reader.passages(range(reader.bm25.n_docs))
        analysed = {
            sp.index: set(answerer._expand(answerer._terms(sp.passage.text)))
            | set(answerer._expand(answerer._terms(sp.passage.context)))
            for sp in stored
        }
        probe = sorted(set().union(*analysed.values()) | {"nosuchterm", "zzz"})
        for sp in stored:
            context = answerer._context_terms(sp.passage.context, sp.context_terms)
            assert reader.bm25.held_by(sp.index, probe) | context == analysed[sp.index]
    finally:
        await reader.close()
