"""Answering: from a question to an `Answer` with cited passages and a highlighted sentence.

- `answerer.Answerer`: retrieve (BM25), re-rank, decide, highlight; the one entry point.
- `question_terms` and `spelling`: a question's search terms, with words the corpus does not
  know corrected where they can be.
- `decline`: the "not in my sources" rule.
- `highlight`: which sentence of a passage answers the question.
- `followup`: how a conversation's earlier questions count for the next one.
"""

from .answerer import MAX_TOP_K, Answer, Answerer, AnswerParams, Hit

__all__ = ["MAX_TOP_K", "Answer", "AnswerParams", "Answerer", "Hit"]
