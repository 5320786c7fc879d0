"""Threads, forum posts, follow-ups and private answers, end to end: the real discord.py
client against the loopback server (tests/support/discord_server/, threads in tests/support/discord_server/threads.py).

The follow-up pair is the one of tests/index/answering/test_followup.py: "and who builds it?" after
"Which rocket used the RD-181 engines?" must find the paragraph that names Northrop Grumman,
which the follow-up alone does not.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.support.bot_chat import ask_by_mention, assert_safe, nothing_sent, pings_nobody, slash
from tests.support.discord_server import (
    CREATE_PUBLIC_THREADS,
    GuildSpec,
    PermissionBits,
    add_forum_channel,
    forum_post,
    threads_of,
)
from tests.support.helpers import BotEnv, running_bot

RD181 = "Which rocket used the RD-181 engines?"
FOLLOW_UP = "and who builds it?"
FROM_MESSAGE = "/channels/{channel_id}/messages/{message_id}/threads"
THREAD_GUILD = [GuildSpec(bot_permissions=PermissionBits.BOT_DEFAULT | CREATE_PUBLIC_THREADS)]
_EPHEMERAL = 1 << 6


async def ask_anywhere(env: BotEnv, text: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mention the bot with a question; the bot's next message, wherever it went."""
    incoming = env.server.bot_mention_payload(text, **kwargs)
    await env.server.dispatch_message(incoming)
    return incoming, await env.server.wait_for_message(timeout=10)


def first_passage(reply: dict[str, Any]) -> str:
    """The text of passage [1] in an answer's embed."""
    description = reply["embeds"][0]["description"]
    return description.split("**[2]**", 1)[0]


async def test_a_question_is_answered_in_a_new_thread_and_a_follow_up_there_with_context(
    tmp_path: Path, built_index: Path
) -> None:
    async with running_bot(tmp_path, built_index, guilds=THREAD_GUILD, reply_in_thread=True) as env:
        server = env.server
        long_question = RD181 + " I have been reading about " + "the old Russian engines and the US rockets " * 3
        incoming, reply = await ask_anywhere(env, RD181)
        [thread] = threads_of(server)
        assert thread["id"] == incoming["id"] and thread["name"] == RD181
        assert thread["parent_id"] == incoming["channel_id"]
        assert any(event == "THREAD_CREATE" for _, event, _ in server.dispatched)
        assert reply["channel_id"] == thread["id"] and reply["content"].startswith("**Answer:**")
        assert "Antares" in reply["content"]
        assert_safe(reply)

        # A follow-up in the thread, no mention: answered there, with the question as context.
        follow = server.message_payload(FOLLOW_UP, channel_id=int(thread["id"]))
        await server.dispatch_message(follow)
        answer = await server.wait_for_message(channel_id=int(thread["id"]), timeout=10)
        assert answer["message_reference"]["message_id"] == follow["id"]
        assert "Northrop Grumman" in first_passage(answer)
        assert_safe(answer)
        # Chatter in the thread is not a question.
        await server.dispatch_message(server.message_payload("thanks!", channel_id=int(thread["id"])))
        assert await nothing_sent(env)

        # A long question's thread name is cut to Discord's 100 characters, at a word.
        carol = server.make_user("carol")
        await ask_anywhere(env, long_question, author=carol)
        name = threads_of(server)[-1]["name"]
        assert len(name) <= 100 and name.endswith("…") and long_question.startswith(name[:-1])


async def test_the_same_follow_up_outside_a_conversation_is_asked_alone(env: BotEnv) -> None:
    _, reply = await ask_by_mention(env, FOLLOW_UP)
    assert "Northrop Grumman" not in reply.get("content", "") and not threads_of(env.server)


async def test_a_reply_to_an_answer_is_a_follow_up(env: BotEnv) -> None:
    server = env.server
    _, answer = await ask_by_mention(env, RD181)
    # A Discord reply to the bot's answer, without mentioning it, in a channel that is no answer channel.
    follow = server.message_payload(FOLLOW_UP, message_reference=answer)
    await server.dispatch_message(follow)
    reply = await server.wait_for_message(channel_id=server.channel_id, timeout=10)
    assert reply["message_reference"]["message_id"] == follow["id"]
    assert "Northrop Grumman" in first_passage(reply)
    assert_safe(reply)
    # A reply to someone else's message is no follow-up.
    other = server.message_payload("nice one", channel_id=server.channel_id)
    await server.dispatch_message(server.message_payload(FOLLOW_UP, message_reference=other))
    assert await nothing_sent(env)


async def test_a_forum_post_is_answered_in_its_thread_from_title_and_message(tmp_path: Path, built_index: Path) -> None:
    def forum(server: Any) -> dict[str, Any]:
        channel = add_forum_channel(server, server.guild_id, "ask-citebot")
        return {"answer_forums": (int(channel["id"]),)}

    async with running_bot(tmp_path, built_index, prepare=forum) as env:
        server = env.server
        forum_id = env.settings.discord.answer_forums[0]
        # The title asks; the first message only says more (it is no question on its own).
        thread, starter = await forum_post(server, forum_id, "RD-181 engines", RD181.replace("Which", "which"))
        reply = await server.wait_for_message(channel_id=int(thread["id"]), timeout=10)
        assert reply["message_reference"]["message_id"] == starter["id"]
        assert reply["content"].startswith("**Answer:**") and "Antares" in reply["content"]
        assert reply["embeds"][0]["title"].startswith("Q: RD-181 engines")
        follow = server.message_payload(FOLLOW_UP, channel_id=int(thread["id"]))
        await server.dispatch_message(follow)
        answer = await server.wait_for_message(channel_id=int(thread["id"]), timeout=10)
        assert "Northrop Grumman" in first_passage(answer)
        assert not server.requests_to("POST", FROM_MESSAGE)  # a forum post is its own thread


async def test_without_thread_permission_the_answer_goes_to_the_channel_and_it_is_logged_once(
    tmp_path: Path, built_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(tmp_path, built_index, reply_in_thread=True) as env:  # BOT_DEFAULT: no threads
        server = env.server
        for _ in range(2):
            incoming, reply = await ask_anywhere(env, RD181)
            assert reply["channel_id"] == incoming["channel_id"]
            assert reply["message_reference"]["message_id"] == incoming["id"]
            assert reply["content"].startswith("**Answer:**")
        assert not threads_of(server)
    warnings = [r.getMessage() for r in caplog.records if "instead of a thread" in r.getMessage()]
    assert len(warnings) == 1 and "Create Public Threads" in warnings[0]


async def test_a_refused_thread_falls_back_to_the_channel(
    tmp_path: Path, built_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_bot(tmp_path, built_index, guilds=THREAD_GUILD, reply_in_thread=True) as env:
        env.server.fail_next("POST", FROM_MESSAGE, status=403, body={"message": "Missing Permissions", "code": 50013})
        incoming, reply = await ask_anywhere(env, RD181)
        assert reply["channel_id"] == incoming["channel_id"] and reply["content"].startswith("**Answer:**")
        [refused] = env.server.requests_to("POST", FROM_MESSAGE)
        assert refused.status == 403
    assert any("Discord refused to start a thread (403" in r.getMessage() for r in caplog.records)


async def test_private_ask_is_ephemeral(env: BotEnv) -> None:
    server = env.server
    payload = await slash(env, "ask", {"question": "When will the ISS be deorbited?", "private": True})
    deferred = await server.wait_for_interaction_response(payload["id"])
    assert deferred.type == 5 and (deferred.data or {}).get("flags", 0) & _EPHEMERAL
    reply = await server.wait_for_message(interaction_id=int(payload["id"]), timeout=10)
    assert reply["flags"] & _EPHEMERAL and reply["content"].startswith("**Answer:**")
    assert not any(event == "MESSAGE_CREATE" and data.get("id") == reply["id"] for _, event, data in server.dispatched)
    assert_safe(reply)
    follow = await server.wait_for_request(method="POST", route="/webhooks/{application_id}/{token}")
    assert pings_nobody(follow.json)
    # Without `private` the answer is public.
    payload = await slash(env, "ask", {"question": "When will the ISS be deorbited?"})
    reply = await server.wait_for_message(interaction_id=int(payload["id"]), timeout=10)
    assert not reply["flags"] & _EPHEMERAL
