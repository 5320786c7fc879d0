"""Discord rendering, question rules and the cooldown, on real dataclasses (no Discord needed)."""

from __future__ import annotations

import discord
import pytest

from citebot.bot.cli.text_render import render_answer as render_text
from citebot.bot.discord.cooldown import Cooldown
from citebot.bot.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    cut,
    render_answer,
    render_source,
)
from citebot.bot.questions import Refusal, check_question, looks_like_question, strip_mention
from citebot.index.answering.answerer import Answer, Hit
from citebot.index.indexfile import StoredPassage
from citebot.index.ingest.passages import Citation, Passage


def make_hit(
    rank: int,
    words: int,
    *,
    url: str | None = "https://example.org/a_(b)",
    author: str = "A. Writer",
    highlight_word: int = 5,
) -> Hit:
    text = " ".join(f"word{i}*_`@everyone" if i % 50 == 7 else f"word{i}" for i in range(words)) + "."
    # Highlight a span in the middle: from the Nth word to 30 words later.
    tokens = text.split(" ")
    start = len(" ".join(tokens[:highlight_word])) + (1 if highlight_word else 0)
    end = len(" ".join(tokens[: highlight_word + 30]))
    citation = Citation(
        document="T" * 300 + " title",
        path="/corpus/a.txt",
        paragraphs=(3, 4),
        start=0,
        end=len(text),
        section="Section " * 40,
        author=author,
        url=url,
    )
    return Hit(rank, 10.0 / rank, 10.0 / rank, Passage(f"p{rank}", "h", rank, text, citation), (start, end))


@pytest.mark.parametrize("n,words", [(1, 5000), (3, 120), (3, 3000), (10, 800), (25, 2000)])
def test_answer_always_fits_discord_limits(n: int, words: int) -> None:
    hits = [make_hit(r, words, highlight_word=words // 2 if r == 1 else 5) for r in range(1, n + 1)]
    answer = Answer("why? " * 800, True, hits, answer=hits[0].sentence * 100)
    reply = render_answer(answer, footer="f" * 3000)
    assert len(reply.content) <= CONTENT_LIMIT
    [embed] = reply.embeds
    assert len(embed.description or "") <= DESCRIPTION_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert len(embed.fields) == n and all(len(f.value or "") <= FIELD_VALUE_LIMIT for f in embed.fields)
    assert all(f"**[{r}]**" in (embed.description or "") for r in range(1, n + 1))
    assert embed.description.count("**") % 2 == 0  # every bold opened is closed
    assert "@everyone" not in (embed.description or "")


def test_highlight_and_link_survive_cutting() -> None:
    hit = make_hit(1, 3000, highlight_word=1500)
    reply = render_answer(Answer("q?", True, [hit], answer=hit.sentence))
    description = reply.embeds[0].description or ""
    assert "**word1500" in description and description.startswith("**[1]** …")
    assert description.endswith("…")
    value = reply.embeds[0].fields[0].value or ""
    assert "(https://example.org/a_%28b%29)" in value and "by A. Writer" in value and "¶3–4" in value


def test_declined_answer_lists_closest_matches() -> None:
    hit = make_hit(1, 50)
    reply = render_answer(Answer("q?", False, [hit], reason="the sources do not answer this"))
    assert reply.content == "My sources do not answer that. Closest matches:"
    assert reply.embeds[0].author.name.startswith("Closest matches")
    bare = render_answer(Answer("q?", False, [], reason="no passage shares a word with the question"))
    assert bare.content.startswith("My sources do not answer that.") and not bare.embeds


def test_a_corrected_question_says_what_was_searched_for() -> None:
    hit = make_hit(1, 50)
    answer = Answer(
        "Who is @everyone's *Roscomsos* head?",
        True,
        [hit],
        answer=hit.sentence,
        corrections=(("Roscomsos", "Roscosmos"),),
    )
    assert answer.searched_for == "Who is @everyone's *Roscosmos* head?"
    reply = render_answer(answer)
    searched, rest = reply.content.split("\n", 1)
    assert searched.startswith("*(searched for: Who is @\u200beveryone") and "\\*Roscosmos\\*" in searched
    assert rest.startswith("**Answer:** ")
    assert render_text(answer).splitlines()[0] == "(searched for: Who is @everyone's *Roscosmos* head?)"
    declined = Answer("Roscomsos budget? " * 200, False, [hit], corrections=(("Roscomsos", "Roscosmos"),))
    reply = render_answer(declined)
    assert len(reply.content) <= CONTENT_LIMIT and reply.content.endswith(
        "My sources do not answer that. Closest matches:"
    )
    assert render_answer(Answer("q?", True, [hit], answer=hit.sentence)).content.startswith("**Answer:** ")
    long = Answer("q?", True, [hit], answer="x" * 5000, corrections=(("q", "y" * 3000),))
    assert len(render_answer(long).content) <= CONTENT_LIMIT


def test_source_attaches_long_passages() -> None:
    hit = make_hit(1, 2000)
    stored = StoredPassage(0, hit.passage, ())
    reply = render_source(stored, None, StoredPassage(1, make_hit(2, 400).passage, ()))
    assert reply.files and reply.files[0].filename == "passage-p1.txt"
    assert len(reply.embeds[0].description or "") <= DESCRIPTION_LIMIT
    assert [f.name for f in reply.embeds[0].fields][1] == "After"
    short = render_source(StoredPassage(0, make_hit(1, 40).passage, ()), None, None)
    assert not short.files and "word39." in (short.embeds[0].description or "")


def test_cut_stops_at_a_word() -> None:
    assert cut("alpha beta gamma delta", 14) == "alpha beta…"
    assert cut("short", 10) == "short"
    assert len(cut("x" * 100, 10)) == 10


@pytest.mark.parametrize(
    "text,expected",
    [
        ("When will the ISS be deorbited?", True),
        ("how long will it run", True),
        ("the ISS?", True),
        ("<@123> what is ROS", True),
        ("thanks!", False),
        ("lol", False),
        ("", False),
        ("Whatever you say", False),
    ],
)
def test_question_rule(text: str, expected: bool) -> None:
    assert looks_like_question(text) is expected


def test_question_checks() -> None:
    assert strip_mention("<@42> hi <@!42>", 42) == "hi"
    assert check_question("  why?  ", 10) == "why?"
    assert isinstance(check_question("x" * 11, 10), Refusal)
    assert isinstance(check_question("   ", 10), Refusal)


def test_cooldown_sliding_window() -> None:
    now = [0.0]
    cooldown = Cooldown(2, 10.0, clock=lambda: now[0])
    assert cooldown.hit(1) is None and cooldown.hit(1) is None
    assert cooldown.hit(1) == pytest.approx(10.0)
    assert cooldown.hit(2) is None
    now[0] = 10.0
    assert cooldown.hit(1) is None


def test_no_mentions_default() -> None:
    assert discord.AllowedMentions.none().to_dict() == {"parse": []}
