"""Rendering an Answer as plain text, for `citebot ask` and `citebot chat`.

The same facts as a Discord reply, in the same order: the answer sentence, the passages marked
[1], [2], ... with the answering sentence highlighted, then the numbered citations.
"""

from __future__ import annotations

import textwrap

from citebot.index.answering.answerer import Answer, Hit
from citebot.index.gaps import GapReport
from citebot.index.indexfile import StoredPassage

BOLD, RESET = "\033[1m", "\033[0m"
NOT_IN_SOURCES = "My sources do not answer that."


def highlighted(hit: Hit, color: bool) -> str:
    """The passage text with its answering sentence marked (bold on a terminal, »…« elsewhere)."""
    text = hit.passage.text
    if not hit.highlight:
        return text
    start, end = hit.highlight
    left, right = (BOLD, RESET) if color else ("»", "«")
    return text[:start] + left + text[start:end] + right + text[end:]


def render_answer(answer: Answer, color: bool = False, width: int = 100) -> str:
    """A complete human-readable reply."""
    lines: list[str] = []
    if answer.searched_for:
        lines.append(f"(searched for: {answer.searched_for})")
    if answer.answered and answer.answer:
        lines.append(f"Answer: {answer.answer} [1]")
    elif answer.hits:
        lines.append(f"{NOT_IN_SOURCES} Closest matches:")
    else:
        reason = f" ({answer.reason})" if answer.reason else ""
        lines.append(f"{NOT_IN_SOURCES}{reason}")
        return "\n".join(lines)
    lines.append("")
    for hit in answer.hits:
        body = highlighted(hit, color)
        wrapped = "\n".join(
            textwrap.fill(par, width=width, initial_indent="    ", subsequent_indent="    ")
            for par in body.split("\n\n")
        )
        lines.append(f"[{hit.rank}] (score {hit.score:.2f})")
        lines.append(wrapped)
        lines.append("")
    lines.append("Sources:")
    for hit in answer.hits:
        lines.append(f"[{hit.rank}] {hit.passage.citation.label} · id {hit.passage.id}")
    return "\n".join(lines)


def render_source(
    stored: StoredPassage, before: StoredPassage | None, after: StoredPassage | None, width: int = 100
) -> str:
    """A passage in full with its citation and the ids and openings of its neighbours, as
    Discord's `/source` shows it."""
    passage = stored.passage
    lines = [f"Passage {passage.id}", passage.citation.label, ""]
    lines += [
        textwrap.fill(par, width=width, initial_indent="    ", subsequent_indent="    ")
        for par in passage.text.split("\n\n")
    ]
    for label, other in (("Before", before), ("After", after)):
        if other is not None:
            opening = textwrap.shorten(other.passage.text, width=width - 20, placeholder=" …")
            lines += ["", f"{label}: id {other.passage.id} — {opening}"]
    return "\n".join(lines)


def render_gaps(report: GapReport, width: int = 100) -> str:
    """The knowledge-gaps report for `citebot gaps`: every group, most frequent first."""
    if not report.groups:
        return f"No question was declined or voted 👎 in the last {report.days} days."
    lines = [
        f"Knowledge gaps, last {report.days} days: {report.questions} questions declined or voted 👎, "
        f"in {len(report.groups)} groups (most frequent first).",
        "",
    ]
    for n, group in enumerate(report.groups, start=1):
        words = ", ".join(group.words) or "(no content words)"
        lines.append(
            f"{n}. {words} — {group.count} question{'s' if group.count != 1 else ''} "
            f"({group.declined} declined, {group.downvotes} 👎)"
        )
        lines += [textwrap.fill(q, width, initial_indent="   - ", subsequent_indent="     ") for q in group.examples]
        if group.closest or group.closest_id:
            lines.append(
                f"   closest passage: {group.closest or 'passage'}"
                + (f" (id {group.closest_id})" if group.closest_id else "")
            )
        if group.reasons:
            lines.append("   reasons: " + "; ".join(f'"{r}"' for r in group.reasons))
        lines.append("")
    return "\n".join(lines).rstrip()
