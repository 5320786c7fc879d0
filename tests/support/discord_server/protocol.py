"""Discord protocol constants and the small utilities every part of the server shares.

Values are Discord's (API v10 docs); kept in one module so the gateway, the REST routes and
the payload builders cannot disagree about a bit or a type number.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from collections.abc import Mapping
from typing import Any, TypeVar

JSON = dict[str, Any]
T = TypeVar("T")

API_VERSION = 10
API_PREFIX = f"/api/v{API_VERSION}"
DISCORD_EPOCH_MS = 1420070400000
SNOWFLAKE_MAX = 2**63 - 1
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
TRACE = ["citebot-test-gateway"]


class _Auto:
    """Sentinel type for "work it out from server state" arguments."""

    def __repr__(self) -> str:
        return "AUTO"


AUTO: Any = _Auto()


class IntentBits:
    """Gateway intent bits the server understands (values from Discord's docs)."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    MESSAGE_CONTENT = 1 << 15


class PermissionBits:
    """Permission bits used to build realistic roles and interaction permission strings."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_GUILD = 1 << 5
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 53) - 1

    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | CONNECT
        | SPEAK
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | SEND_MESSAGES_IN_THREADS
    )
    BOT_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS
        | SEND_MESSAGES_IN_THREADS
    )


# Message flags / types (Discord docs).
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
SETTABLE_MESSAGE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2

MSG_DEFAULT = 0
MSG_REPLY = 19
MSG_CHAT_INPUT_COMMAND = 20

# Interaction types (Discord docs).
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5

# Application command option types (Discord docs).
OPT_SUB_COMMAND = 1
OPT_SUB_COMMAND_GROUP = 2
OPT_STRING = 3
OPT_INTEGER = 4
OPT_BOOLEAN = 5
OPT_USER = 6
OPT_CHANNEL = 7
OPT_ROLE = 8
OPT_MENTIONABLE = 9
OPT_NUMBER = 10

COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$", re.UNICODE)


def dumps(obj: Any) -> str:
    """Serialise compactly, like Discord does; one place to change encoding rules."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def iso_now() -> str:
    """ISO-8601 timestamp with explicit UTC offset, the format discord.py's parse_time expects."""
    return _dt.datetime.now(_dt.UTC).isoformat()


def as_id(value: Any) -> int:
    """Accept an int, a numeric str, or a payload dict with ``id`` -- tests pass all three."""
    if isinstance(value, Mapping):
        return int(value["id"])
    return int(value)


class SnowflakeFactory:
    """Generates strictly increasing, time-based snowflakes.

    Real-looking ids matter: discord.py derives ``created_at`` from them and sorts by them.
    """

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = now_ms << 22
        self._last = max(candidate, self._last + 1)
        return self._last


class ApiError(Exception):
    """Raised by route handlers to produce a Discord-style JSON error response."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: JSON = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def form_error(field: str, code: str, message: str | None = None) -> ApiError:
    """400 ``50035 Invalid Form Body`` with one error under ``field``, as Discord words it."""
    error: JSON = {"code": code}
    if message is not None:
        error["message"] = message
    return ApiError(400, 50035, "Invalid Form Body", {field: {"_errors": [error]}})
