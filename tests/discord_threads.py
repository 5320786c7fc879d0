"""Threads and forum channels for the loopback Discord server (tests/discord_server.py).

Kept apart from the server's 2,700 lines; the server registers `thread_routes` with its own.
What Discord does, and discord.py 2.x relies on:

* ``POST /channels/{channel_id}/messages/{message_id}/threads`` starts a public thread (type
  11) on a message of a text channel; the thread's id is the message's id, a second thread on
  the same message is **400** ``160004``. The bot needs ``CREATE_PUBLIC_THREADS`` (1 << 35,
  not in ``PermissionBits.BOT_DEFAULT``): without it **403** ``50013 Missing Permissions``.
* ``POST /channels/{channel_id}/threads`` on a forum channel (type 15) creates a post: a thread
  and its starter message (same id), from ``{"name", "message": {...}}`` (needs
  ``SEND_MESSAGES``); on a text channel, a thread without a message (needs
  ``CREATE_PUBLIC_THREADS``).
* Either way the server dispatches ``THREAD_CREATE`` (``newly_created: true``), which is how
  discord.py learns the thread (``guild.get_thread``) before messages arrive in it; a forum
  post's starter message then arrives as ``MESSAGE_CREATE`` with ``channel_id`` = the thread.
* A user's forum post is made with `forum_post` (THREAD_CREATE, then MESSAGE_CREATE, as
  Discord sends them); messages in a thread with ``server.message_payload(..., channel_id=thread)``.
* Forum channels are made with `add_forum_channel` before the bot connects, so they are in
  GUILD_CREATE.

``server.threads`` (created here on first use) lists every thread created, in order.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:
    from discord_server import DiscordTestServer, _ApiRequest

JSON = Dict[str, Any]

CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES = 1 << 11
CHANNEL_TEXT, CHANNEL_PUBLIC_THREAD, CHANNEL_FORUM = 0, 11, 15
MAX_THREAD_NAME = 100
_MSG_THREAD_STARTER = 0  # a forum post's first message is an ordinary message in its thread


def _api_error(status: int, code: int, message: str, errors: Optional[JSON] = None) -> Exception:
    from discord_server import _ApiError

    return _ApiError(status, code, message, errors)


def threads_of(server: "DiscordTestServer") -> List[JSON]:
    """Every thread created on the server, in order."""
    if not hasattr(server, "threads"):
        server.threads = []  # type: ignore[attr-defined]
    return server.threads  # type: ignore[attr-defined,no-any-return]


def add_forum_channel(server: "DiscordTestServer", guild_id: int, name: str = "questions") -> JSON:
    """A forum channel in the guild (before IDENTIFY, to have it in GUILD_CREATE)."""
    channel = server.add_text_channel(guild_id, name)
    channel.update({"type": CHANNEL_FORUM, "available_tags": [], "default_reaction_emoji": None,
                    "default_sort_order": None, "default_forum_layout": 0, "default_thread_rate_limit_per_user": 0})
    return channel


def _thread_payload(server: "DiscordTestServer", thread_id: int, parent: JSON, name: str, owner_id: int) -> JSON:
    from discord_server import _iso_now

    return {
        "id": str(thread_id),
        "type": CHANNEL_PUBLIC_THREAD,
        "guild_id": parent["guild_id"],
        "parent_id": parent["id"],
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": None,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "rate_limit_per_user": 0,
        "flags": 0,
        "applied_tags": [],
        "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "archive_timestamp": _iso_now(),
                            "locked": False},
    }


def _check_name(body: JSON) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_THREAD_NAME:
        raise _api_error(400, 50035, "Invalid Form Body",
                         {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH",
                                                "message": f"Must be between 1 and {MAX_THREAD_NAME} in length."}]}})
    return name


def _require(server: "DiscordTestServer", channel: JSON, bit: int) -> None:
    if not server.permissions_for(int(channel["guild_id"]), server.bot_user_id) & bit:
        raise _api_error(403, 50013, "Missing Permissions")


async def _open_thread(server: "DiscordTestServer", thread: JSON) -> None:
    server.channels[int(thread["id"])] = thread
    threads_of(server).append(thread)
    if server._session is not None:
        await server.dispatch("THREAD_CREATE", {**copy.deepcopy(thread), "newly_created": True})


async def forum_post(server: "DiscordTestServer", forum_id: int, title: str, content: str,
                     author: Any = None) -> Tuple[JSON, JSON]:
    """A user's new forum post, as Discord sends it: THREAD_CREATE, then the starter message's
    MESSAGE_CREATE (its id is the thread's). Returns (thread, starter message payload)."""
    forum = server.channels[int(forum_id)]
    author = author if author is not None else server.default_user
    thread_id = server._snowflake()
    thread = _thread_payload(server, thread_id, forum, title, int(author["id"]))
    await _open_thread(server, thread)
    message = server.message_payload(content, author=author, channel_id=thread_id, message_id=thread_id)
    await server.dispatch_message(message)
    return thread, message


async def _r_thread_from_message(server: "DiscordTestServer", req: "_ApiRequest") -> Tuple[int, Any]:
    cid, mid = req.int_param("channel_id"), req.int_param("message_id")
    channel = server._channel_or_404(cid)
    server._message_or_404(cid, mid)
    if channel.get("type") != CHANNEL_TEXT:
        raise _api_error(400, 50024, "Cannot execute action on this channel type")
    body = req.json if isinstance(req.json, dict) else {}
    name = _check_name(body)
    _require(server, channel, CREATE_PUBLIC_THREADS)
    if mid in server.channels:
        raise _api_error(400, 160004, "A thread has already been created for this message")
    thread = _thread_payload(server, mid, channel, name, server.bot_user_id)
    await _open_thread(server, thread)
    return 201, copy.deepcopy(thread)


async def _r_thread_in_channel(server: "DiscordTestServer", req: "_ApiRequest") -> Tuple[int, Any]:
    cid = req.int_param("channel_id")
    channel = server._channel_or_404(cid)
    body = req.json if isinstance(req.json, dict) else {}
    name = _check_name(body)
    if channel.get("type") == CHANNEL_FORUM:
        _require(server, channel, SEND_MESSAGES)
        first = body.get("message")
        if not isinstance(first, dict) or not (first.get("content") or first.get("embeds") or req.files):
            raise _api_error(400, 50006, "Cannot send an empty message")
        thread_id = server._snowflake()
        thread = _thread_payload(server, thread_id, channel, name, server.bot_user_id)
        await _open_thread(server, thread)
        message = server._new_bot_message(thread_id, first, req.files, message_type=_MSG_THREAD_STARTER)
        server.messages.pop(int(message["id"]))
        message["id"] = str(thread_id)
        server.messages[thread_id] = message
        await server._publish_bot_message(message)
        return 201, {**copy.deepcopy(thread), "message": server._public_message(message)}
    if channel.get("type") != CHANNEL_TEXT:
        raise _api_error(400, 50024, "Cannot execute action on this channel type")
    _require(server, channel, CREATE_PUBLIC_THREADS)
    thread = _thread_payload(server, server._snowflake(), channel, name, server.bot_user_id)
    await _open_thread(server, thread)
    return 201, copy.deepcopy(thread)


def thread_routes(server: "DiscordTestServer") -> List[Tuple[str, str, Any, bool]]:
    """(method, template, handler, needs bot auth) rows for the server's route table."""

    def bound(handler: Any) -> Any:
        async def handle(req: "_ApiRequest") -> Tuple[int, Any]:
            return await handler(server, req)

        return handle

    return [
        ("POST", "/channels/{channel_id}/messages/{message_id}/threads", bound(_r_thread_from_message), True),
        ("POST", "/channels/{channel_id}/threads", bound(_r_thread_in_channel), True),
    ]
