"""Readers' comments on news pages are recognised at ingestion and never answer a question.

The fixtures in tests/fixtures/comments are one news story saved three ways (a text copy, a
Markdown copy, a saved page) with a comment thread whose first comment repeats the question's
words. The tests check the thread is marked in every form, that the question is answered
from the article body, and -- so the check means something -- that the same comment, once
its thread furniture is gone, would have been the answer.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from citebot.index.answering.answerer import Answerer
from citebot.index.build.params import IndexParams
from citebot.index.build.reindex import rebuild_sync
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.blocks import COMMENT, HEADING, PARAGRAPH
from citebot.index.ingest.comment_sections import ACTIONS, CONTROL, OPENING, thread_furniture
from citebot.index.ingest.documents import parse_document
from citebot.index.ingest.html import parse_html
from citebot.index.ingest.loading import load_document

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "comments"
QUESTION = "When will the new harbour bridge open to traffic?"
ARTICLE_ANSWER = "will open to traffic in March 2027"
COMMENT_TEXT = "Never, if you ask me"
PAGE = (FIXTURES / "bridge-news.html").read_text(encoding="utf-8")
# The saved page's thread in the shapes pages use: divs that trafilatura takes for the article
# (it then moves a comment above the story), plain divs in a <section>, and an ordered list
# whose items hold paragraphs.
PAGE_VARIANTS = {
    "divs classed post": PAGE,
    "section of divs": PAGE.replace('<div class="post">', "<div>")
    .replace('<div class="thread">', "<section>")
    .replace("</div>\n</div>\n</article>", "</div>\n</section>\n</article>"),
    "ordered list": PAGE.replace('<div class="post">', "<li>")
    .replace('</div>\n<div class="post">', "</li><li>")
    .replace('<div class="thread">', "<ol>")
    .replace("</div>\n</div>\n</article>", "</li></ol></article>"),
}


def ask(corpus: Path, tmp_path: Path, question: str = QUESTION):
    db = tmp_path / "index.sqlite3"
    rebuild_sync([corpus], db, IndexParams())

    async def run():
        reader = await IndexReader.open(db)
        try:
            return await Answerer(reader).ask(question)
        finally:
            await reader.close()

    return asyncio.run(run())


def corpus_of(tmp_path: Path, name: str, text: str) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / name).write_text(text, encoding="utf-8")
    return corpus


@pytest.mark.parametrize("name", ["bridge-news.txt", "bridge-news.md", "bridge-news.html"])
def test_the_thread_is_marked_and_the_article_kept(name: str) -> None:
    doc = load_document(FIXTURES / name)
    comments = " ".join(b.text for b in doc.blocks if b.role == COMMENT)
    body = " ".join(b.text for b in doc.paragraphs)
    assert COMMENT_TEXT in comments and "2030 at the earliest" in comments
    assert COMMENT_TEXT not in body and "Reply" not in body and "2030" not in body
    assert ARTICLE_ANSWER in body and "Storm damage to a temporary pier" in body


def test_the_article_goes_on_after_its_thread() -> None:
    doc = load_document(FIXTURES / "bridge-news.md")
    roles = [(b.role, b.text) for b in doc.blocks]
    assert (HEADING, "## More from the city desk") in roles
    assert any(
        role == PARAGRAPH and text.startswith("The council will publish its ferry timetable") for role, text in roles
    )


@pytest.mark.parametrize("name", ["bridge-news.txt", "bridge-news.md", "bridge-news.html"])
def test_the_question_is_answered_from_the_article_not_the_comment(tmp_path: Path, name: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(FIXTURES / name, corpus / name)
    answer = ask(corpus, tmp_path)
    assert answer.answered
    assert ARTICLE_ANSWER in answer.answer
    assert all(COMMENT_TEXT not in h.passage.text for h in answer.hits)


def test_without_its_furniture_the_comment_would_have_answered(tmp_path: Path) -> None:
    """The premise of the test above: the comment repeats the question's words so closely
    that, read as article text, it outranks the paragraph that answers."""
    text = (FIXTURES / "bridge-news.txt").read_text(encoding="utf-8")
    furniture = (
        "Have your say",
        "14 comments",
        "Sort by: Newest",
        "Tom Gallagher\n2 hours ago\n",
        "\nReply · Report · Like 12",
        "Marta K · 3 hours ago\n",
        "\nReply · Report · Like 4",
        "View 11 more comments",
    )
    for line in furniture:
        assert line in text
        text = text.replace(line, "")
    assert not [b for b in parse_document(text, "bridge.txt").blocks if b.role == COMMENT]
    answer = ask(corpus_of(tmp_path, "bridge.txt", text), tmp_path)
    assert COMMENT_TEXT in answer.hits[0].passage.text


@pytest.mark.parametrize("variant", sorted(PAGE_VARIANTS))
def test_saved_pages_lose_their_threads_whatever_the_markup(variant: str) -> None:
    doc = parse_html(PAGE_VARIANTS[variant], "bridge-news.html")
    body = " ".join(b.text for b in doc.paragraphs)
    assert ARTICLE_ANSWER in body
    assert COMMENT_TEXT not in body and "mark my words" not in body and "Reply" not in body


def test_list_items_of_several_paragraphs_keep_them_apart() -> None:
    """Trafilatura keeps an item's paragraphs as <p> children: joined without a separator they
    read "Tom Gallagher2 hours agoWhen will ..."."""
    page = (
        "<html><body><article><h1>Frequently asked</h1><p>"
        + "Answers to what readers ask us most often. " * 4
        + "</p><ol><li><p>Is the bridge free?</p><p>Yes, there is no toll for cyclists or cars.</p></li>"
        "<li><p>Can I walk across?</p><p>A footpath runs along the east side of the deck.</p></li></ol>"
        "</article></body></html>"
    )
    doc = parse_html(page, "faq.html")
    texts = [b.text for b in doc.paragraphs]
    assert "Is the bridge free?\nYes, there is no toll for cyclists or cars." in texts
    assert not any("free?Yes" in t for t in texts)


NOT_COMMENTS = {
    # A tutorial's section about code comments: a heading that names comments, no thread.
    "tutorial.md": "# Python basics\n\nPython is a language that reads almost like English prose, and this page "
    "shows its first few building blocks.\n\n## Comments\n\nA comment starts with a hash sign and "
    "runs to the end of the line. Python ignores it when the program runs.\n\n```\n# like this\n"
    "```\n\nReply to a reviewer's note in a comment only when the code cannot say it.\n",
    # A paper's Discussion: a word that heads ordinary sections, and a date in it.
    "paper.txt": "Soil Moisture After Wildfires\n\nWe measured soil moisture at forty sites for three years after the "
    "2021 fires.\n\nDiscussion\n\n12 March 2023\n\nMoisture recovered within two seasons at most "
    "sites, faster than earlier studies reported for similar soils.\n\nResponses differed by slope: "
    "steep sites dried out again each summer.\n",
    # A story with a dateline, a time and a share bar, but no thread.
    "story.txt": "Council Approves New Ferry Timetable\n\nUpdated 10:32 am\n\nThe council approved the new ferry "
    "timetable on Monday, with boats every twenty minutes at peak hours.\n\nShare · Like\n\n"
    "Comments\n\nThe transport committee's comments on the draft timetable were published last week "
    "and asked for later evening boats.\n",
}


@pytest.mark.parametrize("name", sorted(NOT_COMMENTS))
def test_sections_that_only_look_like_comments_stay(name: str) -> None:
    kind = "md" if name.endswith(".md") else "txt"
    doc = parse_document(NOT_COMMENTS[name], name, kind=kind)
    assert not [b.text for b in doc.blocks if b.role == COMMENT]
    assert doc.paragraphs[-1].text == NOT_COMMENTS[name].rstrip("\n").rsplit("\n\n", 1)[-1]


@pytest.mark.parametrize(
    "heading",
    [
        "Comments",
        "Reader comments",
        "Comments (2)",
        "47 comments",
        "Have your say",
        "Join the conversation",
        "## Readers' comments",
        "12 thoughts on “Harbour Bridge”",
    ],
)
def test_headings_that_name_comments(heading: str) -> None:
    text = (
        f"# Ferry news\n\nThe ferry will run every twenty minutes from May, the operator said in a statement "
        f"on Monday.\n\n{heading}\n\nsam_k wrote on 3 March 2025, 10:32:\n\nAbout time, the old timetable was "
        f"a mess for anyone working late shifts at the harbour.\n\nReply | Report\n"
    )
    doc = parse_document(text, "ferry.md", kind="md")
    assert [b.role for b in doc.blocks][-4:] == [COMMENT] * 4
    assert [b.text for b in doc.paragraphs] == [doc.blocks[1].text]


def test_ambiguous_headings_need_more_furniture() -> None:
    one = (
        "Ferry news\n\nThe ferry will run every twenty minutes from May, the operator said on Monday.\n\n"
        "Discussion\n\nThe change follows two years of complaints, and the operator expects more riders.\n\n"
        "Reply\n"
    )
    assert not [b for b in parse_document(one, "a.txt").blocks if b.role == COMMENT and "complaints" in b.text]
    two = one.replace("Discussion\n\n", "Discussion\n\nJane Doe · 2h\n\n")
    assert [b for b in parse_document(two, "a.txt").blocks if b.role == COMMENT and "complaints" in b.text]


@pytest.mark.parametrize(
    "line, kind",
    [
        ("Reply", ACTIONS),
        ("Reply · Report · Like 12", ACTIONS),
        ("12 likes · Reply", ACTIONS),
        ("Report abuse", ACTIONS),
        ("2 hours ago", OPENING),
        ("5h", OPENING),
        ("3 March 2025 at 10:32", OPENING),
        ("Yesterday at 10:32", OPENING),
        ("March 3, 2025 at 10:32 am", OPENING),
        ("Jane Doe · 2h", OPENING),
        ("Alex R. — 1h", OPENING),
        ("sam_k | 3 March 2025, 10:32", OPENING),
        ("Jane Doe, 2 hours ago", OPENING),
        ("Maria says:", OPENING),
        ("**tgallagher** wrote on 3 March 2025, 10:32:", OPENING),
        ("In reply to @bob", OPENING),
        ("View 3 more replies", CONTROL),
        ("12 comments", CONTROL),
        ("Sort by: Newest", CONTROL),
        ("Share", None),
        ("Ad", None),
        ("Latest", None),
        ("0.18", None),
        ("Version 1.2", None),
        ("am", None),
        ("The new bridge will open in March 2027.", None),
        ("Reply to the council by Friday, it said.", None),
    ],
)
def test_thread_furniture_lines(line: str, kind: str | None) -> None:
    assert thread_furniture(line) == kind


def test_the_bundled_article_has_no_comments() -> None:
    """Its comment *form* ("LEAVE A REPLY", "Please enter your comment!") stays page furniture:
    a form with no thread is no comment section."""
    root = Path(__file__).resolve().parents[3]
    for path in (root / "corpus" / "nasa-roscosmos-2025.txt", root / "tests" / "fixtures" / "nasa-roscosmos-2025.html"):
        assert not [b for b in load_document(path).blocks if b.role == COMMENT]


def test_a_long_thread_of_furniture_parses_in_linear_time() -> None:
    """60,000 blocks of thread: seconds (a pattern that rescans the rest of a thread at each
    block would take hours; the bound is loose for a busy machine)."""
    import time

    thread = "".join(
        f"Reader {i} · {i % 50 + 1}h\n\nA comment of some words, number {i}.\n\nReply · Report\n\n"
        for i in range(20_000)
    )
    text = "Ferry news\n\nThe ferry will run every twenty minutes from May, the operator said.\n\nComments\n\n" + thread
    started = time.monotonic()
    doc = parse_document(text, "long.txt")
    assert time.monotonic() - started < 60
    assert [b.text for b in doc.paragraphs] == [doc.blocks[1].text]
    assert re.search(r"number 19999", doc.blocks[-2].text) and doc.blocks[-2].role == COMMENT
