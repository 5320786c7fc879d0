"""Measuring retrieval quality on question sets with gold paragraphs (`citebot eval`).

Two formats, both from shared/eval: seed sets (JSON lines of `q`, `answers`, `gold` paragraph
numbers and optionally `doc`, asked against the configured corpus; a question with no `gold` is
unanswerable, where success is declining, and a set may mix both kinds), and the SQuAD folder
(`articles.jsonl` + `questions.jsonl`), whose
articles are indexed together as ONE corpus, as a bot that knows many articles would be.
Questions go through the same Answerer as `citebot ask`.

A seed line may carry `context`, the earlier questions of a conversation (oldest first): the
question is then a follow-up, asked with them (`Answerer.ask(..., context=...)`), and
`evaluate` can also ask it without them, or with them pasted in front of it (`CONTEXT_MODES`),
to measure what the context brings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from .answering.answerer import Answer
from .errors import CitebotError
from .ingest.documents import Document, parse_document


@dataclass(frozen=True)
class EvalQuestion:
    """One question: gold paragraphs (in `document`, when the set names one) and answer strings."""

    question: str
    gold: tuple[int, ...] = ()
    answers: tuple[str, ...] = ()
    document: str | None = None
    context: tuple[str, ...] = ()  # earlier questions of the conversation, oldest first


@dataclass
class EvalSet:
    """Questions, plus the documents to index when the set brings its own corpus."""

    name: str
    questions: list[EvalQuestion]
    documents: list[Document] | None = None


@dataclass
class EvalReport:
    """hit@k, MRR@10, answer hits and declines of the answerable questions; the declined share
    of the unanswerable ones (a set may mix both: each is counted on its own side).

    `sentence_hits` counts answerable questions whose top passage's highlighted sentence holds
    one of the `answers` (case-insensitive): what a reader who looks only at the highlight is
    told. `sentence_hits_top_right` counts the same among the `top_right` questions (the top
    passage covers a gold paragraph), so the sentence choice is measured apart from ranking."""

    name: str
    questions: int
    ks: tuple[int, ...]
    answerable: int = 0
    unanswerable: int = 0
    hits: dict[int, int] = field(default_factory=dict)
    answer_hits: dict[int, int] = field(default_factory=dict)
    reciprocal_ranks: float = 0.0
    declined: int = 0  # answerable questions declined (should be none)
    unanswerable_declined: int = 0  # unanswerable questions declined (should be all)
    top_right: int = 0
    sentence_hits: int = 0
    sentence_hits_top_right: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)  # not right first, declined, or wrongly answered

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"set": self.name, "questions": self.questions}
        if self.answerable:
            n = self.answerable
            out["answerable"] = n
            out.update({f"hit@{k}": round(self.hits.get(k, 0) / n, 4) for k in self.ks})
            out["mrr@10"] = round(self.reciprocal_ranks / n, 4)
            out.update({f"answer_hit@{k}": round(self.answer_hits.get(k, 0) / n, 4) for k in self.ks})
            out["declined"] = round(self.declined / n, 4)
            out["sentence_hit"] = round(self.sentence_hits / n, 4)
            out["sentence_hit_top_right"] = round(self.sentence_hits_top_right / max(self.top_right, 1), 4)
        if self.unanswerable:
            out["unanswerable"] = self.unanswerable
            out["unanswerable_declined"] = round(self.unanswerable_declined / self.unanswerable, 4)
        out["seconds"] = round(self.seconds, 2)
        return out

    def render(self) -> str:
        d = self.as_dict()
        lines = [f"{self.name}: {self.questions} questions in {d['seconds']} s"]
        for key, value in d.items():
            if key not in ("set", "questions", "seconds"):
                lines.append(f"  {key:<22} {value:.4f}" if isinstance(value, float) else f"  {key:<22} {value}")
        return "\n".join(lines)


SET_FORMAT = (
    'one JSON object per line: "q" (the question), "answers" (strings one of which the answering '
    'passage holds), "gold" (paragraph numbers that answer it; none: the question is unanswerable), '
    'optionally "doc" (the answering document\'s path, relative to its corpus folder) and '
    '"context" (the earlier questions a follow-up continues, oldest first)'
)


def load_eval_set(path: Path) -> EvalSet:
    """Read a seed JSONL file, or a SQuAD folder / one of its two files."""
    if path.is_dir() or path.name in ("articles.jsonl", "questions.jsonl"):
        folder = path if path.is_dir() else path.parent
        if (folder / "articles.jsonl").is_file() and (folder / "questions.jsonl").is_file():
            return _load_squad(folder)
        if path.is_dir():
            raise CitebotError(f"{path} is a folder without articles.jsonl and questions.jsonl")
    if not path.is_file():
        hint = ""
        if "shared" in path.parts and "eval" in path.parts:
            hint = (
                " (the shared evaluation sets live in a 'shared/eval' folder beside the project, which is not "
                "there in this clone; give the path of a set you have)"
            )
        raise CitebotError(f"no question set at {path}{hint}; a set is {SET_FORMAT}, see the README's 'Question sets'")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            document = row.get("doc", row.get("document"))
            context = row.get("context", [])
            if isinstance(context, str) or not isinstance(context, list):
                raise TypeError('"context" must be a list of earlier questions')
            questions.append(
                EvalQuestion(
                    str(row["q"]),
                    tuple(int(g) for g in row.get("gold", [])),
                    tuple(str(a) for a in row.get("answers", [])),
                    None if document is None else str(document),
                    tuple(str(c) for c in context),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CitebotError(f"{path}:{number}: not a question line ({exc}); a set is {SET_FORMAT}") from exc
    if not questions:
        raise CitebotError(f"{path} holds no questions")
    return EvalSet(path.name, questions)


def _load_squad(folder: Path) -> EvalSet:
    documents = []
    for line in (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            art = json.loads(line)
            documents.append(
                parse_document(
                    "\n\n".join(art["paragraphs"]), f"squad/{art['article_id']}", metadata={"title": art["title"]}
                )
            )
    questions = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            questions.append(
                EvalQuestion(
                    row["question"],
                    (int(row["gold_paragraph_index"]) + 1,),
                    tuple(row["answers"]),
                    f"squad/{row['article_id']}",
                )
            )
    return EvalSet(folder.name, questions, documents)


Ask = Callable[..., Awaitable[Answer]]  # ask(question, top_k[, context]), as Answerer.ask
# How a follow-up's earlier questions are used: given as context (the product's way), left out,
# or pasted in front of the question (the naive way, for comparison).
CONTEXT_MODES = ("context", "alone", "pasted")


def has_follow_ups(eval_set: EvalSet) -> bool:
    """Whether any question of the set carries earlier questions (`context`)."""
    return any(q.context for q in eval_set.questions)


async def evaluate(
    eval_set: EvalSet, ask: Ask, ks: Sequence[int] = (1, 3, 5), keep_misses: int = 0, context_mode: str = "context"
) -> EvalReport:
    """Ask every question (top 10): for an answerable one, score where the first passage
    covering a gold paragraph (in its `doc`, when named) ranks; for an unanswerable one,
    whether it was declined. A follow-up is asked as `context_mode` says (`CONTEXT_MODES`)."""
    if context_mode not in CONTEXT_MODES:
        raise ValueError(f"context_mode must be one of {CONTEXT_MODES}")
    report = EvalReport(eval_set.name, len(eval_set.questions), tuple(ks))
    started = time.perf_counter()
    for q in eval_set.questions:
        if q.context and context_mode == "context":
            answer = await ask(q.question, 10, q.context)
        elif q.context and context_mode == "pasted":
            answer = await ask(" ".join([*q.context, q.question]), 10)
        else:
            answer = await ask(q.question, 10)
        if not q.gold:
            report.unanswerable += 1
            report.unanswerable_declined += int(not answer.answered)
            if answer.answered and len(report.misses) < keep_misses:
                report.misses.append(f"{q.question}  [unanswerable, answered]")
            continue
        report.answerable += 1
        report.declined += int(not answer.answered)
        rank = _first_rank(answer, lambda h, q=q: _covers(h, q))
        answer_rank = _first_rank(answer, lambda h, q=q: any(a.lower() in h.passage.text.lower() for a in q.answers))
        if rank:
            report.reciprocal_ranks += 1.0 / rank
        if (rank != 1 or not answer.answered) and len(report.misses) < keep_misses:
            where = f"rank {rank}" if rank else "not in the top 10"
            report.misses.append(f"{q.question}  [{where}{', declined' if not answer.answered else ''}]")
        report.top_right += 1 if rank == 1 else 0
        if _sentence_holds_answer(answer, q):
            report.sentence_hits += 1
            report.sentence_hits_top_right += 1 if rank == 1 else 0
        for k in ks:
            report.hits[k] = report.hits.get(k, 0) + (1 if rank and rank <= k else 0)
            report.answer_hits[k] = report.answer_hits.get(k, 0) + (1 if answer_rank and answer_rank <= k else 0)
    report.seconds = time.perf_counter() - started
    return report


def _covers(hit, q: EvalQuestion) -> bool:
    citation = hit.passage.citation
    if q.document is not None and not same_document(citation.path, q.document):
        return False
    return any(citation.covers(g) for g in q.gold)


def same_document(path: str, document: str) -> bool:
    """Whether `document` (a path relative to some corpus folder) names the file at `path`:
    its whole path components end `path`'s ("news/a.txt" names ".../corpus/news/a.txt", not
    ".../corpus/oldnews/a.txt" nor ".../corpus/a.txt")."""
    wanted = PurePath(document).parts
    parts = PurePath(path).parts
    return bool(wanted) and len(parts) >= len(wanted) and parts[len(parts) - len(wanted) :] == wanted


def _sentence_holds_answer(answer: Answer, q: EvalQuestion) -> bool:
    """Whether the top passage's highlighted sentence holds an answer string (case-insensitive)."""
    sentence = answer.hits[0].sentence if answer.hits else None
    return sentence is not None and any(a.lower() in sentence.lower() for a in q.answers)


def _first_rank(answer: Answer, ok: Callable) -> int | None:
    for hit in answer.hits:
        if ok(hit):
            return hit.rank
    return None
