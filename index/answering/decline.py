"""The "not in my sources" rule: how much of the question the chosen passage covers.

A passage answers a question when it holds the question's words, the informative ones above
all. Every distinct question term weighs its IDF, and the words no source uses count too: a
question about Hamlet is not answered by an article that never names Hamlet, however well its
other words match. (Before they counted, SQuAD questions asked against the bundled article were
answered 44% of the time from whatever their remaining common words matched.)

Which words are informative, a small corpus cannot tell: in a one-article corpus the article's
subject ("Roscosmos") is in every passage, so its corpus IDF is about zero, and every word it
does not use -- "runs", "days" -- looks as rare as "Hamlet". So the IDF here is taken over the
corpus plus `prior` passages of general English, in which a word among the `common_rank` most
common English words (index/data/english-words.txt) is in every passage and a rarer one in
proportionally fewer (Zipf's law: a word's frequency falls as 1/rank); a word that is not in the
English list at all -- a name, a number, jargon, a corrected typo -- is in none of them. A
million-passage corpus outweighs the prior, and its own IDF is what counts; in a small one the
English prior tells "runs" (common, probably paraphrased) from "Hamlet" (a subject).

Typos and chat spellings are corrected first (`question_terms`), so a misspelt word is not
mistaken for an unknown subject.

With the optional semantic re-rank, the chosen passage's cosine with the question is a second
witness: a paraphrase ("the agency heads" for "the chiefs") covers few of the question's words
but stays close in meaning, while an off-topic question matched on a stray word does not. Chosen
with that evidence on the dev half of the decline sets (benchmarks/decline_curve.py's split) and
reported on the test half: SQuAD's answerable questions declined 2.2% -> 0.8%, off-topic ones
declined 97.8% -> 97.9%.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable


def term_weight(n_docs: int, df: int, english_rank: int | None, prior: float, common_rank: float) -> float:
    """Lucene's IDF of a term in `df` of the corpus's `n_docs` passages, over the corpus plus
    `prior` passages of English in which the term's share is min(1, common_rank / english_rank)
    (none when it has no English rank)."""
    share = 0.0 if english_rank is None or common_rank <= 0 else min(1.0, common_rank / english_rank)
    n = n_docs + prior
    d = df + prior * share
    return math.log(1.0 + (n - d + 0.5) / (d + 0.5))


def question_coverage(terms: Iterable[str], held: Collection[str], weight: Callable[[str], float]) -> float:
    """Weighted share of the distinct `terms` that `held` (the passage's terms) holds."""
    total = found = 0.0
    for term in dict.fromkeys(terms):
        w = weight(term)
        total += w
        if term in held:
            found += w
    return found / total if total else 0.0


def answers(coverage: float, margin: float, min_coverage: float, weak_coverage: float, min_margin: float) -> bool:
    """Whether a passage covering `coverage` of the question, whose BM25 score is `margin` times
    the runner-up's, answers it: it covers `min_coverage`, or `weak_coverage` while standing
    clearly above every other candidate."""
    return coverage >= min_coverage or (coverage >= weak_coverage and margin >= min_margin)


def semantic_answers(coverage: float, similarity: float | None, weak_coverage: float, min_similarity: float) -> bool:
    """Whether a passage answers on the semantic witness: its cosine with the question reaches
    `min_similarity` and it covers at least `weak_coverage` (False without a cosine)."""
    return similarity is not None and similarity >= min_similarity and coverage >= weak_coverage
