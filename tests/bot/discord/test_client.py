"""The product's bot, end to end: the real discord.py client against the loopback server.

Each test starts `bot.client.build_bot` in-process (see tests.support.helpers.running_bot) on a real index
of the bundled article and asserts on what the bot put on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.bot_chat import DEORBIT, NEW_ARTICLE, ask_by_mention, assert_safe, nothing_sent, pings_nobody, slash
from tests.support.helpers import BUNDLED_ARTICLE, TOKEN, BotEnv, running_bot

MESSAGES = "/channels/{channel_id}/messages"
FOLLOWUP = "/webhooks/{application_id}/{token}"
CITEBOT = Path(sys.executable).with_name("citebot")


def bodies(env: BotEnv, after: int = 0) -> list[dict[str, Any]]:
    """JSON bodies of every message-creating request the bot made (channel and follow-ups)."""
    out = []
    for r in env.server.requests[after:]:
        if r.method == "POST" and r.route in (MESSAGES, FOLLOWUP) and isinstance(r.json, dict):
            out.append(r.json)
        if r.route == "/interactions/{interaction_id}/{interaction_token}/callback" and isinstance(r.json, dict):
            data = r.json.get("data") or {}
            if "content" in data or "embeds" in data:
                out.append(data)
    return out


# --------------------------------------------------------------------------- questions --


async def test_mention_question_is_answered_with_citations(env: BotEnv) -> None:
    start = env.server.request_count
    incoming, reply = await ask_by_mention(env, DEORBIT)

    assert reply["content"].startswith("**Answer:** ") and reply["content"].endswith("[1]")
    assert "deorbit" in reply["content"]
    assert reply["message_reference"]["message_id"] == incoming["id"]
    [embed] = reply["embeds"]
    assert embed["title"] == f"Q: {DEORBIT}"
    assert embed["description"].startswith("**[1]** ")
    assert "**[2]**" in embed["description"] and "**[3]**" in embed["description"]
    assert "**The United States and Russia have also reached an agreement" in embed["description"]
    first = embed["fields"][0]
    assert first["name"].startswith("[1] NASA and Roscosmos")
    assert "Joseph P" in first["value"] and "¶" in first["value"] and "id `" in first["value"]
    buttons = [c["custom_id"] for row in reply["components"] for c in row["components"]]
    assert buttons == ["citebot:vote:up", "citebot:vote:down"]
    assert_safe(reply)
    # Typing was shown, and every send said "ping nobody".
    assert env.server.requests_to("POST", "/channels/{channel_id}/typing")
    sends = bodies(env, start)
    assert sends and all(pings_nobody(b) for b in sends)
    # The question was logged with a hashed user id and linked to the answer message.
    [row] = await env.qlog.recent()
    assert row[4] == DEORBIT and row[5] == 1 and row[8] == int(reply["id"])
    assert row[3] != env.server.default_user["id"] and len(row[3]) == 64
    await asyncio.sleep(0.2)
    assert len(env.server.sent_messages) == 1  # its own echoed reply was ignored


async def test_answer_channel_answers_questions_and_ignores_chatter(env: BotEnv) -> None:
    server = env.server
    identify = server.identify_payloads[0]
    assert identify["intents"] & (1 << 15), "answer channels need the message-content intent"

    question = server.message_payload("how long will the ISS keep operating?", channel_id=env.answer_channel)
    await server.dispatch_message(question)
    reply = await server.wait_for_message(channel_id=env.answer_channel, timeout=10)
    assert reply["message_reference"]["message_id"] == question["id"]
    assert "2028" in reply["embeds"][0]["description"]
    assert_safe(reply)

    await server.dispatch_message(server.message_payload("thanks, that helps", channel_id=env.answer_channel))
    await server.dispatch_message(server.message_payload("When will the ISS be deorbited?"))  # not an answer channel
    assert await nothing_sent(env)


async def test_no_message_content_intent_without_answer_channels(tmp_path: Path, built_index: Path) -> None:
    async with running_bot(tmp_path, built_index, answer_channels=()) as env:
        assert not env.server.identify_payloads[0]["intents"] & (1 << 15)
        _, reply = await ask_by_mention(env, DEORBIT)
        assert reply["content"].startswith("**Answer:**")


async def test_unanswerable_question_says_so(env: BotEnv) -> None:
    _, reply = await ask_by_mention(env, "Who painted the Mona Lisa?")
    assert reply["content"].startswith("My sources do not answer that.")
    assert "**Answer:**" not in reply["content"]
    assert_safe(reply)
    # A question that shares words with the article without being answered lists closest matches
    # (which questions are declined is the answering module's call; the reply shape is ours).
    _, reply = await ask_by_mention(env, "Is the Louvre open in July?")
    if not reply["content"].startswith("**Answer:**"):
        assert reply["content"] == "My sources do not answer that. Closest matches:"
        assert reply["embeds"][0]["author"]["name"].startswith("Closest matches")
        assert "**[1]**" in reply["embeds"][0]["description"]
    assert_safe(reply)


async def test_everyone_and_mentions_inside_a_question_ping_nobody(env: BotEnv) -> None:
    server = env.server
    guild = server.guilds[server.guild_id]
    bob = server.make_user("bob")
    start = server.request_count
    text = f"@everyone <@&{guild.admin_role_id}> <@{bob['id']}> **when** will the ISS be deorbited? @here"
    incoming, reply = await ask_by_mention(
        env, text, mentions=[bob], mention_roles=[guild.admin_role_id], mention_everyone=True
    )
    assert_safe(reply)
    title = reply["embeds"][0]["title"]
    assert "@everyone" not in title and "@\u200beveryone" in title and "@\u200bhere" in title
    assert "<@" not in title and "@Bob" in title and "@Admin" in title
    assert "\\*\\*when\\*\\*" in title  # user Markdown is escaped, not rendered
    sends = bodies(env, start)
    assert sends and all(pings_nobody(b) for b in sends)


async def test_cooldown_answers_a_polite_wait(tmp_path: Path, built_index: Path) -> None:
    async with running_bot(tmp_path, built_index, cooldown_questions=2, cooldown_seconds=30.0) as env:
        for _ in range(2):
            _, reply = await ask_by_mention(env, DEORBIT)
            assert reply["content"].startswith("**Answer:**")
        _, reply = await ask_by_mention(env, DEORBIT)
        assert "wait" in reply["content"] and not reply["embeds"] and not reply["components"]
        assert_safe(reply)
        # Another person is not held back.
        carol = env.server.make_user("carol")
        _, reply = await ask_by_mention(env, DEORBIT, author=carol)
        assert reply["content"].startswith("**Answer:**")


async def test_overlong_question_is_refused(env: BotEnv) -> None:
    limit = env.settings.discord.max_question_chars
    _, reply = await ask_by_mention(env, "why " * (limit // 4 + 10) + "?")
    assert f"{limit:,} characters" in reply["content"] and not reply["embeds"]
    assert await env.qlog.recent() == []


async def test_malformed_gateway_event_does_not_kill_the_bot(env: BotEnv) -> None:
    server = env.server
    await server.dispatch("MESSAGE_CREATE", {"id": "1", "garbage": True})
    await server.dispatch("MESSAGE_CREATE", {"id": "2", "channel_id": "x", "type": "?", "content": None})
    await server.dispatch("INTERACTION_CREATE", {"type": 2})
    await server.dispatch("SOMETHING_NEW", [1, 2])
    await asyncio.sleep(0.2)
    assert not env.task.done()
    _, reply = await ask_by_mention(env, DEORBIT)
    assert reply["content"].startswith("**Answer:**")
    assert server.identify_count == 1 and server.resume_count == 0


# ------------------------------------------------------------------------ slash commands --


async def test_commands_synced_to_dev_guild_only(env: BotEnv) -> None:
    names = sorted(c["name"] for c in env.server.guild_commands[env.server.guild_id])
    assert names == ["ask", "gaps", "reindex", "source", "stats"]
    assert env.server.requests_to("PUT", "/applications/{application_id}/commands") == []


def _guild_without_commands_scope() -> dict[str, Any]:
    from tests.support.discord_server import GuildSpec

    return {"guilds": [GuildSpec(commands_scope=False)]}


# Each case: how Discord comes to refuse the sync, what the log line must tell the owner to do.
SYNC_FAILURES = {
    "403 invited without applications.commands": (_guild_without_commands_scope, 403, "`applications.commands`"),
    "404 unknown dev_guild": (lambda: {"dev_guild": 987654321098765432}, 404, "check discord.dev_guild"),
    "400 dev_guild is no snowflake": (
        lambda: {"dev_guild": int("1234567890123456789" * 2)},
        400,
        "check discord.dev_guild",
    ),
}


@pytest.mark.parametrize("case", list(SYNC_FAILURES))
async def test_failed_command_sync_is_logged_once_and_questions_are_still_answered(
    case: str, tmp_path: Path, built_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    overrides, status, advice = SYNC_FAILURES[case]
    caplog.set_level(logging.INFO)
    async with running_bot(tmp_path, built_index, **overrides()) as env:
        [sync] = env.server.requests_to("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
        assert sync.status == status
        assert not env.server.guild_commands.get(env.server.guild_id)
        said = [r for r in caplog.records if "slash commands" in r.getMessage() and r.levelno >= logging.WARNING]
        assert len(said) == 1, [r.getMessage() for r in said]
        line = said[0].getMessage()
        assert "\n" not in line and said[0].exc_info is None
        assert advice in line and f"guild {env.settings.discord.dev_guild}" in line
        assert "/-commands are unavailable" in line and "still answers mentions" in line
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

        _, reply = await ask_by_mention(env, DEORBIT)
        assert reply["content"].startswith("**Answer:**")
        question = env.server.message_payload("how long will the ISS keep operating?", channel_id=env.answer_channel)
        await env.server.dispatch_message(question)
        reply = await env.server.wait_for_message(channel_id=env.answer_channel, timeout=10)
        assert "2028" in reply["embeds"][0]["description"]
        assert not env.task.done()


async def test_slash_ask(env: BotEnv) -> None:
    payload = await slash(env, "ask", {"question": DEORBIT, "top_k": 2})
    deferred = await env.server.wait_for_interaction_response(payload["id"])
    assert deferred.type == 5
    reply = await env.server.wait_for_message(interaction_id=int(payload["id"]), timeout=10)
    assert reply["content"].startswith("**Answer:**")
    assert len(reply["embeds"][0]["fields"]) == 2 and "**[3]**" not in reply["embeds"][0]["description"]
    assert_safe(reply)
    follow = await env.server.wait_for_request(method="POST", route=FOLLOWUP)
    assert pings_nobody(follow.json)


async def test_slash_source_shows_passage_and_neighbours(env: BotEnv) -> None:
    _, answer = await ask_by_mention(env, DEORBIT)
    field = answer["embeds"][0]["fields"][0]["value"]
    passage_id = field.split("id `", 1)[1].split("`", 1)[0]
    payload = await slash(env, "source", {"id": passage_id})
    reply = await env.server.wait_for_message(interaction_id=int(payload["id"]), timeout=5)
    [embed] = reply["embeds"]
    assert embed["title"] == f"Passage {passage_id}"
    assert "extend the ISS" in embed["description"] and "…" not in embed["description"]
    names = [f["name"] for f in embed["fields"]]
    assert names[0].startswith("NASA and Roscosmos") and ("Before" in names or "After" in names)
    assert_safe(reply)

    missing = await slash(env, "source", {"id": "no-such-<@&1>"})
    response = await env.server.wait_for_interaction_response(missing["id"])
    assert response.data["flags"] & 64 and "No passage" in response.data["content"]


async def test_reindex_refused_without_manage_server(env: BotEnv) -> None:
    generation = env.live.reader.info.generation
    payload = await slash(env, "reindex")
    response = await env.server.wait_for_interaction_response(payload["id"])
    assert response.type == 4 and response.data["flags"] & 64
    assert "Manage Server" in response.data["content"]
    assert env.live.reader.info.generation == generation


async def test_reindex_allowed_with_manage_server(env: BotEnv) -> None:
    generation = env.live.reader.info.generation
    payload = await slash(env, "reindex", user=env.server.owner_user)
    deferred = await env.server.wait_for_interaction_response(payload["id"])
    assert deferred.type == 5
    reply = await env.server.wait_for_message(interaction_id=int(payload["id"]), timeout=20)
    assert reply["content"].startswith("Reindexed 1 documents into ")
    assert f"generation {generation + 1}" in reply["content"]
    assert env.live.reader.info.generation == generation + 1
    _, answer = await ask_by_mention(env, DEORBIT)
    assert f"index generation {generation + 1}" in answer["embeds"][0]["footer"]["text"]


async def test_reindex_counts_what_it_skipped_and_logs_a_summary(env: BotEnv, caplog: pytest.LogCaptureFixture) -> None:
    """The reply counts the skipped files without naming a server path; the log summarises
    them per kind as the CLI does (five copies: one line; two e-books: listed)."""
    for i in range(5):
        (env.corpus / f"copy-{i}.txt").write_bytes(BUNDLED_ARTICLE.read_bytes())
    for name in ("a.epub", "b.epub"):
        (env.corpus / name).write_bytes(b"PK\x03\x04")
    caplog.set_level(logging.INFO, logger="citebot.bot.discord.cogs.admin")
    payload = await slash(env, "reindex", user=env.server.owner_user)
    reply = await env.server.wait_for_message(interaction_id=int(payload["id"]), timeout=20)
    assert reply["content"].startswith("Reindexed 1 documents into ")
    assert "7 files or pages were skipped (see the bot's log)" in reply["content"]
    assert str(env.corpus) not in reply["content"] and ".epub" not in reply["content"]
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.name == "citebot.bot.discord.cogs.admin" and r.levelno == logging.WARNING
    ]
    assert logged == [  # the folder walk finds the e-books; duplicates show once the files are read
        f"reindex: {env.corpus / 'a.epub'}: skipped, .epub is not a kind citebot reads",
        f"reindex: {env.corpus / 'b.epub'}: skipped, .epub is not a kind citebot reads",
        'reindex: 5 files skipped as duplicates of others; log.level = "DEBUG" lists them',
    ]


async def test_feedback_click_is_recorded_and_counted_in_stats(env: BotEnv) -> None:
    server = env.server
    _, answer = await ask_by_mention(env, DEORBIT)
    replies = []
    for custom_id in ("citebot:vote:up", "citebot:vote:up", "citebot:vote:down"):
        click = server.component_payload(custom_id, answer)
        await server.dispatch_interaction(click)
        replies.append(await server.wait_for_interaction_response(click["id"]))
    # A 👎 is recorded at the click and answered with the modal asking for a reason (type 9).
    assert [r.type for r in replies] == [4, 4, 9]
    assert all(r.data["flags"] & 64 for r in replies[:2])
    texts = [r.data["content"] for r in replies[:2]] + [replies[2].data["title"]]
    assert texts[0].startswith("Thanks") and "already" in texts[1] and texts[2].startswith("Changed")
    other = server.component_payload("citebot:vote:up", answer, user=server.owner_user)
    await server.dispatch_interaction(other)
    await server.wait_for_interaction_response(other["id"])

    payload = await slash(env, "stats")
    stats = await server.wait_for_message(interaction_id=int(payload["id"]))
    fields = {f["name"]: f["value"] for f in stats["embeds"][0]["fields"]}
    assert "1 documents" in fields["Index"] and "generation 1" in fields["Index"]
    assert fields["Questions"].startswith("1 asked, 1 answered") and " ms" in fields["Questions"]
    assert fields["Feedback"] == "👍 1 · 👎 1"


async def test_feedback_click_after_restart(tmp_path: Path, built_index: Path) -> None:
    """Buttons are dispatched by custom_id, so a click on an answer sent by an earlier run counts."""
    async with running_bot(tmp_path, built_index) as env:
        _, answer = await ask_by_mention(env, DEORBIT)
    async with running_bot(tmp_path, built_index) as env:
        click = env.server.component_payload("citebot:vote:up", answer)
        await env.server.dispatch_interaction(click)
        response = await env.server.wait_for_interaction_response(click["id"])
        assert response.data["content"].startswith("Thanks")
        assert (await env.qlog.stats()).thumbs_up == 1


async def test_stopping_waits_for_answers_in_flight_only_so_long(
    tmp_path: Path, built_index: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer stuck (here: Discord never acknowledges the typing indicator) holds the stop
    back for STOP_GRACE_SECONDS, no longer."""
    import citebot.bot.discord.client as client_module

    monkeypatch.setattr(client_module, "STOP_GRACE_SECONDS", 0.5)
    caplog.set_level(logging.INFO)
    async with running_bot(tmp_path, built_index) as env:
        stuck = env.server.hold_next("POST", "/channels/{channel_id}/typing")
        await env.server.dispatch_message(env.server.bot_mention_payload(DEORBIT))
        await asyncio.wait_for(stuck.arrived.wait(), 10)
        try:
            await asyncio.wait_for(env.bot.close(), 10)
            assert env.bot.is_closed()
            assert any("stopping with 1 answer(s) unfinished after 0.5 s" in r.getMessage() for r in caplog.records)
        finally:
            stuck.release()


# ---------------------------------------------------------------------------- hot reload --


async def test_hot_reload_after_command_line_reindex(env: BotEnv, tmp_path: Path) -> None:
    question = "What does the Zorblax greenhouse grow?"
    _, before = await ask_by_mention(env, question)
    assert not before["content"].startswith("**Answer:**")

    second = tmp_path / "second-corpus"
    second.mkdir()
    (second / BUNDLED_ARTICLE.name).write_text(BUNDLED_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    (second / "zorblax.md").write_text(NEW_ARTICLE, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    proc = await asyncio.create_subprocess_exec(
        str(CITEBOT),
        "index",
        "--db",
        str(env.settings.db_path),
        str(second),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
        cwd=tmp_path,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert b"Indexed 2 documents" in out
    swapped_at = time.monotonic()

    while True:
        _, reply = await ask_by_mention(env, question, author=env.server.make_user("dave"))
        if reply["content"].startswith("**Answer:**"):
            break
        assert time.monotonic() - swapped_at < 5, "the bot did not pick up the new index within 5 s"
        await asyncio.sleep(0.25)
    assert "purple potatoes" in reply["content"]
    assert "Ada Quill" in reply["embeds"][0]["fields"][0]["value"]
    assert "(https://example.org/zorblax-greenhouse)" in reply["embeds"][0]["fields"][0]["value"]
    assert env.live.reader.info.documents == 2


async def test_in_flight_question_finishes_on_the_old_reader(env: BotEnv, tmp_path: Path) -> None:
    """A reader borrowed before a swap keeps working until returned, then is closed."""
    from citebot.index.build.reindex import rebuild

    async with env.live.use() as answerer:
        old = answerer.reader
        await rebuild(list(env.settings.corpus_paths), env.settings.db_path, env.settings.index)
        assert await env.live.reload()
        assert env.live.reader is not old
        answer = await answerer.ask(DEORBIT)  # still on the old reader, still works
        assert answer.answered
    for _ in range(50):
        if old._db._connection is None:
            break
        await asyncio.sleep(0.02)
    assert old._db._connection is None


# ---------------------------------------------------------------------------- the CLI ----


def test_run_without_token_names_the_variable(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    environ["CITEBOT_CONFIG"] = ""
    done = subprocess.run(
        [str(CITEBOT), "run", "--db", str(tmp_path / "i.sqlite3")],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert "DISCORD_TOKEN" in done.stderr


def test_run_never_shows_a_rejected_token(tmp_path: Path, built_index: Path) -> None:
    """With a bad token against an unreachable server it fails fast without echoing the token."""
    secret = "sekrit-token-value-123"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[corpus]\npaths = ["{BUNDLED_ARTICLE.parent}"]\n[index]\ndb = "{built_index}"\n'
        f'[log]\nstate_db = "{tmp_path / "state.sqlite3"}"\n'
        '[discord]\napi_base = "http://127.0.0.1:9/api/v10"\ngateway_url = "ws://127.0.0.1:9/gateway"\n',
        encoding="utf-8",
    )
    environ = dict(os.environ, DISCORD_TOKEN=secret)
    done = subprocess.run(
        [str(CITEBOT), "run", "--config", str(config)],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode != 0
    assert secret not in done.stderr and secret not in done.stdout


async def _wait_for_line(path: Path, text: str, proc: asyncio.subprocess.Process, seconds: float = 30) -> None:
    """Until `text` is in the file the process logs to; fails (with the log) if it exits first."""
    deadline = time.monotonic() + seconds
    while text not in path.read_text(encoding="utf-8", errors="replace"):
        if proc.returncode is not None or time.monotonic() > deadline:
            pytest.fail(f"no {text!r} in the log (exit {proc.returncode}): {path.read_text()[-3000:]}")
        await asyncio.sleep(0.05)


async def test_sigterm_lets_the_answer_in_flight_finish_and_exits_0(tmp_path: Path, built_index: Path) -> None:
    """`citebot run` as a real process: SIGTERM while a question is being answered (Discord is
    slow to acknowledge the typing indicator, so the answer has not been computed yet). The answer
    is still delivered and logged, a question arriving meanwhile is not taken, the state
    database is intact and the exit code is 0."""
    from tests.support.discord_server import DiscordTestServer

    db, state = tmp_path / "index.sqlite3", tmp_path / "state" / "state.sqlite3"
    shutil.copy(built_index, db)
    log_path = tmp_path / "run.log"
    async with DiscordTestServer(token=TOKEN, heartbeat_interval_ms=500) as server:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[corpus]\npaths = ["{BUNDLED_ARTICLE.parent}"]\n[index]\ndb = "{db}"\n'
            f'[log]\nstate_db = "{state}"\nlevel = "INFO"\n'
            f'[discord]\napi_base = "{server.base_url}"\ngateway_url = "{server.gateway_url}"\n',
            encoding="utf-8",
        )
        typing = server.hold_next("POST", "/channels/{channel_id}/typing")
        environ = {k: v for k, v in os.environ.items() if k != "CITEBOT_CONFIG"}
        environ["DISCORD_TOKEN"] = TOKEN
        with log_path.open("wb") as log_file:  # a file, not a pipe nobody reads while the bot runs
            proc = await asyncio.create_subprocess_exec(
                str(CITEBOT),
                "run",
                "--config",
                str(config),
                env=environ,
                cwd=tmp_path,
                stdout=log_file,
                stderr=log_file,
            )
        try:
            await _wait_for_line(log_path, "starting: index generation", proc, 60)
            await server.wait_until_identified(timeout=60)
            question = server.bot_mention_payload(DEORBIT)
            await server.dispatch_message(question)
            await asyncio.wait_for(typing.arrived.wait(), 30)  # taken, not yet answered

            proc.send_signal(signal.SIGTERM)
            await _wait_for_line(log_path, "stopping: no new questions are taken; 1 being answered", proc)
            await server.dispatch_message(server.bot_mention_payload(DEORBIT, author=server.make_user("late")))
            await _wait_for_line(log_path, "a MESSAGE_CREATE event was not handled", proc)
            typing.release()
            code = await asyncio.wait_for(proc.wait(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        said = log_path.read_text(encoding="utf-8", errors="replace")
        assert code == 0, said[-3000:]
        [reply] = server.sent_messages
    assert reply["content"].startswith("**Answer:**") and reply["message_reference"]["message_id"] == question["id"]
    assert "stopped: index and question log closed" in said and "Traceback" not in said
    with sqlite3.connect(state) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT question, answered, message_id FROM questions").fetchall() == [
            (DEORBIT, 1, int(reply["id"]))
        ]


def test_chat_answers_like_the_bot(tmp_path: Path, built_index: Path) -> None:
    db = tmp_path / "index.sqlite3"
    db.write_bytes(built_index.read_bytes())
    done = subprocess.run(
        [str(CITEBOT), "chat", "--db", str(db)],
        input=f"{DEORBIT}\n\nWho painted the Mona Lisa?\nquit\nnever asked?\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Answer: ") == 1 and "[1]" in done.stdout and "Sources:" in done.stdout
    assert "My sources do not answer that." in done.stdout
    assert "never asked" not in done.stdout
    eof = subprocess.run(
        [str(CITEBOT), "chat", "--db", str(db)], input="", capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert eof.returncode == 0


async def test_handler_error_apologises_and_bot_keeps_running(env: BotEnv, caplog: pytest.LogCaptureFixture) -> None:
    """A failure while replying (here Discord refusing the reply) reaches the error funnel: the
    log gets the traceback, the asker a short apology, and the next question is answered."""
    env.server.fail_next("POST", MESSAGES, status=400, body={"code": 50035, "message": "Invalid Form Body"})
    incoming, apology = await ask_by_mention(env, DEORBIT)
    assert apology["content"].startswith("Sorry, something went wrong")
    assert apology["message_reference"]["message_id"] == incoming["id"]
    assert any(r.exc_info for r in caplog.records if r.name == "citebot.bot.discord.client")
    assert not env.task.done()
    _, reply = await ask_by_mention(env, DEORBIT)
    assert reply["content"].startswith("**Answer:**")


async def test_direct_messages_ignored_unless_enabled(env: BotEnv) -> None:
    await env.server.dispatch_message(env.server.dm_message_payload(DEORBIT))
    assert await nothing_sent(env)


async def test_direct_messages_answered_when_enabled(tmp_path: Path, built_index: Path) -> None:
    async with running_bot(tmp_path, built_index, answer_dms=True) as env:
        dm = env.server.dm_message_payload(DEORBIT)
        await env.server.dispatch_message(dm)
        reply = await env.server.wait_for_message(channel_id=int(dm["channel_id"]), timeout=10)
        assert reply["content"].startswith("**Answer:**")


def test_chat_exits_cleanly_on_ctrl_c(tmp_path: Path, built_index: Path) -> None:
    """On a terminal, Ctrl-C at the prompt ends the session with exit code 0 (no traceback)."""
    import pty
    import select

    db = tmp_path / "index.sqlite3"
    db.write_bytes(built_index.read_bytes())
    pid, fd = pty.fork()
    if pid == 0:  # the child: become `citebot chat` on the pty
        os.chdir(tmp_path)
        os.execv(str(CITEBOT), [str(CITEBOT), "chat", "--db", str(db)])
    output = b""
    done = (0, 0)

    def read_until(marker: bytes, seconds: float) -> None:
        nonlocal output
        deadline = time.monotonic() + seconds
        while marker not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    return

    try:
        read_until(b"? ", 30)
        os.write(fd, f"{DEORBIT}\n".encode())
        read_until(b"Sources:", 30)
        os.write(fd, b"\x03")
        deadline = time.monotonic() + 10
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            read_until(b"\0", 0.05)
        assert done[0] == pid, "citebot chat did not exit on Ctrl-C"
        assert os.waitstatus_to_exitcode(done[1]) == 0
        assert b"Answer: " in output and b"Traceback" not in output
    finally:
        if done[0] != pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
