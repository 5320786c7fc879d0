"""Which sentence of a passage answers the question: the one we highlight and quote.

The re-rank's best sentence is the one that repeats most of the question, and that is often not
the answer. A news article's lead restates the headline; in a "Label: text" paragraph the label
names the topic and the next sentence says what happened. So the highlight is chosen by two
rules, both about the question rather than about the sentence's place in the passage:

1. Words a heading already says do not pick a sentence. The passage's title and section, and a
   short title-case label opening a paragraph ("Joint Cross-Flight Programs: ..."), are what every
   sentence under them is about; a sentence is scored (BM25, the re-rank's sentence k1 and b) on
   the question's other words.
2. A sentence that holds the kind of answer asked for (`answer_types`: a date for "when", a number
   for "how many", a name for "who", a place for "where") wins over a better-matching one without
   it, when it scores at least 1 / (1 + `answer_type_weight`) of the best.

A line of code (inside a ``` or ~~~ fence: a Markdown file's code blocks) is searched like any
text but never chosen: code shows how, it does not say what. Ties keep the earlier sentence.
A top passage in which no sentence holds a question word beyond its headings' (it matched
through its title, section or author: the author bio for "who wrote this?") shows its first
sentence of the wanted kind, else its first; a lower one shows none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from ..analysis import answer_type, holds_answer, question_words

# A paragraph's label: a colon after one to five capitalised words (small joining words allowed
# between them: "Grants and Budgets") at a sentence's start, then text. Matched at the sentence's
# start position, so no "^".
_CAP = r"[A-Z][\w'’-]*"
LABEL = re.compile(
    r"[\s*_\"'“]*(" + _CAP + r"(?:[ \t]+(?:(?:and|or|of|the|for|in|on|to|with|&)[ \t]+)?" + _CAP + r"){0,4}):[ \t]"
)
PARAGRAPH_BREAK = "\n\n"
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.M)


def code_sentences(text: str, spans: Sequence[tuple[int, int]]) -> list[bool]:
    """For each sentence (`spans` into `text`), whether it starts inside a fenced code block
    (the fence lines included; an unclosed fence runs to the end of the text)."""
    if "```" not in text and "~~~" not in text:
        return [False] * len(spans)
    regions: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    for fence in _FENCE.finditer(text):
        line_end = text.find("\n", fence.end())
        line_end = len(text) if line_end == -1 else line_end
        if opened is None:
            opened = (fence.start(), fence.group(1))
        elif fence.group(1) == opened[1] and not text[fence.end() : line_end].strip(fence.group(1)[0]).strip():
            regions.append((opened[0], line_end))
            opened = None
    if opened is not None:
        regions.append((opened[0], len(text)))
    return [any(a <= start < b for a, b in regions) for start, _ in spans]


def heading_terms(
    text: str, spans: Sequence[tuple[int, int]], context: AbstractSet[str], analyse: Callable[[str], Sequence[str]]
) -> list[AbstractSet[str]]:
    """For each sentence (`spans` into `text`), the terms of what heads it: the passage's
    `context` terms, plus the terms of a label opening its paragraph (`analyse` turns the
    label's text into terms, as the sentences' terms were made)."""
    if ":" not in text:  # no label without its colon: every sentence is headed by the context alone
        return [context] * len(spans)
    out: list[AbstractSet[str]] = []
    label: AbstractSet[str] = frozenset()
    previous_end = 0
    for start, end in spans:
        if PARAGRAPH_BREAK in text[previous_end:start]:
            label = frozenset()
        found = LABEL.match(text, start, end)
        if found:
            label = frozenset(analyse(found.group(1)))
        out.append(context | label if label else context)
        previous_end = end
    return out


class SentenceChooser:
    """The answering-sentence rule for one question, worked out once and applied to the few
    passages shown (never to the whole corpus)."""

    __slots__ = ("query", "_query_set", "weights", "kind", "asked", "k1", "b", "avg", "floor_factor")

    def __init__(
        self,
        question: str,
        query: Sequence[str],
        idf: Mapping[str, float],
        avg_sentence_terms: float,
        sentence_k1: float,
        sentence_b: float,
        answer_type_weight: float,
        said: str | None = None,
    ) -> None:
        """`said`: the text whose words are no answer (a follow-up's whole conversation); None:
        the question."""
        self.query = tuple(query)
        self.weights = {t: idf[t] for t in set(query)}
        self._query_set = frozenset(query)
        self.kind = answer_type(question)
        self.asked = question_words(question if said is None else said)
        self.k1, self.b, self.avg = sentence_k1, sentence_b, avg_sentence_terms or 1.0
        self.floor_factor = 1.0 / (1.0 + answer_type_weight)

    def choose(
        self,
        sentences: Sequence[str],
        sentence_terms: Sequence[Sequence[str]],
        headings: Sequence[AbstractSet[str]],
        unmatched_first: bool = True,
        code: Sequence[bool] = (),
    ) -> int | None:
        """The index of the answering sentence, or None for a passage without sentences, and
        for one whose sentences hold no question term unless `unmatched_first` (the top
        passage, which has to show something). Sentences flagged in `code` (`code_sentences`)
        are never chosen: a passage of code alone gets None."""
        n = min(len(sentences), len(sentence_terms), len(headings))
        candidates = [i for i in range(n) if not (i < len(code) and code[i])]
        if not candidates:
            return None
        allowed = set(candidates)
        scores = [self._score(sentence_terms[i], headings[i]) if i in allowed else -1.0 for i in range(n)]
        best = max(scores)
        if best <= 0:  # matched through its headings only: every sentence is as good
            if not unmatched_first:
                return None
            return next((i for i in candidates if self._holds(sentences[i])), candidates[0])
        if self.kind is None:
            return scores.index(best)  # the first best, as the order below would put it
        order = sorted(range(n), key=lambda i: (-scores[i], i))
        floor = best * self.floor_factor
        for i in order:
            if scores[i] <= 0 or scores[i] < floor:
                break
            if self._holds(sentences[i]):
                return i
        return order[0]

    def _holds(self, sentence: str) -> bool:
        return self.kind is not None and holds_answer(sentence, self.kind, self.asked)

    def _score(self, terms: Sequence[str], heading: AbstractSet[str]) -> float:
        """BM25 of one sentence over the question's terms that `heading` does not hold."""
        present = self._query_set.intersection(terms)
        if not present:  # most sentences of a candidate share no term with the question
            return 0.0
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avg)
        score = 0.0
        for t in self.query:  # in question order, so the sum is the same float as ever
            if t in present and t not in heading:
                c = terms.count(t)
                score += self.weights[t] * c * (self.k1 + 1) / (c + norm)
        return score
