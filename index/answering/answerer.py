"""From a question to an Answer: retrieve, re-rank by best sentence, decide, highlight.

BM25 over passages finds candidates; the sentence of each candidate that best matches the
question re-ranks the candidates (a question usually paraphrases one sentence). The sentence we
highlight is chosen apart (index/answering/highlight.py): the one that answers, which is not always the
one that repeats most of the question. The no-answer rule looks at how much of the question the
top passage actually covers, so "not in my sources" is said when the words barely match,
whatever the raw score.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..analysis import AcronymExpander, Analyzer, fold_token, same_family
from ..indexfile import IndexReader, StoredPassage
from ..ingest.passages import Passage
from ..ranking.bm25 import BM25Index
from ..ranking.bm25 import Hit as BM25Hit
from ..ranking.rerank import QueryProfile, RerankWeights, SpanTexts
from ..ranking.semantic import SemanticRerank
from ..ranking.source_weights import weighted_top_k
from .decline import answers, question_coverage, semantic_answers, term_weight
from .followup import (
    MAX_CONTEXT_QUESTIONS,
    FollowUpWeights,
    Turn,
    pooled_top_k,
    stands_alone,
    term_weights,
    without_opening,
)
from .highlight import SentenceChooser, code_sentences, heading_terms
from .question_terms import QuestionAnalyser, QuestionTerms, corrected_question
from .spelling import Speller, variant_terms

# Questions longer than this are analysed only up to here: nobody asks a 100,000-character
# question on purpose, and analysing one would stall the caller.
MAX_ANALYSED_CHARS = 2000
# Scoring a corpus this large takes long enough that it moves off the event loop.
OFFLOAD_ABOVE_PASSAGES = 50_000
# Distinct context strings (title + section) whose analysed terms an Answerer remembers; many
# candidates of one question, and of the next, share a document's title and section.
CONTEXT_MEMO_LIMIT = 65_536
# The speller's index of deletions is built on the first word that needs it; for a vocabulary
# this large (about 0.3 s and up) it is built in a worker thread, off the event loop.
SPELLER_OFF_LOOP_TERMS = 20_000


# The config.toml key ([answer]) of each re-rank weight, a field of index/ranking/rerank.py's RerankWeights:
# AnswerParams holds the weights as one RerankWeights, and config.toml names them flat.
RERANK_KEYS: dict[str, str] = {
    "sentence_weight": "sentence",
    "sentence_coverage_weight": "sentence_coverage",
    "passage_coverage_weight": "passage_coverage",
    "ordered_pairs_weight": "ordered_pairs",
    "number_weight": "number",
    "name_weight": "name",
    "sentence_k1": "sentence_k1",
    "sentence_b": "sentence_b",
}
# The most passages one answer shows (answer.top_k, `citebot ask --top-k`, `/ask top_k:`).
MAX_TOP_K = 25


@dataclass(frozen=True)
class AnswerParams:
    """How answers are chosen; all of it is in config.toml under [answer] (the re-rank weights
    under the keys of RERANK_KEYS)."""

    top_k: int = 3
    candidates: int = 10
    weights: RerankWeights = RerankWeights()
    answer_type_weight: float = 0.5
    # The decline rule (index/answering/decline.py), chosen with benchmarks/decline_curve.py: a passage
    # answers when it covers min_coverage of the question. weak_coverage == min_coverage turns
    # off the second way (weak_coverage and a margin of min_margin over the runner-up): on a
    # small corpus, one passage stands out by chance, and off-topic questions got answered.
    min_coverage: float = 0.37
    weak_coverage: float = 0.37
    min_margin: float = 1.2
    english_prior: float = 300.0
    common_rank: float = 50.0
    correct_typos: bool = True
    # The optional semantic re-rank (index/ranking/semantic.py, the citebot[semantic] extra).
    semantic: bool = False
    semantic_weight: float = 0.55
    semantic_candidates: int = 25
    semantic_max_passages: int = 20_000
    # With the re-rank on, a passage whose cosine with the question reaches semantic_similarity
    # also answers from semantic_weak_coverage of its words (`decline.semantic_answers`).
    semantic_similarity: float = 0.4
    semantic_weak_coverage: float = 0.25

    def __post_init__(self) -> None:
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise ValueError(f"answer.top_k must be between 1 and {MAX_TOP_K}, got {self.top_k}")
        if self.candidates < self.top_k:
            raise ValueError("answer.candidates must be at least answer.top_k")
        for name in ("min_coverage", "weak_coverage", "semantic_weak_coverage"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"answer.{name} must be between 0 and 1")
        for key, attr in RERANK_KEYS.items():
            if key != "sentence_b" and getattr(self.weights, attr) < 0:
                raise ValueError(f"answer.{key} must not be negative")
        for name in ("answer_type_weight", "min_margin", "english_prior", "common_rank"):
            if getattr(self, name) < 0:
                raise ValueError(f"answer.{name} must not be negative")
        if not 0.0 <= self.weights.sentence_b <= 1.0:
            raise ValueError("answer.sentence_b must be between 0 and 1")
        if not 0.0 <= self.semantic_weight <= 1.0:
            raise ValueError("answer.semantic_weight must be between 0 and 1")
        if not 1 <= self.semantic_candidates <= 100:
            raise ValueError(f"answer.semantic_candidates must be between 1 and 100, got {self.semantic_candidates}")
        if not -1.0 <= self.semantic_similarity <= 1.0:
            raise ValueError("answer.semantic_similarity must be between -1 and 1")
        if self.semantic_max_passages < 0:
            raise ValueError("answer.semantic_max_passages must not be negative")


@dataclass(frozen=True)
class Hit:
    """One returned passage: its rank, score, and the sentence that best answers."""

    rank: int
    score: float
    bm25: float
    passage: Passage
    highlight: tuple[int, int] | None

    @property
    def sentence(self) -> str | None:
        return self.passage.text[self.highlight[0] : self.highlight[1]] if self.highlight else None


@dataclass(frozen=True)
class Answer:
    """What a question gets: an answer sentence with its passages, or an honest decline."""

    question: str
    answered: bool
    hits: list[Hit]
    answer: str | None = None
    coverage: float = 0.0
    margin: float = 0.0
    reason: str | None = None
    terms: list[str] = field(default_factory=list)
    # (word as typed, word searched for instead): typos corrected to the corpus's own words and
    # chat spellings ("yrs") spelt out, in question order.
    corrections: tuple[tuple[str, str], ...] = ()
    # For a follow-up (asked with earlier questions, `Answerer.ask(..., context=...)`): the earlier
    # questions that counted, () when it changed the subject and was answered on its own words;
    # None for a question asked without context.
    context: tuple[str, ...] | None = None
    # The chosen passage's cosine with the question, when the semantic re-rank ran; else None.
    similarity: float | None = None

    @property
    def searched_for(self) -> str | None:
        """The question as it was searched, when a word of it was corrected; else None."""
        if not self.corrections:
            return None
        return corrected_question(self.question, self.corrections)

    def to_json(self) -> dict[str, object]:
        """The documented `citebot ask --json` object."""
        out: dict[str, object] = {
            "question": self.question,
            "answered": self.answered,
            "answer": self.answer,
            "searched_for": self.searched_for,
            "corrections": [{"typed": typed, "searched": searched} for typed, searched in self.corrections],
            "passages": [
                {
                    "rank": h.rank,
                    "score": round(h.score, 6),
                    "id": h.passage.id,
                    "text": h.passage.text,
                    "highlight": list(h.highlight) if h.highlight else None,
                    "citation": {
                        "document": h.passage.citation.document,
                        "author": h.passage.citation.author,
                        "path": h.passage.citation.path,
                        "name": h.passage.citation.display_name,
                        "url": h.passage.citation.url,
                        "kind": h.passage.citation.kind,
                        "section": h.passage.citation.section,
                        "paragraphs": list(h.passage.citation.paragraphs),
                        "pages": list(h.passage.citation.pages) if h.passage.citation.pages else None,
                        "label": h.passage.citation.label,
                    },
                }
                for h in self.hits
            ],
        }
        if self.context is not None:
            out["context"] = list(self.context)
        return out


class Answerer:
    """Answers questions from one open index. Cheap to create; swap it to hot-reload."""

    def __init__(
        self,
        reader: IndexReader,
        params: AnswerParams = AnswerParams(),
        analyzer: Analyzer | None = None,
        follow_up: FollowUpWeights = FollowUpWeights(),
    ) -> None:
        self.reader = reader
        self.params = params
        self.follow_up = follow_up
        self.analyzer = analyzer or Analyzer()
        self.avg_sentence_terms = float(reader.info.meta.get("avg_sentence_terms", "12") or 12)
        # The re-rank analyses ~10 passages per question: the memoised analyser keeps that well
        # under a millisecond.
        self._expander = AcronymExpander(reader.acronyms)
        self._expand = self._expander.expand
        self._terms = self.analyzer.terms
        # The analyser is a pure function of the text: a context's terms are memoised (bounded).
        self._contexts: dict[str, frozenset[str]] = {}
        # The speller stems hundreds of one-edit variants of a misspelt word: with an analyser of
        # its own, they never crowd the memo the passages' words are in.
        spelling = Analyzer()
        self.speller = (
            Speller(reader.bm25.vocabulary, reader.bm25.df, variant_terms(spelling), forget=spelling.forget)
            if params.correct_typos
            else None
        )
        self._analyser = QuestionAnalyser(self.analyzer, reader.bm25.df, self.speller)
        # The optional semantic re-rank (index/ranking/semantic.py); None: lexical only.
        self.semantic = SemanticRerank.for_reader(reader, params.semantic_weight) if params.semantic else None

    def analyse(self, question: str) -> QuestionTerms:
        """The question's search terms, typos and chat spellings corrected (`question_terms`)."""
        return self._analyser.analyse(question[:MAX_ANALYSED_CHARS])

    def query_terms(self, question: str) -> tuple[list[str], list[str]]:
        """The question's search terms, and those plus the other form of any acronym."""
        terms = self.analyse(question).terms
        return terms, self._expand(terms)

    async def ask(self, question: str, top_k: int | None = None, context: Sequence[str] = ()) -> Answer:
        """Answer one question. Never raises for odd text: it declines instead.

        `context`: the conversation's earlier questions, oldest first; the question is then a
        follow-up (index/answering/followup.py) and without them exactly as it would be alone."""
        earlier = [c.strip() for c in context if c and c.strip()] if context else []
        if earlier:
            return await self._follow_up(question, top_k, earlier[-MAX_CONTEXT_QUESTIONS:])
        top_k = self._top_k_of(top_k)
        question = question.strip()
        if not question:
            return Answer(question, False, [], reason="empty question")
        bm25 = self.reader.bm25
        speller = self.speller
        if (
            speller is not None
            and not speller.built
            and bm25.vocabulary_size > SPELLER_OFF_LOOP_TERMS
            and self._analyser.needs_speller(question[:MAX_ANALYSED_CHARS])
        ):
            await asyncio.to_thread(speller.ensure_built)
        analysed = self.analyse(question)
        terms = analysed.terms
        expanded = self._expand(terms)
        if not terms:
            return self._corrected(Answer(question, False, [], reason="no searchable words", terms=terms), analysed)
        depth = max(self.params.candidates if self.semantic is None else self.params.semantic_candidates, top_k)
        # On a large corpus the whole retrieval (scoring, fetching the candidates, the re-rank)
        # runs in one worker thread, so an event loop serving Discord never stalls; so does
        # one that encodes the question for the semantic re-rank (~15 ms).
        if bm25.n_docs > OFFLOAD_ABOVE_PASSAGES or self.semantic is not None:
            answer = await asyncio.to_thread(self._retrieve, question, terms, expanded, depth, top_k, analysed.ranks)
            return self._corrected(answer, analysed)
        found = self._top_k(expanded, depth)
        if not found:
            answer = Answer(question, False, [], reason="no passage shares a word with the question", terms=terms)
            return self._corrected(answer, analysed)
        stored = await self.reader.passages([h.index for h in found])
        return self._corrected(self._decide(question, terms, expanded, found, stored, top_k, analysed.ranks), analysed)

    def _top_k_of(self, top_k: int | None) -> int:
        """The passages to show: as asked, within 1..25, else answer.top_k."""
        return self.params.top_k if top_k is None else max(1, min(int(top_k), MAX_TOP_K))

    async def _follow_up(self, question: str, top_k: int | None, earlier: list[str]) -> Answer:
        """A follow-up: each earlier question is answered (with the ones before it) to find the
        sentence that answered it, then the question is asked with all of them as context."""
        turns: list[Turn] = []
        ranks: dict[str, int] = {}
        said: list[str] = []  # the conversation so far: its names and numbers are no answer
        for i, before in enumerate(earlier):
            answer = await self._with_turns(before, 1, turns, ranks, earlier[:i], " ".join(said))
            said.append(before)
            analysed = self.analyse(before)
            ranks.update({t: r for t, r in analysed.ranks.items() if t not in ranks})
            answer_terms: list[str] = []
            if answer.answered and answer.answer:
                sentence = self.analyse(answer.answer)
                answer_terms = self._expand(sentence.terms)
                ranks.update({t: r for t, r in sentence.ranks.items() if t not in ranks})
                said.append(answer.answer)
            turns.append(Turn(self._expand(analysed.terms), answer_terms))
        return await self._with_turns(question, top_k, turns, ranks, earlier, " ".join(said))

    async def _with_turns(
        self,
        question: str,
        top_k: int | None,
        turns: list[Turn],
        ranks: Mapping[str, int],
        earlier: list[str],
        said: str = "",
    ) -> Answer:
        """`question` answered with `turns` (the earlier questions `earlier`) as context, unless it
        stands alone (followup.stands_alone): then exactly as asked alone."""
        alone = await self.ask(question, top_k)
        if (
            not turns
            or alone.reason == "empty question"
            or stands_alone(question, alone.terms, alone.coverage, alone.answered, self.follow_up)
        ):
            return dataclasses.replace(alone, context=() if turns else None)
        top_k = self._top_k_of(top_k)
        question = question.strip()
        analysed = self.analyse(question)
        own = self._expand(analysed.terms)
        weights = term_weights(own, turns, self.follow_up)
        expanded = own + [t for t in weights if t not in own]
        own_set = set(own)
        terms = list(dict.fromkeys([*analysed.terms, *(t for t in weights if t not in own_set)]))
        all_ranks = {**ranks, **analysed.ranks}
        depth = max(self.params.candidates if self.semantic is None else self.params.semantic_candidates, top_k)

        def retrieve() -> Answer:
            found = pooled_top_k(self.reader.bm25, own, weights, depth, self.follow_up.pool, self.reader.weights)
            if not found:
                return Answer(question, False, [], reason="no passage shares a word with the question", terms=terms)
            stored = self.reader.passages_sync([h.index for h in found])
            return self._decide(
                question,
                terms,
                expanded,
                found,
                stored,
                top_k,
                all_ranks,
                scale=weights,
                said=f"{said} {question}",
                cue=without_opening(question),
            )

        if self.reader.bm25.n_docs > OFFLOAD_ABOVE_PASSAGES or self.semantic is not None:
            answer = await asyncio.to_thread(retrieve)
        else:
            answer = retrieve()
        return self._corrected(dataclasses.replace(answer, context=tuple(earlier)), analysed)

    def _retrieve(
        self,
        question: str,
        terms: list[str],
        expanded: list[str],
        depth: int,
        top_k: int,
        ranks: Mapping[str, int] | None = None,
    ) -> Answer:
        """`ask`'s retrieval and decision, blocking (for a worker thread)."""
        found = self._top_k(expanded, depth)
        if not found:
            return Answer(question, False, [], reason="no passage shares a word with the question", terms=terms)
        stored = self.reader.passages_sync([h.index for h in found])
        return self._decide(question, terms, expanded, found, stored, top_k, ranks)

    def _corrected(self, answer: Answer, analysed: QuestionTerms) -> Answer:
        """`answer`, saying which words were searched for as others (none: as it is)."""
        shown = tuple(
            (c.typed, c.meant or self._spelling_in(c.terms[0], answer.hits)) for c in analysed.corrections if c.terms
        )
        return dataclasses.replace(answer, corrections=shown) if shown else answer

    def _spelling_in(self, term: str, hits: Sequence[Hit]) -> str:
        """How the sources spell `term`: the first word of the shown passages (or their title
        and section) that analyses to it; the term itself when none does."""
        term_of = self.analyzer.term
        for hit in hits:
            for text in (hit.passage.text, hit.passage.context):
                tokens, mixed = self.analyzer.raw(text)
                for token in tokens:
                    if term_of(fold_token(token, mixed)) == term:
                        return token
        return term

    def _decide(
        self,
        question: str,
        terms: list[str],
        expanded: list[str],
        found: Sequence,
        stored: list[StoredPassage],
        top_k: int,
        ranks: Mapping[str, int] | None = None,
        scale: Mapping[str, float] | None = None,
        said: str | None = None,
        cue: str | None = None,
    ) -> Answer:
        """Re-rank the candidates, then decide. `ranks` is the English rank of the question's terms
        (`QuestionTerms.ranks`), for the decline rule; without it, no term has one. `scale` weighs
        each term (a follow-up's context terms less than its own, index/answering/followup.py); None: all 1.
        `cue` is the text whose wording says what kind of answer is wanted, `said` the text whose
        names are no answer (both the question unless given)."""
        bm25: BM25Index = self.reader.bm25
        weights = self.params.weights
        # Each question term's IDF, looked up once per question rather than once per candidate.
        idf = {t: bm25.idf(t) for t in dict.fromkeys(expanded)}
        if scale is not None:
            idf = {t: v * scale.get(t, 1.0) for t, v in idf.items()}
        profile = QueryProfile(question if cue is None else cue, expanded, idf, self.avg_sentence_terms, weights, said)
        ranked = []
        for hit, sp in zip(found, stored):
            sentence_terms = self._sentence_terms(sp)
            context = self._context_terms(sp.passage.context, sp.context_terms)
            total, _ = profile.total(hit.score, SpanTexts(sp.passage.text, sp.sentences), sentence_terms, context)
            weight = self._source_weight(hit.index)  # corpus.weights: 1.0 changes no bit
            ranked.append((total * weight, hit.score * weight, sp, sentence_terms, context))
        # Ties keep BM25's order (score, then position), the same rule BM25Index documents.
        ranked.sort(key=lambda r: -r[0])
        similarity = None  # the chosen passage's cosine, with the semantic re-rank
        if self.semantic is not None:  # the semantic re-rank: the mixed score orders, and is the score shown
            mixed = self.semantic.order(question, [r[0] for r in ranked], [r[2].passage.text for r in ranked])
            if mixed is not None:
                ranked = [(score, *ranked[i][1:]) for i, score, _ in mixed]
                similarity = mixed[0][2]
        # The highlight is the sentence that answers (index/answering/highlight.py), chosen only for the
        # passages shown.
        chooser = SentenceChooser(
            (question if cue is None else cue)[:MAX_ANALYSED_CHARS],
            expanded,
            idf,
            self.avg_sentence_terms,
            weights.sentence_k1,
            weights.sentence_b,
            self.params.answer_type_weight,
            None if said is None else said[:MAX_ANALYSED_CHARS],
        )
        hits = []
        for rank, (total, raw, sp, sentence_terms, context) in enumerate(ranked[:top_k]):
            text = sp.passage.text
            best = chooser.choose(
                SpanTexts(text, sp.sentences),
                sentence_terms,
                heading_terms(text, sp.sentences, context, self._label_terms),
                rank == 0,
                code_sentences(text, sp.sentences),
            )
            hits.append(Hit(rank + 1, total, raw, sp.passage, sp.sentences[best] if best is not None else None))
        first = ranked[0][2]
        coverage = self._coverage(terms, hits[0].passage, first, ranks, scale)
        # The margin is BM25's own: how far the chosen passage's match stands above every other
        # candidate's. A lone clear match is trusted with partial coverage; a scatter of equally
        # weak matches is not.
        runner_up = max((r[1] for r in ranked[1:]), default=0.0)
        margin = hits[0].bm25 / runner_up if runner_up > 0 else math.inf
        p = self.params
        answered = answers(coverage, margin, p.min_coverage, p.weak_coverage, p.min_margin) or semantic_answers(
            coverage, similarity, p.semantic_weak_coverage, p.semantic_similarity
        )
        top = hits[0]
        return Answer(
            question=question,
            answered=answered,
            hits=hits,
            answer=top.sentence if answered else None,
            coverage=coverage,
            margin=margin,
            similarity=similarity,
            reason=None if answered else "the sources do not answer this",
            terms=terms,
        )

    def _top_k(self, expanded: list[str], depth: int) -> list[BM25Hit]:
        """BM25's `depth` best passages; by BM25 score times source weight when the index
        weighs its sources (`source_weights`), else exactly BM25's own top-k."""
        weights = self.reader.weights
        if weights is None:
            return self.reader.bm25.top_k(expanded, depth)
        return weighted_top_k(self.reader.bm25, expanded, depth, weights)

    def _source_weight(self, position: int) -> float:
        """The weight corpus.weights gives the passage at this BM25 position (1.0 unless set)."""
        weights = self.reader.weights
        return 1.0 if weights is None else float(weights[position])

    def _label_terms(self, label: str) -> list[str]:
        """A paragraph label's terms, made as its sentence's terms were (acronyms expanded)."""
        return self._expand(self._terms(label))

    def _sentence_terms(self, sp: StoredPassage) -> list[Sequence[str]]:
        """Each sentence's terms after acronym expansion, as the re-rank scores them."""
        # The index stores each sentence's terms as the analyser makes them.
        stored: Sequence[Sequence[str]] | None = sp.sentence_terms
        if stored is None:
            text = sp.passage.text
            stored = [self._terms(text[a:b]) for a, b in sp.sentences]
        if not self._expander.can_expand(itertools.chain.from_iterable(stored)):
            return list(stored)  # (no sentence holds the first term of a long form)
        return [self._expand(t) for t in stored]

    def _context_terms(self, context: str, stored: Sequence[str] | None = None) -> frozenset[str]:
        """A passage context's expanded terms, memoised (bounded), from the terms the index stored
        for it when there are (titles hold words no question used before, and stemming them is most
        of a cold question's re-rank)."""
        memo = self._contexts
        try:
            return memo[context]
        except KeyError:
            pass
        terms = frozenset(self._expand(stored if stored is not None else self._terms(context)))
        if len(memo) >= CONTEXT_MEMO_LIMIT:
            memo.clear()
        memo[context] = terms
        return terms

    def _coverage(
        self,
        terms: list[str],
        passage: Passage,
        stored: StoredPassage | None = None,
        ranks: Mapping[str, int] | None = None,
        scale: Mapping[str, float] | None = None,
    ) -> float:
        """Weighted share of the question's terms that the passage covers (`decline`).

        Each term weighs its IDF over the corpus and `answer.english_prior` passages of English
        (`ranks`: the English rank of the terms that have one), so a term no source uses weighs
        as the rarest terms do unless it is a common English word. A term counts as covered when
        the passage or its context (title, section) has it, or has its acronym partner ("ROS"
        for "Russian Orbital Space Station"). `stored` is the passage as read from the index.
        """
        held = self.held_terms(terms, passage, stored)
        weight = self.term_weights(ranks)
        if scale is not None:  # a follow-up: context terms count as much less as they weigh
            base = weight
            weight = lambda term: base(term) * scale.get(term, 1.0)  # noqa: E731
        return question_coverage(terms, held, weight)

    def term_weights(self, ranks: Mapping[str, int] | None = None) -> Callable[[str], float]:
        """The decline rule's weight of a question term (`decline.term_weight`)."""
        bm25, p = self.reader.bm25, self.params
        ranks = ranks or {}
        return lambda term: term_weight(bm25.n_docs, bm25.df(term), ranks.get(term), p.english_prior, p.common_rank)

    def held_terms(self, terms: Sequence[str], passage: Passage, stored: StoredPassage | None = None) -> set[str]:
        """Which of `terms` the passage or its context holds (its acronym partners included),
        or holds a word of the same family of (`word_families`: "publisher" for "publication")."""
        bm25 = self.reader.bm25
        own = stored if stored is not None and stored.passage is passage else None  # (read for this passage)
        context = self._context_terms(passage.context, own.context_terms if own is not None else None)
        if own is not None and own.sentence_terms is not None:
            # The index stored the sentence terms: the passage's BM25
            # terms are exactly its expanded text terms plus its context's, so the postings
            # say which question terms it holds, without analysing its text again.
            held = bm25.held_by(own.index, terms) | context
            if len(held.intersection(terms)) < len(set(terms)):
                passage_terms = set(itertools.chain.from_iterable(self._sentence_terms(own))) | context
                held |= same_family((t for t in terms if t not in held), passage_terms)
            return held
        passage_terms = set(self._expand(self._terms(passage.text))) | context
        held = passage_terms.intersection(terms)
        return held | same_family((t for t in terms if t not in held), passage_terms)
