"""Reliability, part 1: any text in, a sane reply out (issue 5).

Property tests (hypothesis) over every place that takes text we do not control -- the analyser,
document parsing and index building, answering on a real index of the bundled article, and the
Discord rendering -- with the shapes a public server produces: empty and whitespace-only text,
100,000-character questions, emoji, right-to-left text, control and zero-width characters, code
fences, Markdown, mentions and invalid surrogates. Each case must give an answer or a clear
refusal, never an exception, never a ping, and always fit Discord's limits. The same text is
then sent through the real bot (loopback Discord server) and as corpus files through the real
`citebot index` CLI.

Example counts are pinned (`EXAMPLES`) and quoted in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citebot.bot.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    embed_size,
    render_answer,
    render_source,
)
from citebot.bot.questions import Refusal, check_question, looks_like_question
from citebot.index.analysis import Analyzer
from citebot.index.answering.answerer import Answer, Answerer
from citebot.index.build.params import IndexParams
from citebot.index.errors import EmptyCorpusError
from citebot.index.indexfile import IndexReader
from citebot.index.ingest.documents import parse_document
from tests.support.helpers import BUNDLED_ARTICLE, built_passages, running_bot

CITEBOT = Path(sys.executable).with_name("citebot")

# How many generated examples each property runs (quoted in docs/reliability.md).
EXAMPLES = {"analysis": 1000, "answering": 500, "documents": 300, "bot": 60, "cli_files": 6}

# --------------------------------------------------------------------------- strategies --

NASTY_FRAGMENTS = [
    "",
    " ",
    "\n",
    "\t",
    "\r\n",
    "   \n\n  ",
    "@everyone",
    "@here",
    "<@123>",
    "<@!123>",
    "<@&456>",
    "<#789>",
    "@\u200beveryone",
    "```python\nprint('hi')\n```",
    "```",
    "`x`",
    "**bold**",
    "__u__",
    "~~s~~",
    "||spoiler||",
    "> quote",
    "# Heading",
    "- item",
    "[link](https://example.org)",
    "<https://evil.example>",
    "\u202eevil\u202c",
    "\u200b\u200c\u200d\u2060\ufeff",
    "שלום עולם",
    "مرحبا بالعالم",
    "ｆｕｌｌｗｉｄｔｈ",
    "😀🚀👩‍🚀🇺🇸",
    "\U0001f44d\U0001f3fd",
    "e\u0301\u0301\u0301",
    "\x00",
    "\x07\x1b[31m",
    "\x7f",
    "\ud800",
    "\udfff",
    "\ud83d",
    "ISS",
    "deorbit",
    "When will the ISS be deorbited?",
    "Roscosmos",
    "2028",
    "'; DROP TABLE passages; --",
    "../../etc/passwd",
    "%s%n%x",
    "{0}{1}",
    "\\",
    '"',
    "'",
    "||",
    "<script>alert(1)</script>",
    "ǅ",
    "ß",
    "İ",
]

# Any code point, including lone surrogates and control characters.
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY_FRAGMENTS), st.text(ANY_CHAR, max_size=40)), max_size=12).map(
    "".join
)
huge_text = st.builds(
    lambda frag, n: (frag or "x") * n, st.sampled_from(NASTY_FRAGMENTS + ["why "]), st.integers(1, 100_000 // 4)
)
question_text = st.one_of(nasty_text, nasty_text, nasty_text, huge_text)

UNESCAPED_PING = re.compile(r"@(everyone|here)")


def no_unescaped_ping(text: str) -> bool:
    """Belt and braces beside AllowedMentions.none(): Discord would not parse these as pings."""
    return UNESCAPED_PING.search(text or "") is None


def check_embed_dict(embed: dict[str, Any]) -> None:
    assert len(embed.get("title") or "") <= TITLE_LIMIT
    assert len(embed.get("description") or "") <= DESCRIPTION_LIMIT
    fields = embed.get("fields") or []
    assert len(fields) <= FIELD_COUNT_LIMIT
    for f in fields:
        assert len(f["name"]) <= FIELD_NAME_LIMIT and len(f["value"]) <= FIELD_VALUE_LIMIT
        assert f["name"].strip() and f["value"].strip(), "Discord refuses empty field names and values"
    assert len((embed.get("footer") or {}).get("text") or "") <= FOOTER_LIMIT
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    total += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    assert total <= EMBED_TOTAL_LIMIT
    for text in [
        embed.get("title"),
        embed.get("description"),
        (embed.get("footer") or {}).get("text"),
        *(f["name"] for f in fields),
        *(f["value"] for f in fields),
    ]:
        assert no_unescaped_ping(text or ""), text


def check_reply(content: str | None, embeds: list[dict[str, Any]]) -> None:
    assert len(content or "") <= CONTENT_LIMIT
    assert no_unescaped_ping(content or ""), content
    assert sum(_embed_len(e) for e in embeds) <= EMBED_TOTAL_LIMIT
    for embed in embeds:
        check_embed_dict(embed)


def _embed_len(e: dict[str, Any]) -> int:
    return (
        len(e.get("title") or "")
        + len(e.get("description") or "")
        + sum(len(f["name"]) + len(f["value"]) for f in e.get("fields") or [])
        + len((e.get("footer") or {}).get("text") or "")
        + len((e.get("author") or {}).get("name") or "")
    )


def encodable(text: str) -> bool:
    """What goes on the wire or into SQLite must be valid UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


# --------------------------------------------------------------------------- fixtures ----


@pytest.fixture(scope="module")
def answering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.AbstractEventLoop, Answerer]]:
    """A real index of the bundled article, open in a loop the sync property tests drive."""
    from citebot.index.build.reindex import rebuild_sync

    folder = tmp_path_factory.mktemp("reliability-input")
    db = folder / "index.sqlite3"
    rebuild_sync([BUNDLED_ARTICLE], db, IndexParams())
    loop = asyncio.new_event_loop()
    reader = loop.run_until_complete(IndexReader.open(db))
    try:
        yield loop, Answerer(reader)
    finally:
        loop.run_until_complete(reader.close())
        loop.close()


# --------------------------------------------------------------------------- analysis ----


@settings(max_examples=EXAMPLES["analysis"], deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question_text)
def test_analyzer_takes_any_text(text: str) -> None:
    analyzer = Analyzer()
    for terms in (analyzer.terms(text[:20_000]), analyzer.question_terms(text[:20_000])):
        assert isinstance(terms, list)
        assert all(isinstance(t, str) and t and encodable(t) for t in terms)
    assert isinstance(looks_like_question(text), bool)
    checked = check_question(text, 500)
    assert isinstance(checked, (str, Refusal))
    if isinstance(checked, str):
        assert checked.strip() and len(checked) <= 500
    else:
        assert checked.message and len(checked.message) < CONTENT_LIMIT


# --------------------------------------------------------------------------- answering ---


@settings(
    max_examples=EXAMPLES["answering"],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(question=question_text, top_k=st.one_of(st.none(), st.integers(1, 25)))
def test_any_question_gets_an_answer_or_a_clear_refusal_that_fits_discord(
    answering: tuple[asyncio.AbstractEventLoop, Answerer], question: str, top_k: int | None
) -> None:
    loop, answerer = answering
    answer = loop.run_until_complete(answerer.ask(question, top_k))
    assert isinstance(answer, Answer)
    if answer.answered:
        assert answer.answer and answer.hits
    else:
        assert answer.answer is None and answer.reason
    assert len(answer.hits) <= (top_k or answerer.params.top_k)
    json.dumps(answer.to_json())  # the --json contract holds for any question
    reply = render_answer(answer, footer="index generation 1 · rate this answer with the buttons below")
    check_reply(reply.content, [e.to_dict() for e in reply.embeds])
    assert all(embed_size(e) <= EMBED_TOTAL_LIMIT for e in reply.embeds)


def test_the_documented_hostile_questions(answering: tuple[asyncio.AbstractEventLoop, Answerer]) -> None:
    """The named cases, each once, so a regression names its input."""
    loop, answerer = answering
    cases = [
        "",
        "   \n\t ",
        "x" * 100_000,
        "When will the ISS be deorbited? " * 3000,
        "😀" * 5000,
        "\u202eWhen will the ISS be deorbited?",
        "\u200bWhen\u200b will the ISS be deorbited?",
        "```When will the ISS be deorbited?```",
        "**When** will the _ISS_ be deorbited? @everyone @here",
        "<@123> <@&456> when will the ISS be deorbited?",
        "\ud800When will the ISS be deorbited?\udfff",
        "متى سيتم إخراج محطة الفضاء الدولية من المدار؟",
        "\x00\x01\x02",
        "'; DROP TABLE passages; --",
    ]
    for question in cases:
        answer = loop.run_until_complete(answerer.ask(question))
        reply = render_answer(answer, footer="f")
        check_reply(reply.content, [e.to_dict() for e in reply.embeds])
    assert loop.run_until_complete(answerer.ask("When will the ISS be deorbited?" + "\u200b" * 10)).answered


def test_source_rendering_of_every_passage_fits(answering: tuple[asyncio.AbstractEventLoop, Answerer]) -> None:
    loop, answerer = answering
    reader = answerer.reader
    for i in range(reader.info.passages):
        [stored] = loop.run_until_complete(reader.passages([i]))
        before, after = loop.run_until_complete(reader.neighbours(stored))
        reply = render_source(stored, before, after)
        check_reply(reply.content, [e.to_dict() for e in reply.embeds])


# --------------------------------------------------------------------------- documents ---

document_text = st.one_of(
    nasty_text,
    st.lists(
        st.one_of(
            nasty_text,
            st.sampled_from(
                [
                    "---\ntitle: T\nauthor: A\n---\n",
                    "---\n",
                    "---\ntitle:\n",
                    "# Heading\n",
                    "\n\n",
                    "The International Space Station (ISS) will be deorbited in 2030 after a long service life.",
                    "By Ada Lovelace\n",
                    "Ada Lovelace\nAda Lovelace is a writer who covers space.",
                    "- one item of a list of things\n- another item of the same list here",
                    "1. a\n2. b\n",
                ]
            ),
        ),
        max_size=15,
    ).map("\n\n".join),
)


@settings(max_examples=EXAMPLES["documents"], deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=document_text, kind=st.sampled_from(["txt", "md"]))
def test_any_document_parses_and_builds_or_is_refused_cleanly(raw: str, kind: str) -> None:
    doc = parse_document(raw, f"fuzz.{kind}", kind=kind)
    assert doc.title and encodable(doc.title) and encodable(doc.text)
    for block in doc.blocks:
        assert encodable(block.text)
    try:
        built = built_passages([doc])
    except EmptyCorpusError as exc:
        assert "no documents" in str(exc)
        return
    assert built
    for passage, spans in ((s.passage, s.sentences) for s in built):
        assert passage.text.strip() and encodable(passage.text)
        assert all(0 <= a <= b <= len(passage.text) for a, b in spans)


def _fuzzed_files(folder: Path, seed: int) -> list[Path]:
    """A handful of hostile corpus files (with one good article, so the build succeeds)."""
    rng = random.Random(seed)
    frags = [f for f in NASTY_FRAGMENTS if encodable(f) and f != "\x00"]
    files = []
    for i in range(EXAMPLES["cli_files"]):
        # File 0 carries NUL bytes (binary); the others every other hostile fragment.
        words = [rng.choice(frags + ["\x00"] if i == 0 else frags) for _ in range(rng.randint(0, 400))]
        text = "".join(w + rng.choice([" ", "\n", "\n\n", ""]) for w in words)
        path = folder / f"fuzz-{i}.{rng.choice(['txt', 'md'])}"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


def test_fuzzed_corpus_files_never_crash_citebot_index(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _fuzzed_files(corpus, seed=5)
    (corpus / "article.txt").write_text(BUNDLED_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    db = tmp_path / "index.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    done = subprocess.run(
        [str(CITEBOT), "index", "--db", str(db), str(corpus)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    # Every stderr line is a one-line warning naming a file.
    for line in done.stderr.strip().splitlines():
        assert line.startswith("warning: ") and str(corpus) in line, line
    asked = subprocess.run(
        [str(CITEBOT), "ask", "--db", str(db), "--json", "-"],
        input="@everyone <@1> ```\nWhen will the ISS be deorbited?\n" + "x" * 100_000 + "\n\u202e\u200b\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert asked.returncode == 0, asked.stderr
    answers = [json.loads(line) for line in asked.stdout.splitlines()]
    assert len(answers) == 4 and answers[1]["answered"]


# --------------------------------------------------------------------------- the bot -----


async def send_message_event(server: Any, payload: dict[str, Any]) -> None:
    """MESSAGE_CREATE as Discord sends it: JSON with non-ASCII escaped, so a lone surrogate
    arrives as the escape "\\ud800" (which a UTF-8 frame could not carry raw)."""
    if encodable(payload["content"]):
        await server.dispatch_message(payload)
    else:
        await server.send_raw(json.dumps({"op": 0, "s": None, "t": "MESSAGE_CREATE", "d": payload}))
        # The server keeps the message to quote it in the reply's echo; it writes raw UTF-8 frames,
        # so it keeps a copy it can encode (what the bot sends is checked separately).
        server.messages[int(payload["id"])] = {
            **payload,
            "content": payload["content"].encode("utf-8", "replace").decode("utf-8"),
        }


async def test_hostile_questions_through_the_real_bot(tmp_path: Path, built_index: Path) -> None:
    """Generated hostile questions sent as real mentions: exactly one reply each, no pings."""
    from tests.support.bot_chat import pings_nobody

    rng = random.Random(1)
    questions = [
        "\ud800 when will the ISS be deorbited? \udfff",
        "@everyone ```when``` **ISS**",
        "\u202e" * 600,
        "x" * 100_000,
        "",
    ]
    while len(questions) < EXAMPLES["bot"]:
        questions.append(
            "".join(rng.choice(NASTY_FRAGMENTS) + rng.choice(["", " ", "\n"]) for _ in range(rng.randint(1, 30)))
        )
    async with running_bot(tmp_path, built_index, cooldown_seconds=0.0) as env:
        server = env.server
        start = server.request_count
        sent = []
        for q in questions:
            incoming = server.bot_mention_payload(q)
            sent.append(incoming["id"])
            await send_message_event(server, incoming)
        replies: dict[str, int] = {}
        for _ in questions:
            reply = await server.wait_for_message(timeout=20)
            ref = reply["message_reference"]["message_id"]
            replies[ref] = replies.get(ref, 0) + 1
            check_reply(reply["content"], reply.get("embeds") or [])
            assert not reply.get("mention_everyone") and not reply.get("mentions")
            assert not reply["content"].startswith("Sorry, something went wrong"), reply["content"]
        assert replies == {mid: 1 for mid in sent}
        posts = [
            r.json
            for r in server.requests[start:]
            if r.method == "POST" and isinstance(r.json, dict) and r.route == "/channels/{channel_id}/messages"
        ]
        assert len(posts) == len(questions) and all(pings_nobody(b) for b in posts)
        assert all(encodable(json.dumps(b, ensure_ascii=False)) for b in posts)
        rows = await env.qlog.recent(limit=len(questions))
        assert all(encodable(row[4]) for row in rows)
