"""Answers, passages and figures as Discord messages that always fit Discord's limits.

Why a module of its own: every reply echoes text we do not control (corpus passages, the
user's question), so everything that goes out is escaped here, cut cleanly at a word with "…",
and measured against Discord's limits (2,000 content; embed: 256 title, 4,096 description,
25 fields of 256 name / 1,024 value, 2,048 footer, 6,000 in all). Cogs never build embeds by
hand. Pings are prevented separately, by AllowedMentions.none() on every send.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from urllib.parse import quote

import discord
from discord.utils import escape_markdown, escape_mentions

from citebot.index.answering.answerer import Answer, Hit
from citebot.index.gaps import GapReport
from citebot.index.indexfile import StoredPassage
from citebot.index.ingest.passages import Citation
from citebot.index.source_list import IndexedSource, summarise

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
ELLIPSIS = "…"

ANSWERED_COLOUR = discord.Colour.green()
DECLINED_COLOUR = discord.Colour.light_grey()
NOT_IN_SOURCES = "My sources do not answer that."
APOLOGY = "Sorry, something went wrong while answering. The error has been logged; please try again later."


@dataclass
class Reply:
    """What one send carries: content, embeds and optional file attachments."""

    content: str
    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[discord.File] = field(default_factory=list)


def cut(text: str, limit: int) -> str:
    """`text` if it fits, else its longest prefix ending at a word, plus "…" (within `limit`)."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    head = text[: limit - len(ELLIPSIS)]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" \n,;:-") + ELLIPSIS


def cut_start(text: str, limit: int) -> str:
    """Like `cut`, but keeps the end of `text` (for the words just before a highlight)."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ""
    tail = text[len(text) - (limit - len(ELLIPSIS)) :]
    space = tail.find(" ")
    if 0 <= space < len(tail) // 2:
        tail = tail[space + 1 :]
    return ELLIPSIS + tail.lstrip()


def safe(text: str) -> str:
    """Text we did not write, made inert: Markdown escaped and mentions defused."""
    return escape_mentions(escape_markdown(text))


def safe_cut(text: str, limit: int) -> str:
    """Escape, then fit: cut the raw text until its escaped form fits `limit`."""
    budget = limit
    while True:
        out = safe(cut(text, budget))
        if len(out) <= limit or budget <= 1:
            return out[:limit]
        budget -= max(1, len(out) - limit)


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts toward the 6,000 per-embed total."""
    return len(embed)


def message_size(embeds: list[discord.Embed]) -> int:
    return sum(embed_size(e) for e in embeds)


# ---------------------------------------------------------------------------------------------
# Answers


def highlighted_excerpt(hit: Hit, budget: int) -> str:
    """The passage, cut to about `budget` raw characters around its answering sentence, with
    that sentence in bold. Each piece is escaped on its own so our ** stays ours."""
    text = hit.passage.text
    if not hit.highlight:
        return safe(cut(text, budget))
    start, end = hit.highlight
    before, sentence, after = text[:start], text[start:end], text[end:]
    if len(text) > budget:
        sentence = cut(sentence, max(20, budget))
        room = max(0, budget - len(sentence))
        before = cut_start(before, room // 3) if before else ""
        after = cut(after, room - len(before)) if after else ""
    bold = safe(sentence.strip())
    lead = " " if sentence[:1].isspace() else ""
    trail = " " if sentence[-1:].isspace() else ""
    return f"{safe(before)}{lead}**{bold}**{trail}{safe(after)}"


def citation_line(citation: Citation, passage_id: str | None = None) -> str:
    """Author, section, paragraph span, pages (a PDF's), and the document's URL as a link when
    it has one."""
    parts: list[str] = []
    if citation.author:
        parts.append(f"by {safe(citation.author)}")
    if citation.section:
        parts.append(f"§ {safe(citation.section)}")
    parts.append(citation.paragraph_label)
    if citation.page_label:
        parts.append(citation.page_label)
    line = " · ".join(parts)
    link = link_markdown(citation.url)
    if link:
        line += f"\n{link}"
    elif citation.path:
        name = citation.display_name.replace("`", "'")  # never the server's absolute path
        line += f"\n`{name}`"
    if passage_id:
        line += f" · id `{passage_id}`"
    return line


def link_markdown(url: str | None) -> str | None:
    """A masked link to an http(s) URL, made safe for Markdown; None for anything else."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    clean = quote(url, safe=":/?#[]@!$&'*+,;=%~-._")
    return f"[{safe(cut(url.split('://', 1)[1], 80))}]({clean})"


def _answer_content(answer: Answer) -> str:
    searched = _searched_for(answer)
    if answer.answered and answer.answer:
        prefix, suffix = "**Answer:** ", " [1]"
        room = CONTENT_LIMIT - len(prefix) - len(suffix) - len(searched)
        return searched + prefix + safe_cut(answer.answer.strip(), room) + suffix
    if answer.hits:
        return f"{searched}{NOT_IN_SOURCES} Closest matches:"
    reason = f" ({answer.reason})" if answer.reason else ""
    return searched + cut(f"{NOT_IN_SOURCES}{reason}", CONTENT_LIMIT - len(searched))


SEARCHED_FOR_LIMIT = 600


def _searched_for(answer: Answer) -> str:
    """ "*(searched for: …)*" and a line break when a word of the question was corrected, else ""."""
    if not answer.searched_for:
        return ""
    prefix, suffix = "*(searched for: ", ")*\n"
    return prefix + safe_cut(answer.searched_for, SEARCHED_FOR_LIMIT - len(prefix) - len(suffix)) + suffix


def render_answer(answer: Answer, *, footer: str | None = None) -> Reply:
    """The reply to a question: the answer sentence, passages [1].. with the sentence in bold,
    and one citation field per passage. Within every Discord limit for any top_k (1–25)."""
    content = _answer_content(answer)
    if not answer.hits:
        return Reply(content)
    hits = answer.hits[:FIELD_COUNT_LIMIT]
    n = len(hits)
    title = "Q: " + safe_cut(answer.question, TITLE_LIMIT - 3)
    field_budget = min(FIELD_VALUE_LIMIT, max(60, 2000 // n))
    name_budget = min(FIELD_NAME_LIMIT, max(40, 600 // n))
    fields = []
    for hit in hits:
        c = hit.passage.citation
        fields.append(
            (
                cut(f"[{hit.rank}] {safe_cut(c.document, name_budget)}", name_budget),
                _fit_field(citation_line(c, hit.passage.id), field_budget),
            )
        )
    footer = cut(footer, 200) if footer else None
    fixed = len(title) + sum(len(a) + len(b) for a, b in fields) + len(footer or "")
    room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - fixed - 50)
    per_hit = max(40, min(900, room // n - 12))
    while True:
        blocks = [f"**[{hit.rank}]** {highlighted_excerpt(hit, per_hit)}" for hit in hits]
        description = "\n\n".join(blocks)
        if len(description) <= room or per_hit <= 40:
            break
        per_hit = int(per_hit * 0.85)
    embed = discord.Embed(
        title=title,
        description=cut(description, room),
        colour=ANSWERED_COLOUR if answer.answered else DECLINED_COLOUR,
    )
    if not answer.answered:
        embed.set_author(name="Closest matches (not an answer)")
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    if footer:
        embed.set_footer(text=footer)
    assert embed_size(embed) <= EMBED_TOTAL_LIMIT, embed_size(embed)
    return Reply(content, [embed])


def _fit_field(value: str, limit: int) -> str:
    """Field values end in a link or id we must not cut in half: drop trailing lines first."""
    while len(value) > limit and "\n" in value:
        value = value.rsplit("\n", 1)[0]
    return cut(value, limit)


# ---------------------------------------------------------------------------------------------
# /source, /stats, notices


def render_source(stored: StoredPassage, before: StoredPassage | None, after: StoredPassage | None) -> Reply:
    """A passage in full with its citation and its neighbours; as a file when too long."""
    passage = stored.passage
    c = passage.citation
    text = safe(passage.text)
    files: list[discord.File] = []
    if len(text) > DESCRIPTION_LIMIT - 200:
        files.append(discord.File(io.BytesIO(passage.text.encode("utf-8")), filename=f"passage-{passage.id}.txt"))
        text = safe_cut(passage.text, DESCRIPTION_LIMIT - 200) + "\n\n*(the whole passage is attached)*"
    embed = discord.Embed(
        title=cut(f"Passage {passage.id}", TITLE_LIMIT), description=text, colour=discord.Colour.blurple()
    )
    embed.add_field(
        name=cut(safe(c.document), FIELD_NAME_LIMIT), value=_fit_field(citation_line(c), 1000), inline=False
    )
    for label, other in (("Before", before), ("After", after)):
        if other is not None:
            value = f"`{other.passage.id}` — {safe_cut(other.passage.text, 300)}"
            embed.add_field(name=label, value=cut(value, FIELD_VALUE_LIMIT), inline=False)
    return Reply("", [embed], files)


def render_stats(
    *,
    documents: int,
    passages: int,
    generation: int,
    age_seconds: float,
    questions: int,
    answered: int,
    median_ms: float | None,
    thumbs_up: int,
    thumbs_down: int,
    persisted: bool,
    collection: str | None = None,
    sources: str | None = None,
    shards: str | None = None,
) -> Reply:
    title = "Citebot statistics" + (f" · collection {collection}" if collection else "")
    embed = discord.Embed(title=title, colour=discord.Colour.blurple())
    embed.add_field(
        name="Index",
        value=f"{documents:,} documents · {passages:,} passages\n"
        f"generation {generation}, built {human_age(age_seconds)} ago",
        inline=False,
    )
    median = f"{median_ms:.0f} ms" if median_ms is not None else "n/a"
    scope = "" if persisted else " (since start-up; question logging is off)"
    embed.add_field(
        name="Questions",
        value=f"{questions:,} asked, {answered:,} answered{scope}\nmedian answer time {median}",
        inline=False,
    )
    embed.add_field(name="Feedback", value=f"👍 {thumbs_up:,} · 👎 {thumbs_down:,}", inline=False)
    if shards:
        embed.add_field(name="Shards", value=cut(shards, FIELD_VALUE_LIMIT), inline=False)
    if sources:
        embed.add_field(name="Sources", value=cut(sources, FIELD_VALUE_LIMIT), inline=False)
    return Reply("", [embed])


def shards_field(ids: tuple[int, ...], count: int, by_shard: dict[int, int], shared: bool) -> str:
    """/stats' Shards field: the shards this process runs and their questions, then every shard's
    (`by_shard`, counted from the question log by guild). Only a shared log (PostgreSQL) knows
    the other processes' questions, so with a private one the line says so."""
    mine = sum(by_shard.get(i, 0) for i in ids)
    names = ", ".join(f"#{i}" for i in ids)
    lines = [f"this process: shard{'s' if len(ids) != 1 else ''} {names} of {count} · {mine:,} questions"]
    every = " · ".join(f"#{i} {by_shard.get(i, 0):,}" for i in range(count))
    if shared:
        lines.append(f"all shards: {every}")
    else:
        lines.append(f"known here: {every} (the question log is this process's own; log.state_url shares it)")
    return "\n".join(lines)


SOURCES_LISTED = 8  # documents named in /stats, the least recently checked first


def sources_field(sources: list[IndexedSource], refresh: str, now: float) -> str:
    """The short version of `citebot sources` for /stats: counts by kind, the oldest check and
    latest change, how the refresh goes (`refresh`), and the least recently checked documents,
    named as citations name them (never a server path)."""
    summary = summarise(sources)
    kinds = " · ".join(f"{kind} {n:,}" for kind, n in summary.by_kind) or "no documents"
    ago = lambda t: "unknown" if t is None else f"{human_age(now - t)} ago"  # noqa: E731
    lines = [
        f"{kinds}; oldest check {ago(summary.oldest_checked)}, latest change {ago(summary.latest_changed)}",
        refresh,
    ]
    if summary.failed:
        lines.append(f"{summary.failed:,} could not be checked last time (their indexed copies stay; see the log)")
    stale_first = sorted(sources, key=lambda s: (s.checked_at is not None, s.checked_at or 0.0))
    for s in stale_first[:SOURCES_LISTED]:
        flag = " (check failed)" if s.check_failed else ""
        lines.append(f"• {escape_markdown(s.name)}: changed {ago(s.changed_at)}, checked {ago(s.checked_at)}{flag}")
    if len(sources) > SOURCES_LISTED:
        lines.append(f"… and {len(sources) - SOURCES_LISTED:,} more (`citebot sources` lists them all)")
    return escape_mentions("\n".join(lines))


def human_age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def notice(text: str) -> str:
    """A short message of ours, cut to fit (callers escape any user text they include)."""
    return cut(text, CONTENT_LIMIT)


# ---------------------------------------------------------------------------------------------
# /gaps

GAP_GROUPS_SHOWN = 10


def render_gaps(report: GapReport, *, logging_on: bool = True, retention_days: int | None = None) -> Reply:
    """The knowledge-gaps report as one embed: a field per group (the most frequent first, at
    most GAP_GROUPS_SHOWN), every question and reason escaped, within Discord's limits."""
    embed = discord.Embed(title=f"Knowledge gaps · last {report.days} days", colour=DECLINED_COLOUR)
    if not logging_on:
        embed.description = (
            "Question logging is off (`log.questions`), so no questions are kept to report; "
            "turn it on to see what the sources do not answer."
        )
        return Reply("", [embed])
    if not report.groups:
        embed.description = f"No question was declined or voted 👎 in the last {report.days} days."
        return Reply("", [embed])
    embed.description = (
        f"{report.questions:,} questions declined or voted 👎, in {len(report.groups):,} groups "
        f"by the words they share (most frequent first)."
    )
    if retention_days is not None and report.days > retention_days:
        embed.description += f" The log keeps questions {retention_days} days."
    for group in report.groups[:GAP_GROUPS_SHOWN]:
        words = ", ".join(group.words) or "(no content words)"
        name = safe_cut(f"{group.count}× {words}", FIELD_NAME_LIMIT)
        lines = [f"{group.declined:,} declined · {group.downvotes:,} 👎"]
        lines += [f"• {safe_cut(q, 200)}" for q in group.examples]
        if group.closest or group.closest_id:
            label = safe_cut(group.closest or "passage", 200)
            lines.append(f"Closest passage: {label}" + (f" · id `{group.closest_id}`" if group.closest_id else ""))
        if group.reasons:
            lines.append("Reasons: " + "; ".join(f"“{safe_cut(r, 150)}”" for r in group.reasons))
        embed.add_field(name=name, value=_fit_field("\n".join(lines), FIELD_VALUE_LIMIT), inline=False)
    hidden = len(report.groups) - len(embed.fields)
    while message_size([embed]) > EMBED_TOTAL_LIMIT - 100 and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
        hidden += 1
    if hidden:
        embed.set_footer(text=f"{hidden} smaller groups not shown; `citebot gaps --days {report.days}` lists all")
    return Reply("", [embed])
