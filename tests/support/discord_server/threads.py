"""Threads and forum channels for the loopback Discord server.

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

``server.threads`` lists every thread created, in order.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .bot_messages import BotMessages
from .gateway import Gateway
from .payloads import public_message
from .protocol import JSON, ApiError, form_error, iso_now
from .rest import ApiRequest, Route
from .state import ServerState

if TYPE_CHECKING:
    from .server import DiscordTestServer

CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES = 1 << 11
CHANNEL_TEXT, CHANNEL_PUBLIC_THREAD, CHANNEL_FORUM = 0, 11, 15
MAX_THREAD_NAME = 100
_MSG_THREAD_STARTER = 0  # a forum post's first message is an ordinary message in its thread


def threads_of(server: DiscordTestServer) -> list[JSON]:
    """Every thread created on the server, in order."""
    return server.state.threads


def add_forum_channel(server: DiscordTestServer, guild_id: int, name: str = "questions") -> JSON:
    """A forum channel in the guild (before IDENTIFY, to have it in GUILD_CREATE)."""
    channel = server.add_text_channel(guild_id, name)
    channel.update(
        {
            "type": CHANNEL_FORUM,
            "available_tags": [],
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
            "default_thread_rate_limit_per_user": 0,
        }
    )
    return channel


async def forum_post(
    server: DiscordTestServer, forum_id: int, title: str, content: str, author: Any = None
) -> tuple[JSON, JSON]:
    """A user's new forum post, as Discord sends it: THREAD_CREATE, then the starter message's
    MESSAGE_CREATE (its id is the thread's). Returns (thread, starter message payload)."""
    state = server.state
    forum = state.channels[int(forum_id)]
    author = author if author is not None else state.default_user
    thread_id = state.snowflake()
    thread = thread_payload(thread_id, forum, title, int(author["id"]))
    await open_thread(state, server.gateway, thread)
    message = server.message_payload(content, author=author, channel_id=thread_id, message_id=thread_id)
    await server.dispatch_message(message)
    return thread, message


def thread_payload(thread_id: int, parent: JSON, name: str, owner_id: int) -> JSON:
    """A new public thread under ``parent`` (a text or forum channel)."""
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
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": iso_now(),
            "locked": False,
        },
    }


async def open_thread(state: ServerState, gateway: Gateway, thread: JSON) -> None:
    """Store the thread as a channel and tell the bot (THREAD_CREATE, ``newly_created``)."""
    state.channels[int(thread["id"])] = thread
    state.threads.append(thread)
    if gateway.session is not None:
        await gateway.dispatch("THREAD_CREATE", {**copy.deepcopy(thread), "newly_created": True})


def _check_name(body: JSON) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_THREAD_NAME:
        raise form_error("name", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_THREAD_NAME} in length.")
    return name


class ThreadRoutes:
    """Starting threads on messages and in channels; forum posts."""

    def __init__(self, state: ServerState, messages: BotMessages, gateway: Gateway) -> None:
        self.state = state
        self.messages = messages
        self.gateway = gateway

    def routes(self) -> list[Route]:
        return [
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.thread_from_message, True),
            ("POST", "/channels/{channel_id}/threads", self.thread_in_channel, True),
        ]

    def _require(self, channel: JSON, bit: int) -> None:
        if not self.state.permissions_for(int(channel["guild_id"]), self.state.bot_user_id) & bit:
            raise ApiError(403, 50013, "Missing Permissions")

    async def _open_bot_thread(self, thread_id: int, parent: JSON, name: str) -> JSON:
        thread = thread_payload(thread_id, parent, name, self.state.bot_user_id)
        await open_thread(self.state, self.gateway, thread)
        return thread

    async def thread_from_message(self, req: ApiRequest) -> tuple[int, Any]:
        cid, mid = req.int_param("channel_id"), req.int_param("message_id")
        channel = self.state.channel_or_404(cid)
        self.state.message_or_404(cid, mid)
        if channel.get("type") != CHANNEL_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        name = _check_name(req.body)
        self._require(channel, CREATE_PUBLIC_THREADS)
        if mid in self.state.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        thread = await self._open_bot_thread(mid, channel, name)
        return 201, copy.deepcopy(thread)

    async def thread_in_channel(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self.state.channel_or_404(req.int_param("channel_id"))
        body = req.body
        name = _check_name(body)
        if channel.get("type") == CHANNEL_FORUM:
            return await self._forum_post(channel, name, body, req)
        if channel.get("type") != CHANNEL_TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._require(channel, CREATE_PUBLIC_THREADS)
        thread = await self._open_bot_thread(self.state.snowflake(), channel, name)
        return 201, copy.deepcopy(thread)

    async def _forum_post(self, forum: JSON, name: str, body: JSON, req: ApiRequest) -> tuple[int, Any]:
        """The bot's forum post: the thread, then its starter message under the thread's id."""
        self._require(forum, SEND_MESSAGES)
        first = body.get("message")
        if not isinstance(first, dict) or not (first.get("content") or first.get("embeds") or req.files):
            raise ApiError(400, 50006, "Cannot send an empty message")
        thread_id = self.state.snowflake()
        thread = await self._open_bot_thread(thread_id, forum, name)
        message = self.messages.new(thread_id, first, req.files, message_type=_MSG_THREAD_STARTER)
        self.state.messages.pop(int(message["id"]))
        message["id"] = str(thread_id)
        self.state.messages[thread_id] = message
        await self.messages.publish(message)
        return 201, {**copy.deepcopy(thread), "message": public_message(message)}
