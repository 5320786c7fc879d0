"""Knowledge gaps: what people asked that the sources did not answer, grouped by subject.

Why: the questions the bot declined, and the answers people voted 👎, say which articles are
missing. One by one they are noise; grouped by the content words they share ("greenhouse",
"water"), the biggest groups are the articles to write next. No discord import: `/gaps` and
`citebot gaps` both render what `gap_report` returns.

The grouping is greedy and deterministic, so the same log gives the same report:
1. each question's content words are its index terms (stopwords, question words and the
   measure word of "how long"/"how many" dropped; stemmed, so "grow" and "growing" meet);
2. the word shared by the most remaining questions (at least two; ties: alphabetical) makes a
   group of every remaining question holding it, labelled with the words they all share;
3. repeat with the rest; a question that shares no word with another is a group of its own.
Groups come most frequent first. Each shows its count, three example questions (the most
recent distinct ones), the passage the bot most often offered for them, and the reasons
people gave with their 👎.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .analysis import SHOUT, Analyzer, drop_measure_words, raw_tokens

EXAMPLES = 3
MAX_REASONS = 5


@dataclass(frozen=True)
class GapQuestion:
    """One logged question that is a gap: declined, or answered and voted 👎."""

    question: str
    asked_at: float
    declined: bool
    downvotes: int = 0
    reasons: tuple[str, ...] = ()
    closest: str | None = None  # the top passage's citation label
    closest_id: str | None = None  # ... and its id (`/source`, `citebot show`)
    collection: str = "default"


@dataclass(frozen=True)
class GapGroup:
    """Questions that share content words."""

    words: tuple[str, ...]
    questions: tuple[GapQuestion, ...]
    examples: tuple[str, ...]
    closest: str | None
    closest_id: str | None
    reasons: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.questions)

    @property
    def declined(self) -> int:
        return sum(q.declined for q in self.questions)

    @property
    def downvotes(self) -> int:
        return sum(q.downvotes for q in self.questions)

    def to_json(self) -> dict[str, Any]:
        return {
            "words": list(self.words),
            "count": self.count,
            "declined": self.declined,
            "downvotes": self.downvotes,
            "examples": list(self.examples),
            "closest_passage": (
                {"id": self.closest_id, "citation": self.closest} if self.closest or self.closest_id else None
            ),
            "reasons": list(self.reasons),
            "collections": sorted({q.collection for q in self.questions}),
        }


@dataclass(frozen=True)
class GapReport:
    """The gaps of one window of `days`."""

    days: int
    since: float
    groups: tuple[GapGroup, ...] = field(default_factory=tuple)

    @property
    def questions(self) -> int:
        return sum(g.count for g in self.groups)

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "since": self.since,
            "questions": self.questions,
            "groups": [g.to_json() for g in self.groups],
        }


def content_words(question: str, analyzer: Analyzer) -> dict[str, str]:
    """The question's content terms, each with the word as typed that gave it (first seen)."""
    words: dict[str, str] = {}
    for token in drop_measure_words(raw_tokens(question)):
        term = analyzer.term(token)
        if term and term not in words:
            words[term] = token.lstrip(SHOUT)
    return words


def group_gaps(questions: Sequence[GapQuestion], analyzer: Analyzer | None = None) -> list[GapGroup]:
    """The questions in groups by the content words they share (see the module docstring)."""
    analyzer = analyzer or Analyzer()
    analysed = [(q, content_words(q.question, analyzer)) for q in questions]
    remaining = list(range(len(analysed)))
    groups: list[GapGroup] = []
    while remaining:
        counts = Counter(term for i in remaining for term in analysed[i][1])
        if not counts:
            break
        pivot, most = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if most < 2:
            break
        members = [i for i in remaining if pivot in analysed[i][1]]
        shared = set.intersection(*(set(analysed[i][1]) for i in members))
        order = [pivot] + sorted(shared - {pivot})
        groups.append(_group(order, [analysed[i] for i in members]))
        remaining = [i for i in remaining if i not in set(members)]
    alone: dict[tuple[str, ...], list[int]] = {}
    for i in remaining:  # shares no word with another: one group per distinct set of words
        alone.setdefault(tuple(sorted(analysed[i][1])), []).append(i)
    for terms, members in alone.items():
        groups.append(_group(list(terms), [analysed[i] for i in members]))
    groups.sort(key=lambda g: (-g.count, g.words))
    return groups


def _group(terms: Sequence[str], members: Sequence[tuple[GapQuestion, dict[str, str]]]) -> GapGroup:
    """A group of `members` labelled by `terms`, each shown as the word typed most often for it."""
    words = tuple(Counter(m[1][t] for m in members if t in m[1]).most_common(1)[0][0] for t in terms)
    newest = sorted((m[0] for m in members), key=lambda q: -q.asked_at)
    examples: list[str] = []
    for q in newest:
        if q.question.casefold() not in {e.casefold() for e in examples}:
            examples.append(q.question)
        if len(examples) == EXAMPLES:
            break
    offered = Counter(q.closest_id or q.closest for q in newest if q.closest_id or q.closest)
    closest = closest_id = None
    if offered:
        key = max(offered, key=lambda k: offered[k])  # most offered; ties: the most recent (first seen)
        first = next(q for q in newest if (q.closest_id or q.closest) == key)
        closest, closest_id = first.closest, first.closest_id
    reasons = list(dict.fromkeys(r for q in newest for r in q.reasons if r))[:MAX_REASONS]
    return GapGroup(
        words=words,
        questions=tuple(m[0] for m in members),
        examples=tuple(examples),
        closest=closest,
        closest_id=closest_id,
        reasons=tuple(reasons),
    )


def gap_report(
    questions: Sequence[GapQuestion], days: int, since: float, analyzer: Analyzer | None = None
) -> GapReport:
    """The report for a window: the questions grouped, most frequent group first."""
    return GapReport(days=days, since=since, groups=tuple(group_gaps(questions, analyzer)))
