"""Follow-up questions: how a conversation's earlier questions count when the next one is asked.

"and who builds it?" says nothing of rockets; the question before it ("Which rocket used the
RD-181 engines?") and the passage that answered it do. So a follow-up is searched with its own
terms (weight 1) plus the earlier questions' terms, weighing less than the follow-up's own
words: the newest earlier question `FollowUpWeights.question` (0.5), each question further back
`decay` times as much as the one after it, and the terms of the sentence that answered each
`passage` times as much (0 by default: as search terms they pulled every follow-up back to the
passage that had answered already). A term the follow-up itself says keeps weight 1. The
weights multiply each term's BM25 contribution (`pooled_top_k`) and its IDF in the re-rank, the
highlight and the "not in my sources" coverage (`index/answering/answerer.py`).

The sentences that answered count in one more way: what the conversation has already said is no
answer. "who" wants a name, and "Antares" (the answer before) or "International Space Station"
(in it) are not the name wanted; the re-rank's name cue and the highlight's answer kinds skip
the conversation's names as they skip the question's own (`said` in `index/answering/answerer.py`), and
a continuing opening is dropped before the wording is read ("and who builds it?" is a "who"
question, `without_opening`).

A follow-up that changes the subject ("Who is the head of Roscosmos?" after a question about
the ISS) is answered on its own words: `stands_alone` is true when it holds no word that refers
back (`refers_back`: "it", "they", "there", "then", a leading "and", ...) and its own words,
asked alone, are covered to at least `FollowUpWeights.self_contained` by the passage they find.
A follow-up with no searchable words of its own ("why?", "like what?") is searched with the
context alone.

The weights were chosen on the odd lines of tests/eval/followups.jsonl and are reported on its
even lines too (README, "Follow-up questions").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..ranking.bm25 import BM25Index, Hit

# At most this many earlier questions count (the newest ones); older ones have decayed to
# almost nothing, and each is answered again to find the passage that answered it.
MAX_CONTEXT_QUESTIONS = 3

# Words that point back at something said before. Stopwords all, so no question term shows them.
REFERRING_WORDS = frozenset(
    "it its itself they them their theirs themselves this that these those there he him his himself she her "
    "hers herself then one ones such same else also too other others former latter".split()
)
# Openings that continue the conversation ("and when?", "what about the ROS?").
CONTINUING_OPENINGS = re.compile(
    r"^\W*(and|but|so|or|also|plus|then|what about|how about|like what|why not)\b", re.IGNORECASE
)
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


@dataclass(frozen=True)
class FollowUpWeights:
    """How much the context weighs against the follow-up's own words (each of which weighs 1)."""

    question: float = 0.5
    # The answering sentence's terms as search terms: any weight tried (0.05-0.25) lost tuning
    # questions to the earlier answer's passage, so by default it counts through `said` only.
    passage: float = 0.0
    decay: float = 0.5
    self_contained: float = 0.75
    # Each weight group (the follow-up's own terms, each context weight) contributes its best
    # `pool * depth` passages to the candidates that are scored with every weight.
    pool: int = 3

    def __post_init__(self) -> None:
        for name in ("question", "passage", "decay"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(
                    f"follow-up weight {name} must be at least 0 and below 1 (the follow-up's own "
                    f"words weigh 1), got {getattr(self, name)}"
                )
        if not 0.0 <= self.self_contained <= 1.0:
            raise ValueError("follow-up self_contained must be between 0 and 1")
        if self.pool < 1:
            raise ValueError("follow-up pool must be at least 1")


@dataclass(frozen=True)
class Turn:
    """One earlier question of the conversation: its search terms (acronyms expanded), and the
    terms of the sentence that answered it (empty when the sources did not answer it)."""

    terms: Sequence[str]
    answer_terms: Sequence[str] = ()


def refers_back(question: str) -> bool:
    """Whether the question points back at the conversation ("it", "there", a leading "and")."""
    if CONTINUING_OPENINGS.search(question):
        return True
    return any(word.lower() in REFERRING_WORDS for word in _WORD.findall(question))


def without_opening(question: str) -> str:
    """The question without its continuing opening ("and who builds it?" -> "who builds it?"),
    so its wording says what kind of answer it wants ("who": a name)."""
    match = CONTINUING_OPENINGS.search(question)
    return question[match.end() :].lstrip(" ,") if match else question


def stands_alone(
    question: str, own_terms: Sequence[str], own_coverage: float, own_answered: bool, weights: FollowUpWeights
) -> bool:
    """Whether a follow-up changes the subject and is answered on its own words (module docstring).
    `own_coverage` and `own_answered` are what asking it alone gave."""
    return bool(own_terms) and not refers_back(question) and own_answered and own_coverage >= weights.self_contained


def term_weights(own: Sequence[str], turns: Sequence[Turn], weights: FollowUpWeights) -> dict[str, float]:
    """Each search term's weight: 1 for the follow-up's own terms, and for a context term the
    largest weight any turn gives it (`turns` oldest first; the newest is the one just before)."""
    out: dict[str, float] = {}
    recent = list(turns)[-MAX_CONTEXT_QUESTIONS:]
    for age, turn in enumerate(reversed(recent)):
        factor = weights.decay**age
        for terms, w in ((turn.terms, weights.question * factor), (turn.answer_terms, weights.passage * factor)):
            for term in terms:
                if w > out.get(term, 0.0):
                    out[term] = w
    for term in own:
        out[term] = 1.0
    return {t: w for t, w in out.items() if w > 0.0}


def pooled_top_k(
    bm25: BM25Index,
    own: Sequence[str],
    weights: Mapping[str, float],
    depth: int,
    pool: int,
    source_weights: np.ndarray | None = None,
) -> list[Hit]:
    """The `depth` best passages by the weighted BM25 score sum(weight(t) * contribution(t)),
    times the source weight when there is one, best first (ties: smaller position first).

    Candidates are the best `pool * depth` passages of each weight group's terms alone (the
    follow-up's own terms keep their repeats); every candidate is then scored exactly with all
    the groups. A passage outside every group's pool can still have the best sum, but only by
    scoring well in several groups at once, which the pool's depth makes unlikely."""
    groups: dict[float, list[str]] = {}
    for term in own:
        groups.setdefault(1.0, []).append(term)
    for term, w in weights.items():
        if w != 1.0:
            groups.setdefault(w, []).append(term)
    candidates: set[int] = set()
    for terms in groups.values():
        candidates.update(h.index for h in bm25.top_k(terms, pool * depth))
    if not candidates:
        return []
    ordered = sorted(candidates)
    total = np.zeros(len(ordered), dtype=np.float64)
    for w, terms in groups.items():
        total += w * np.asarray(bm25.scores(terms, ordered), dtype=np.float64)
    scored = [(float(s), i) for s, i in zip(total.tolist(), ordered) if s > 0.0]
    if source_weights is not None:
        ranked = sorted(scored, key=lambda si: (-(si[0] * float(source_weights[si[1]])), si[1]))
    else:
        ranked = sorted(scored, key=lambda si: (-si[0], si[1]))
    return [Hit(i, s) for s, i in ranked[:depth]]
