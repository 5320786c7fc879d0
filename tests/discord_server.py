"""A fake Discord (REST + gateway) server for tests, driven by the *real* discord.py client.

Why this exists
===============
Mocking discord.py objects tests our assumptions about discord.py, not the bot.  This
module instead speaks enough of Discord's wire protocol (API v10, JSON gateway) that an
unmodified ``discord.Client`` / ``commands.Bot`` logs in, connects, receives events and
sends REST requests exactly as it would in production.  Tests then assert on what the bot
actually put on the wire (``server.sent_messages``, ``server.requests`` ...).

Quick start
===========
::

    async with DiscordTestServer(heartbeat_interval_ms=250) as server:
        with server.patch_discord():              # Route.BASE + DEFAULT_GATEWAY -> us
            async with running_client(MyBot(), server.token):
                await server.dispatch_message(server.message_payload("hello", mention_bot=True))
                reply = await server.wait_for_message(channel_id=server.channel_id)
                assert "hello" in reply["content"]

Pointing discord.py at the server (what the product does, too)::

    discord.http.Route.BASE = server.base_url                    # "http://127.0.0.1:<port>/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)

``DEFAULT_GATEWAY`` must be a ``yarl.URL`` (discord.py calls ``.with_query()`` on it), not
a ``str``.  A non-sharded ``Client.start(token)`` does ``GET /users/@me`` (login), then
``GET /oauth2/applications/@me`` (``application_info()``, to learn the application id),
runs ``setup_hook`` and connects straight to ``DEFAULT_GATEWAY`` -- it never asks
``/gateway/bot``.  It appends ``?v=10&encoding=json&compress=zlib-stream`` (or
``zstd-stream`` when the ``zstandard`` package is installed).  The server honours
``zlib-stream`` (one shared ``zlib.compressobj`` per connection, each frame flushed with
``Z_SYNC_FLUSH`` so it ends in ``00 00 ff ff``) and falls back to plain text frames for
``zstd-stream`` (discord.py accepts text frames whatever it asked for).

Things discord.py 2.7 needs that are easy to get wrong (all handled here)
=======================================================================
* JSON responses must carry ``Content-Type: application/json`` *exactly* (discord.py does
  a string equality check; aiohttp's default ``application/json; charset=utf-8`` makes it
  treat the body as text).
* A 429 is only retried if the response has a ``Via`` header; otherwise discord.py assumes
  a Cloudflare ban and raises ``HTTPException``.  Retries sleep ``retry_after`` from the
  JSON body.  500/502/504/524 are retried after 1 s, 3 s, 5 s ...; 503 is not retried.
* ``on_ready`` fires ``guild_ready_timeout`` seconds (default **2.0**) after the last
  ``GUILD_CREATE``.  Pass ``guild_ready_timeout=0.05`` (a ``discord.Client`` kwarg) in
  tests to keep them fast.
* After an ``INVALID_SESSION`` (op 9) the client re-IDENTIFYs, but
  ``Client.before_identify_hook`` first sleeps **5 s** for every non-initial IDENTIFY.
  Override it (``async def before_identify_hook(self, shard_id, *, initial=False): pass``)
  in test clients.  RESUME (after ``drop_connection``/op 7) has no such delay.
* ``INTERACTION_CREATE`` must contain ``attachment_size_limit``, ``version``, ``token``,
  ``application_id``; guild interactions need ``member`` (with ``permissions``, ``roles``,
  ``flags``), DM ones ``user``.
* Interaction callbacks are sent with ``?with_response=1`` and discord.py parses the reply
  (``{"interaction": {...}, "resource": {"type": .., "message": {...}}}``); the
  ``response_message_id`` is what a ``View`` sent with ``response.send_message`` gets
  registered under, so a later button click must carry that message.
* Interaction callbacks and webhook (follow-up) requests carry **no** ``Authorization``
  header; only the interaction token authenticates them.
* Gateway parsers are not exception-guarded in discord.py: a ``MESSAGE_CREATE`` missing a
  required key (``id``, ``channel_id``, ``type``, ``content``) raises ``KeyError`` out of
  ``Client.connect()`` and ``Client.start()`` returns with that error, i.e. the bot dies.
  Missing *optional* keys (``author``, ``member``, ``mentions`` ...), unknown event names
  and unknown opcodes are survived.  ``send_raw`` / ``dispatch`` let tests inject both.

How a ``CommandTree`` accepts an injected slash command
=======================================================
``CommandTree._call`` looks commands up **by name**, never by ``data["id"]``; syncing is
not required for dispatch.  Which table it searches depends on ``data["guild_id"]``: if the
interaction data carries ``guild_id`` the guild-specific commands registered for that
guild are searched (falling back to global ones only with ``fallback_to_global=True``,
the default); without it only *global* commands are searched.  So a command added with
``guild=...`` / ``tree.copy_global_to(guild=...)`` needs ``data.guild_id`` and a global one
must not rely on it.  ``slash_command_payload`` fills this in automatically from what the
bot synced (``PUT .../guilds/{gid}/commands`` -> guild command, ``PUT .../commands`` ->
global); pass ``command_guild_id=`` to force it when the bot never synced.

Recording semantics
===================
* ``server.requests`` -- every HTTP request (including 401/404/429 ones), in order.
* ``server.sent_messages`` -- every message the bot made visible: channel messages,
  interaction responses (type 4), follow-ups, completed deferred responses.
* ``wait_for_message`` *consumes*: each call returns the oldest matching sent message that
  no earlier ``wait_for_message`` call returned.  ``wait_for_request`` does not consume;
  pass ``after=server.request_count`` to only look at requests made from now on.
* Real Discord echoes the bot's own messages back as ``MESSAGE_CREATE``; so does this
  server (``echo_bot_messages=True``), which catches reply loops.  Bots must ignore their
  own messages, as in production.
* With ``enforce_intents=True`` events are filtered like Discord does: no guild
  ``MESSAGE_CREATE`` without ``GUILD_MESSAGES``, empty ``content``/``embeds``/
  ``attachments``/``components`` without ``MESSAGE_CONTENT`` unless the bot is mentioned,
  the message is a DM or the bot wrote it.

Command sync failures (as Discord answers them)
===============================================
* A guild whose ``GuildSpec(commands_scope=False)`` was joined without the
  ``applications.commands`` scope: its ``/applications/{id}/guilds/{gid}/commands`` routes
  answer **403** ``50001 Missing Access`` (``discord.Forbidden``).
* A guild id the server does not know: **404** ``10004 Unknown Guild`` (``discord.NotFound``).
* A guild id that is no snowflake (above 2**63 - 1, e.g. two ids pasted together): **400**
  ``50035 Invalid Form Body`` with the error under ``guild_id``; ``CommandTree.sync`` raises
  it as ``CommandSyncFailure``.
* Anything else: ``fail_next("PUT", "/applications/{application_id}/guilds/{guild_id}/commands",
  status=..., body=...)``.

Modals and autocomplete
=======================
``tests/discord_forms.py`` builds the ``APPLICATION_COMMAND_AUTOCOMPLETE`` (type 4) and
``MODAL_SUBMIT`` (type 5) interactions, and the server checks autocomplete results (type 8)
and modals (type 9) as Discord does (400 ``50035`` with the fields at fault).

Slow requests
=============
``hold = server.hold_next(method, route)`` makes the next matching request wait, recorded on
arrival (``await hold.arrived.wait()``), until ``hold.release()``: a slow Discord, under the
test's control, e.g. to have an answer in flight while the bot is being stopped.

Only one bot session at a time is modelled (the most recently identified one receives
dispatches).  Everything runs in the test's event loop; no threads besides discord.py's
own heartbeat thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as _dt
import hashlib
import json
import re
import secrets
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from aiohttp import WSMsgType, web

try:  # modals and autocomplete live in a module of their own (tests/discord_forms.py)
    from discord_forms import interaction_response_problem
except ImportError:  # pragma: no cover - when tests/ becomes a package
    from .discord_forms import interaction_response_problem  # type: ignore[no-redef]

__all__ = [
    "API_VERSION",
    "AUTO",
    "DiscordTestServer",
    "GatewayFrame",
    "GuildSpec",
    "HeartbeatRecord",
    "InteractionResponseRecord",
    "IntentBits",
    "PermissionBits",
    "RecordedFile",
    "RecordedRequest",
    "RequestHold",
    "discord_test_environment",
    "running_client",
]

JSON = Dict[str, Any]
T = TypeVar("T")

API_VERSION = 10
DISCORD_EPOCH_MS = 1420070400000
SNOWFLAKE_MAX = 2**63 - 1
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


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


# Message flags / types used below (Discord docs).
_FLAG_SUPPRESS_EMBEDS = 1 << 2
_FLAG_EPHEMERAL = 1 << 6
_FLAG_LOADING = 1 << 7
_FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
_FLAG_COMPONENTS_V2 = 1 << 15
_SETTABLE_MESSAGE_FLAGS = _FLAG_SUPPRESS_EMBEDS | _FLAG_EPHEMERAL | _FLAG_SUPPRESS_NOTIFICATIONS | _FLAG_COMPONENTS_V2

_MSG_DEFAULT = 0
_MSG_REPLY = 19
_MSG_CHAT_INPUT_COMMAND = 20

_INTERACTION_PING = 1
_INTERACTION_APPLICATION_COMMAND = 2
_INTERACTION_COMPONENT = 3
_INTERACTION_AUTOCOMPLETE = 4
_INTERACTION_MODAL_SUBMIT = 5

# Application command option types (Discord docs).
_OPT_SUB_COMMAND = 1
_OPT_SUB_COMMAND_GROUP = 2
_OPT_STRING = 3
_OPT_INTEGER = 4
_OPT_BOOLEAN = 5
_OPT_USER = 6
_OPT_CHANNEL = 7
_OPT_ROLE = 8
_OPT_MENTIONABLE = 9
_OPT_NUMBER = 10

_COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$", re.UNICODE)


# --------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------


def _dumps(obj: Any) -> str:
    """Serialise compactly, like Discord does; one place to change encoding rules."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _iso_now() -> str:
    """ISO-8601 timestamp with explicit UTC offset, the format discord.py's parse_time expects."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


class _SnowflakeFactory:
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


def _as_id(value: Any) -> int:
    """Accept an int, a numeric str, or a payload dict with ``id`` -- tests pass all three."""
    if isinstance(value, Mapping):
        return int(value["id"])
    return int(value)


# --------------------------------------------------------------------------------------
# Public record types
# --------------------------------------------------------------------------------------


@dataclass
class RecordedFile:
    """One uploaded file from a multipart request (``files[n]`` form field)."""

    field: str
    filename: str
    content_type: Optional[str]
    data: bytes

    @property
    def text(self) -> str:
        """The content decoded as UTF-8 (tests mostly upload text)."""
        return self.data.decode("utf-8", errors="replace")


@dataclass
class RecordedRequest:
    """One HTTP request as the server saw it, plus what it answered.

    ``path`` is relative to ``/api/v10`` for API routes (e.g. ``/channels/1/messages``);
    ``route`` is the matched template (``/channels/{channel_id}/messages``) or ``None`` if
    the route is unknown.  ``json`` is the JSON body, or the parsed ``payload_json`` field
    of a multipart body.  ``headers`` never contains ``Authorization``.
    """

    method: str
    path: str
    url_path: str
    route: Optional[str]
    params: Dict[str, str]
    query: Dict[str, str]
    json: Any
    files: List[RecordedFile]
    form: Dict[str, str]
    headers: Dict[str, str]
    authorized: bool
    time: float
    wall_time: float
    status: int = 0
    response: Any = None
    fault: Optional[str] = None

    @property
    def route_key(self) -> str:
        """``"METHOD /template"`` -- handy in assertions and error messages."""
        return f"{self.method} {self.route or self.path}"


@dataclass
class RequestHold:
    """Requests held by ``DiscordTestServer.hold_next`` until ``release()``.

    ``arrived`` is set when the first held request comes in; ``requests`` lists them all.
    """

    method: str
    route: str
    remaining: int
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    requests: List[RecordedRequest] = field(default_factory=list)

    def release(self) -> None:
        """Let every held request (and any later match) through."""
        self.released.set()


@dataclass
class HeartbeatRecord:
    """A heartbeat (op 1) received from the client; ``seq`` is the client's last sequence."""

    time: float
    seq: Optional[int]
    session_id: Optional[str]
    acked: bool


@dataclass
class GatewayFrame:
    """Any payload the client sent over the gateway websocket."""

    time: float
    op: Optional[int]
    d: Any
    session_id: Optional[str]


@dataclass
class InteractionResponseRecord:
    """One ``POST /interactions/{id}/{token}/callback`` accepted by the server.

    ``message`` is the message created (type 4/5) or updated (type 7), if any.
    """

    interaction_id: int
    interaction_type: int
    token: str
    type: int
    data: Optional[JSON]
    files: List[RecordedFile]
    message: Optional[JSON]
    request: RecordedRequest


@dataclass
class GuildSpec:
    """Declarative description of a guild the bot is in.

    Channels are created as text channels in order; the first one is the guild's default
    channel.  Ids are assigned by the server unless given.
    """

    name: str = "Test Guild"
    channels: Sequence[str] = ("general", "random")
    id: Optional[int] = None
    bot_permissions: int = PermissionBits.BOT_DEFAULT
    everyone_permissions: int = PermissionBits.EVERYONE_DEFAULT
    commands_scope: bool = True  # False: invited without `applications.commands` (command routes 403)


# --------------------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------------------


@dataclass
class _Guild:
    id: int
    name: str
    owner_id: int
    roles: List[JSON]
    channel_ids: List[int]
    members: Dict[int, JSON]  # user id -> member payload *without* "user"
    joined_at: str
    admin_role_id: int
    bot_role_id: int
    commands_scope: bool = True


@dataclass
class _Fault:
    method: str
    route: str
    status: int
    remaining: int
    retry_after: float
    is_global: bool
    body: Optional[JSON]


@dataclass
class _Interaction:
    payload: JSON
    responded_type: Optional[int] = None
    original_message_id: Optional[int] = None
    original_loading: bool = False
    followup_ids: List[int] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def type(self) -> int:
        return int(self.payload["type"])


class _ApiError(Exception):
    """Raised by route handlers to produce a Discord-style JSON error response."""

    def __init__(self, status: int, code: int, message: str, errors: Optional[JSON] = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: JSON = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


class _GatewayConnection:
    """One websocket connection; owns the per-connection zlib stream.

    Sends are serialised with a lock because the zlib stream is stateful: frames must be
    compressed in exactly the order they are written.
    """

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compression: Optional[str]) -> None:
        self.ws = ws
        self.request = request
        self.compression = compression
        self._zlib = zlib.compressobj() if compression == "zlib-stream" else None
        self._lock = asyncio.Lock()
        self.session: Optional[_Session] = None
        self.opened_at = time.monotonic()
        self.closed = False

    async def send_text(self, text: str) -> None:
        async with self._lock:
            if self.closed or self.ws.closed:
                raise ConnectionResetError("gateway connection is closed")
            if self._zlib is not None:
                data = self._zlib.compress(text.encode("utf-8")) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    async def send_json(self, payload: Any) -> None:
        await self.send_text(_dumps(payload))


class _Session:
    """A gateway session: survives reconnects, owns the sequence counter and replay buffer.

    Every dispatch is buffered so that a RESUME can replay what the client missed, which
    is what makes "drop the socket, bot keeps working" tests meaningful.
    """

    def __init__(self, session_id: str, identify: JSON) -> None:
        self.id = session_id
        self.identify = identify
        self.intents: int = int(identify.get("intents", 0) or 0)
        self.seq = 0
        self.events: List[Tuple[int, str]] = []
        self.connection: Optional[_GatewayConnection] = None
        self.lock = asyncio.Lock()

    async def dispatch_locked(self, event: str, data: Any) -> int:
        """Assign the next sequence number and send; caller holds ``self.lock``."""
        self.seq += 1
        frame = _dumps({"op": 0, "t": event, "s": self.seq, "d": data})
        self.events.append((self.seq, frame))
        conn = self.connection
        if conn is not None:
            try:
                await conn.send_text(frame)
            except (ConnectionResetError, RuntimeError):
                # Buffered; a RESUME will replay it.
                pass
        return self.seq

    async def dispatch(self, event: str, data: Any) -> int:
        async with self.lock:
            return await self.dispatch_locked(event, data)


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------

_Handler = Callable[["_ApiRequest"], Awaitable[Tuple[int, Any]]]


@dataclass
class _ApiRequest:
    raw: web.Request
    params: Dict[str, str]
    json: Any
    files: List[RecordedFile]
    record: RecordedRequest

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except (KeyError, ValueError):
            raise _ApiError(404, 0, "404: Not Found") from None


class DiscordTestServer:
    """In-process Discord API v10 + gateway for tests.  See the module docstring.

    Parameters
    ----------
    guilds:
        Guilds the bot is in (``GuildSpec`` or just a name).  Default: one guild with
        ``#general`` and ``#random``.
    token:
        The bot token; REST calls must send ``Authorization: Bot <token>`` (401
        otherwise) and IDENTIFY/RESUME must carry it (close 4004 otherwise).
    heartbeat_interval_ms:
        Sent in HELLO.  discord.py imposes no minimum; 100-1000 ms is fine for tests.
    bot_name / application_id / bot_user_id:
        Identity of the bot (ids are generated when omitted).
    echo_bot_messages:
        Dispatch ``MESSAGE_CREATE``/``UPDATE``/``DELETE`` for the bot's own REST actions,
        as Discord does.
    enforce_intents:
        Filter/strip gateway events according to the IDENTIFY intents, as Discord does.
    ack_heartbeats:
        Answer heartbeats with op 11 (turn off to simulate a zombie connection).
    transport_compression:
        Honour ``compress=zlib-stream``; when False always send plain text frames.
    host:
        Interface to bind; the port is always ephemeral.
    """

    def __init__(
        self,
        guilds: Optional[Sequence[Union[GuildSpec, str]]] = None,
        *,
        token: str = "test-bot-token",
        heartbeat_interval_ms: int = 41250,
        bot_name: str = "citebot",
        application_id: Optional[int] = None,
        bot_user_id: Optional[int] = None,
        echo_bot_messages: bool = True,
        enforce_intents: bool = True,
        ack_heartbeats: bool = True,
        transport_compression: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.echo_bot_messages = echo_bot_messages
        self.enforce_intents = enforce_intents
        self.ack_heartbeats = ack_heartbeats
        self.transport_compression = transport_compression
        self.host = host
        self._snowflake = _SnowflakeFactory()

        self.application_id: int = application_id or self._snowflake()
        bot_id = bot_user_id or self.application_id
        self.bot_user: JSON = {
            "id": str(bot_id),
            "username": bot_name,
            "discriminator": "0001",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
        }

        # --- world state -------------------------------------------------------------
        self.users: Dict[int, JSON] = {bot_id: self._public_user(self.bot_user)}
        self.guilds: Dict[int, _Guild] = {}
        self.channels: Dict[int, JSON] = {}
        self.messages: Dict[int, JSON] = {}
        self.global_commands: List[JSON] = []
        self.guild_commands: Dict[int, List[JSON]] = {}
        self.owner_user: JSON = self.make_user("guild-owner", join_guilds=False)
        self.default_user: JSON = self.make_user("alice", join_guilds=False)
        specs = list(guilds) if guilds is not None else [GuildSpec()]
        for spec in specs:
            self._create_guild(GuildSpec(name=spec) if isinstance(spec, str) else spec)

        # --- recordings ----------------------------------------------------------------
        self.requests: List[RecordedRequest] = []
        self.unknown_requests: List[RecordedRequest] = []
        self.sent_messages: List[JSON] = []
        self.message_edits: List[JSON] = []
        self.deleted_messages: List[Tuple[int, int]] = []
        self.interaction_responses: List[InteractionResponseRecord] = []
        self.reactions_added: List[Tuple[int, int, str]] = []
        self.typing_channels: List[int] = []
        self.heartbeats: List[HeartbeatRecord] = []
        self.gateway_received: List[GatewayFrame] = []
        self.identify_payloads: List[JSON] = []
        self.resume_payloads: List[JSON] = []
        self.presence_updates: List[Any] = []
        self.dispatched: List[Tuple[int, str, Any]] = []
        self.filtered_dispatches: List[Tuple[str, Any]] = []
        self.connections: List[_GatewayConnection] = []

        self._interactions: Dict[int, _Interaction] = {}
        self._interactions_by_token: Dict[str, _Interaction] = {}
        self._faults: List[_Fault] = []
        self._holds: List[RequestHold] = []
        self._sessions: Dict[str, _Session] = {}
        self._session: Optional[_Session] = None
        self._consumed_message_ids: set[int] = set()
        self._dm_channels_by_user: Dict[int, int] = {}
        self._changed: Optional[asyncio.Condition] = None
        self._identified: Optional[asyncio.Event] = None
        self._runner: Optional[web.AppRunner] = None
        self._port: Optional[int] = None

    # ------------------------------------------------------------------ lifecycle ----

    async def start(self) -> "DiscordTestServer":
        """Bind to an ephemeral port and start serving."""
        self._changed = asyncio.Condition()
        self._identified = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._register_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])  # port 0 -> the kernel picked one
        return self

    async def stop(self) -> None:
        """Close every websocket (code 1001, "going away") and shut the HTTP server down."""
        for conn in list(self.connections):
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001, message=b"server shutting down"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "DiscordTestServer":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # ------------------------------------------------------------------ addresses ----

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def http_url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:1234`` (attachments are served under it)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``discord.http.Route.BASE``: ``http://127.0.0.1:<port>/api/v10``."""
        return f"{self.http_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        """Gateway URL without query; wrap in ``yarl.URL`` for ``DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def bot_user_id(self) -> int:
        return int(self.bot_user["id"])

    @property
    def guild_id(self) -> int:
        """Id of the first configured guild."""
        return next(iter(self.guilds))

    @property
    def channel_id(self) -> int:
        """Id of the first text channel of the first guild."""
        return self.guilds[self.guild_id].channel_ids[0]

    @property
    def request_count(self) -> int:
        """Current number of recorded requests; use as ``after=`` cursor."""
        return len(self.requests)

    @property
    def session_id(self) -> Optional[str]:
        return self._session.id if self._session else None

    @property
    def sequence(self) -> int:
        """Last sequence number dispatched in the current session (0 if none)."""
        return self._session.seq if self._session else 0

    @property
    def identify_count(self) -> int:
        return len(self.identify_payloads)

    @property
    def resume_count(self) -> int:
        return len(self.resume_payloads)

    @property
    def is_connected(self) -> bool:
        """True when the current session has a live websocket."""
        s = self._session
        return bool(s and s.connection and not s.connection.closed and not s.connection.ws.closed)

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's ``Route.BASE`` and ``DEFAULT_GATEWAY`` here; restore on exit."""
        import discord.gateway
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------- world builders ----

    @staticmethod
    def _public_user(user: JSON) -> JSON:
        keys = ("id", "username", "discriminator", "global_name", "avatar", "bot", "system", "public_flags")
        return {k: user[k] for k in keys if k in user}

    def make_user(
        self,
        username: str,
        *,
        bot: bool = False,
        global_name: Optional[str] = None,
        join_guilds: bool = True,
        roles: Sequence[int] = (),
    ) -> JSON:
        """Create a user (and, by default, a member of every guild); returns the user payload.

        If a bot session is live and intents allow it, ``GUILD_MEMBER_ADD`` is *not* sent --
        call ``dispatch`` yourself if the bot must observe the join.
        """
        uid = self._snowflake()
        user: JSON = {
            "id": str(uid),
            "username": username,
            "discriminator": "0",
            "global_name": global_name if global_name is not None else username.title(),
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        self.users[uid] = user
        if join_guilds:
            for guild in self.guilds.values():
                guild.members[uid] = self._member_stub(list(roles))
        return user

    @staticmethod
    def _member_stub(roles: List[int]) -> JSON:
        return {
            "roles": [str(r) for r in roles],
            "nick": None,
            "avatar": None,
            "joined_at": _iso_now(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }

    def _create_guild(self, spec: GuildSpec) -> _Guild:
        gid = spec.id or self._snowflake()
        admin_role_id = self._snowflake()
        bot_role_id = self._snowflake()

        def role(rid: int, name: str, perms: int, position: int, **extra: Any) -> JSON:
            payload = {
                "id": str(rid),
                "name": name,
                "permissions": str(perms),
                "position": position,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
                "flags": 0,
            }
            payload.update(extra)
            return payload

        roles = [
            role(gid, "@everyone", spec.everyone_permissions, 0),
            role(bot_role_id, self.bot_user["username"], spec.bot_permissions, 1, managed=True,
                 tags={"bot_id": self.bot_user["id"]}),
            role(admin_role_id, "Admin", PermissionBits.ADMINISTRATOR, 2),
        ]
        guild = _Guild(
            id=gid,
            name=spec.name,
            owner_id=int(self.owner_user["id"]),
            roles=roles,
            channel_ids=[],
            members={},
            joined_at=_iso_now(),
            admin_role_id=admin_role_id,
            bot_role_id=bot_role_id,
            commands_scope=spec.commands_scope,
        )
        self.guilds[gid] = guild
        for position, name in enumerate(spec.channels):
            self.add_text_channel(gid, name, position=position)
        guild.members[self.bot_user_id] = self._member_stub([bot_role_id])
        guild.members[int(self.owner_user["id"])] = self._member_stub([admin_role_id])
        for uid, user in self.users.items():
            if uid not in guild.members and not user.get("bot"):
                guild.members[uid] = self._member_stub([])
        return guild

    def add_text_channel(self, guild_id: int, name: str, *, position: Optional[int] = None) -> JSON:
        """Add a text channel to a guild (before IDENTIFY to have it in GUILD_CREATE)."""
        guild = self.guilds[guild_id]
        cid = self._snowflake()
        channel: JSON = {
            "id": str(cid),
            "type": 0,
            "guild_id": str(guild_id),
            "name": name,
            "position": position if position is not None else len(guild.channel_ids),
            "permission_overwrites": [],
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }
        self.channels[cid] = channel
        guild.channel_ids.append(cid)
        return channel

    def dm_channel(self, user: Any = None) -> JSON:
        """The DM channel between the bot and ``user`` (created on first use).

        discord.py does not need to know the channel beforehand: a ``MESSAGE_CREATE``
        without ``guild_id`` becomes a ``DMChannel`` built from the message.
        """
        uid = _as_id(user if user is not None else self.default_user)
        cid = self._dm_channels_by_user.get(uid)
        if cid is None:
            cid = self._snowflake()
            self._dm_channels_by_user[uid] = cid
            self.channels[cid] = {
                "id": str(cid),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self._public_user(self.users[uid])],
            }
        return self.channels[cid]

    def guild_of_channel(self, channel_id: int) -> Optional[int]:
        channel = self.channels.get(int(channel_id))
        if channel is None or "guild_id" not in channel:
            return None
        return int(channel["guild_id"])

    def member_payload(self, guild_id: int, user: Any, *, with_user: bool = True) -> JSON:
        """Full member object (with ``permissions`` when useful) for a user in a guild."""
        guild = self.guilds[int(guild_id)]
        uid = _as_id(user)
        stub = guild.members.get(uid) or self._member_stub([])
        member = copy.deepcopy(stub)
        if with_user:
            member["user"] = self._public_user(self.users[uid])
        return member

    def permissions_for(self, guild_id: int, user: Any) -> int:
        """Guild-level permissions (roles OR-ed, owner/admin = all), like Discord computes."""
        guild = self.guilds[int(guild_id)]
        uid = _as_id(user)
        if uid == guild.owner_id:
            return PermissionBits.ALL
        member = guild.members.get(uid) or self._member_stub([])
        role_ids = {str(guild.id), *member["roles"]}
        perms = 0
        for r in guild.roles:
            if r["id"] in role_ids:
                perms |= int(r["permissions"])
        if perms & PermissionBits.ADMINISTRATOR:
            return PermissionBits.ALL
        return perms

    def guild_payload(self, guild_id: int, *, for_gateway: bool = True, intents: Optional[int] = None) -> JSON:
        """The guild as sent in GUILD_CREATE (``for_gateway``) or by ``GET /guilds/{id}``."""
        guild = self.guilds[int(guild_id)]
        payload: JSON = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": copy.deepcopy(guild.roles),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(guild.channel_ids[0]) if guild.channel_ids else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
        }
        if not for_gateway:
            payload["approximate_member_count"] = len(guild.members)
            payload["approximate_presence_count"] = 0
            return payload
        # Discord only includes the full member list in GUILD_CREATE with GUILD_PRESENCES;
        # otherwise the bot itself (members intent => the client chunks via op 8).
        include_all = (not self.enforce_intents) or bool((intents or 0) & IntentBits.GUILD_PRESENCES)
        member_ids = list(guild.members) if include_all else [self.bot_user_id]
        payload.update(
            {
                "joined_at": guild.joined_at,
                "large": False,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [self.member_payload(guild.id, uid) for uid in member_ids],
                "channels": [copy.deepcopy(self.channels[cid]) for cid in guild.channel_ids],
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "lazy": True,
            }
        )
        return payload

    def application_payload(self) -> JSON:
        """``GET /oauth2/applications/@me`` body (all keys discord.py's AppInfo requires)."""
        return {
            "id": str(self.application_id),
            "name": self.bot_user["username"],
            "icon": None,
            "description": "Test application",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self._public_user(self.owner_user),
            "team": None,
            "bot": self._public_user(self.bot_user),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "install_params": None,
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(self.guilds),
        }

    # ----------------------------------------------------------- payload builders ----

    def message_payload(
        self,
        content: str = "",
        *,
        author: Any = None,
        channel_id: Optional[int] = None,
        guild_id: Any = AUTO,
        mentions: Sequence[Any] = (),
        mention_bot: bool = False,
        mention_everyone: bool = False,
        mention_roles: Sequence[int] = (),
        message_reference: Any = None,
        embeds: Sequence[JSON] = (),
        attachments: Sequence[JSON] = (),
        components: Sequence[JSON] = (),
        message_id: Optional[int] = None,
        webhook_id: Optional[int] = None,
        **extra: Any,
    ) -> JSON:
        """A realistic MESSAGE_CREATE ``d`` payload from a (human) user.

        ``author``/``mentions`` accept user payloads or ids (default author:
        ``default_user``).  ``mention_bot=True`` prefixes ``<@botid>`` and adds the bot to
        ``mentions``.  ``channel_id`` defaults to the default guild channel; pass a DM
        channel id (``dm_channel(user)["id"]``) for DMs -- ``guild_id`` is derived from the
        channel.  ``message_reference`` takes a message payload or id and, like Discord,
        adds ``referenced_message`` when the server knows that message.  The message is
        stored so that REST lookups (``GET``, reactions, replies) work.
        """
        cid = int(channel_id) if channel_id is not None else self.channel_id
        gid = self.guild_of_channel(cid) if guild_id is AUTO else (int(guild_id) if guild_id is not None else None)
        author_user = self.users[_as_id(author if author is not None else self.default_user)]
        mention_ids = [_as_id(m) for m in mentions]
        if mention_bot:
            content = f"<@{self.bot_user_id}> {content}".rstrip() if content else f"<@{self.bot_user_id}>"
            if self.bot_user_id not in mention_ids:
                mention_ids.insert(0, self.bot_user_id)
        mention_payloads: List[JSON] = []
        for uid in mention_ids:
            user = copy.deepcopy(self._public_user(self.users[uid]))
            if gid is not None and uid in self.guilds[gid].members:
                user["member"] = self.member_payload(gid, uid, with_user=False)
            mention_payloads.append(user)

        mid = message_id or self._snowflake()
        payload: JSON = {
            "id": str(mid),
            "channel_id": str(cid),
            "author": copy.deepcopy(author_user),
            "content": content,
            "timestamp": _iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": mention_everyone,
            "mentions": mention_payloads,
            "mention_roles": [str(r) for r in mention_roles],
            "attachments": list(attachments),
            "embeds": list(embeds),
            "pinned": False,
            "type": _MSG_DEFAULT,
            "flags": 0,
            "components": list(components),
            "nonce": str(secrets.randbits(60)),
        }
        if gid is not None:
            payload["guild_id"] = str(gid)
            if int(author_user["id"]) in self.guilds[gid].members:
                payload["member"] = self.member_payload(gid, author_user["id"], with_user=False)
        if webhook_id is not None:
            payload["webhook_id"] = str(webhook_id)
        if message_reference is not None:
            self._attach_reference(payload, message_reference, cid, gid)
        payload.update(extra)
        self.messages[mid] = payload
        return payload

    def bot_mention_payload(self, content: str = "", **kwargs: Any) -> JSON:
        """``message_payload`` with ``<@botid>`` in content and the bot in ``mentions``."""
        return self.message_payload(content, mention_bot=True, **kwargs)

    def dm_message_payload(self, content: str = "", *, author: Any = None, **kwargs: Any) -> JSON:
        """A message in the DM channel between ``author`` (default user) and the bot."""
        author = author if author is not None else self.default_user
        channel = self.dm_channel(author)
        return self.message_payload(content, author=author, channel_id=int(channel["id"]), **kwargs)

    def _attach_reference(self, payload: JSON, reference: Any, channel_id: int, guild_id: Optional[int]) -> None:
        ref_id = _as_id(reference)
        ref_msg = self.messages.get(ref_id)
        ref_channel = int(ref_msg["channel_id"]) if ref_msg else channel_id
        ref: JSON = {"type": 0, "message_id": str(ref_id), "channel_id": str(ref_channel)}
        if guild_id is not None:
            ref["guild_id"] = str(guild_id)
        payload["message_reference"] = ref
        payload["type"] = _MSG_REPLY
        if ref_msg is not None:
            referenced = copy.deepcopy(ref_msg)
            referenced.pop("referenced_message", None)
            payload["referenced_message"] = referenced

    def reaction_add_payload(
        self,
        message: Any,
        emoji: Union[str, JSON] = "\N{THUMBS UP SIGN}",
        *,
        user: Any = None,
        channel_id: Optional[int] = None,
    ) -> JSON:
        """MESSAGE_REACTION_ADD ``d`` for ``message`` (payload or id) by ``user``."""
        mid = _as_id(message)
        known = self.messages.get(mid)
        cid = int(channel_id) if channel_id is not None else (int(known["channel_id"]) if known else self.channel_id)
        gid = self.guild_of_channel(cid)
        uid = _as_id(user if user is not None else self.default_user)
        emoji_payload = {"id": None, "name": emoji} if isinstance(emoji, str) else dict(emoji)
        payload: JSON = {
            "user_id": str(uid),
            "channel_id": str(cid),
            "message_id": str(mid),
            "emoji": emoji_payload,
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if known is not None and "author" in known:
            payload["message_author_id"] = known["author"]["id"]
        if gid is not None:
            payload["guild_id"] = str(gid)
            if uid in self.guilds[gid].members:
                payload["member"] = self.member_payload(gid, uid)
        return payload

    def _interaction_base(
        self,
        interaction_type: int,
        *,
        user: Any,
        guild_id: Any,
        channel_id: Optional[int],
        permissions: Optional[int],
        locale: str,
    ) -> JSON:
        uid = _as_id(user if user is not None else self.default_user)
        if channel_id is None:
            if guild_id is None:
                channel_id = int(self.dm_channel(uid)["id"])
            else:
                gid_for_default = self.guild_id if guild_id is AUTO else int(guild_id)
                channel_id = self.guilds[gid_for_default].channel_ids[0]
        cid = int(channel_id)
        gid = self.guild_of_channel(cid) if guild_id is AUTO else (int(guild_id) if guild_id is not None else None)
        channel = copy.deepcopy(self.channels.get(cid) or {"id": str(cid), "type": 0 if gid else 1})
        iid = self._snowflake()
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "token": f"itok-{iid}-{secrets.token_urlsafe(24)}",
            "version": 1,
            "channel": channel,
            "channel_id": str(cid),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if gid is not None:
            member = self.member_payload(gid, uid)
            perms = permissions if permissions is not None else self.permissions_for(gid, uid)
            member["permissions"] = str(perms)
            payload.update(
                {
                    "guild_id": str(gid),
                    "guild": {"id": str(gid), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "member": member,
                    "app_permissions": str(self.permissions_for(gid, self.bot_user_id)),
                    "authorizing_integration_owners": {"0": str(gid)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": copy.deepcopy(self._public_user(self.users[uid])),
                    "app_permissions": str(PermissionBits.BOT_DEFAULT),
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        return payload

    def _find_synced_command(self, name: str, guild_id: Optional[int], command_type: int) -> Tuple[Optional[JSON], Optional[int]]:
        if guild_id is not None:
            for cmd in self.guild_commands.get(guild_id, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == command_type:
                    return cmd, guild_id
        for cmd in self.global_commands:
            if cmd["name"] == name and int(cmd.get("type", 1)) == command_type:
                return cmd, None
        return None, None

    def slash_command_payload(
        self,
        name: str,
        options: Union[Mapping[str, Any], Sequence[JSON], None] = None,
        *,
        user: Any = None,
        guild_id: Any = AUTO,
        channel_id: Optional[int] = None,
        permissions: Optional[int] = None,
        command_id: Optional[int] = None,
        command_guild_id: Any = AUTO,
        resolved: Optional[JSON] = None,
        locale: str = "en-US",
    ) -> JSON:
        """An APPLICATION_COMMAND (type 2) INTERACTION_CREATE ``d`` payload.

        ``name`` may contain spaces for sub-commands (``"tags add"``, ``"admin tags add"``).
        ``options`` is either raw Discord option dicts or ``{name: value}``; in the latter
        case types come from the synced command definition when the bot synced it, else
        from the Python type (bool/int/float/str); user/channel/role options get
        ``resolved`` entries.  ``guild_id=None`` makes a DM interaction (``user`` instead
        of ``member``).  ``permissions`` overrides the invoking member's permission bits
        (default: computed from roles).  ``command_guild_id``: see module docstring --
        AUTO uses the guild the command was synced to, if any.
        """
        parts = name.split()
        base = self._interaction_base(
            _INTERACTION_APPLICATION_COMMAND, user=user, guild_id=guild_id, channel_id=channel_id,
            permissions=permissions, locale=locale,
        )
        gid = int(base["guild_id"]) if "guild_id" in base else None
        synced, synced_guild = self._find_synced_command(parts[0], gid, 1)
        data: JSON = {"id": str(command_id or (synced["id"] if synced else self._snowflake())), "name": parts[0], "type": 1}
        cmd_gid = synced_guild if command_guild_id is AUTO else command_guild_id
        if cmd_gid is not None:
            data["guild_id"] = str(cmd_gid)

        resolved_out: JSON = copy.deepcopy(resolved) if resolved else {}
        definition = synced.get("options", []) if synced else []
        for sub_name in parts[1:]:
            sub_def = next((o for o in definition if o.get("name") == sub_name), None)
            definition = (sub_def or {}).get("options", [])
        leaf_options = self._build_options(options, definition, gid, resolved_out)
        nested: List[JSON] = leaf_options
        for depth, sub_name in reversed(list(enumerate(parts[1:], start=1))):
            is_group = depth < len(parts) - 1
            nested = [{"name": sub_name, "type": _OPT_SUB_COMMAND_GROUP if is_group else _OPT_SUB_COMMAND, "options": nested}]
        if nested:
            data["options"] = nested
        if resolved_out:
            data["resolved"] = resolved_out
        base["data"] = data
        return base

    def _build_options(
        self,
        options: Union[Mapping[str, Any], Sequence[JSON], None],
        definition: Sequence[JSON],
        guild_id: Optional[int],
        resolved: JSON,
    ) -> List[JSON]:
        if not options:
            return []
        if not isinstance(options, Mapping):
            return [dict(o) for o in options]
        types = {o["name"]: int(o["type"]) for o in definition if "name" in o and "type" in o}
        out: List[JSON] = []
        for opt_name, value in options.items():
            opt_type = types.get(opt_name)
            if opt_type is None:
                if isinstance(value, bool):
                    opt_type = _OPT_BOOLEAN
                elif isinstance(value, int):
                    opt_type = _OPT_INTEGER
                elif isinstance(value, float):
                    opt_type = _OPT_NUMBER
                else:
                    opt_type = _OPT_STRING
            if opt_type in (_OPT_USER, _OPT_MENTIONABLE) and _as_id(value) in self.users:
                uid = _as_id(value)
                resolved.setdefault("users", {})[str(uid)] = self._public_user(self.users[uid])
                if guild_id is not None and uid in self.guilds[guild_id].members:
                    member = self.member_payload(guild_id, uid, with_user=False)
                    member["permissions"] = str(self.permissions_for(guild_id, uid))
                    resolved.setdefault("members", {})[str(uid)] = member
                value = str(uid)
            elif opt_type == _OPT_CHANNEL:
                cid = _as_id(value)
                if cid in self.channels:
                    ch = copy.deepcopy(self.channels[cid])
                    ch["permissions"] = str(PermissionBits.ALL)
                    resolved.setdefault("channels", {})[str(cid)] = ch
                value = str(cid)
            elif opt_type == _OPT_ROLE and guild_id is not None:
                rid = _as_id(value)
                role = next((r for r in self.guilds[guild_id].roles if int(r["id"]) == rid), None)
                if role is not None:
                    resolved.setdefault("roles", {})[str(rid)] = copy.deepcopy(role)
                value = str(rid)
            out.append({"name": opt_name, "type": opt_type, "value": value})
        return out

    def component_payload(
        self,
        custom_id: str,
        message: Any,
        *,
        component_type: int = 2,
        values: Optional[Sequence[str]] = None,
        user: Any = None,
        permissions: Optional[int] = None,
        locale: str = "en-US",
    ) -> JSON:
        """A MESSAGE_COMPONENT (type 3) INTERACTION_CREATE ``d`` for a click on ``message``.

        ``message`` is the message the component is on: a payload from ``sent_messages``
        (or its id).  discord.py routes the click to the ``View`` registered for that
        message id, so it must be the message the bot actually sent.  Use
        ``component_type=3`` and ``values`` for a string select.
        """
        mid = _as_id(message)
        stored = self.messages.get(mid)
        msg = copy.deepcopy(stored if stored is not None else dict(message))
        cid = int(msg["channel_id"])
        gid = self.guild_of_channel(cid)
        base = self._interaction_base(
            _INTERACTION_COMPONENT, user=user, guild_id=gid, channel_id=cid, permissions=permissions, locale=locale
        )
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        base["data"] = data
        base["message"] = msg
        return base

    # ------------------------------------------------------------ gateway helpers ----

    def _require_session(self) -> _Session:
        if self._session is None:
            raise RuntimeError("no bot has IDENTIFYed on the gateway yet (await server.wait_until_identified())")
        return self._session

    async def dispatch(self, event: str, data: Any) -> int:
        """Send a DISPATCH (op 0) with the next sequence number; returns that ``s``.

        ``data`` is sent verbatim (garbage welcome).  If the socket is down the event is
        buffered and replayed after RESUME.  No intent filtering is applied here.
        """
        session = self._require_session()
        seq = await session.dispatch(event, data)
        self.dispatched.append((seq, event, data))
        return seq

    def _wants(self, session: _Session, bit: int) -> bool:
        return (not self.enforce_intents) or bool(session.intents & bit)

    async def dispatch_message(self, payload: JSON) -> Optional[int]:
        """MESSAGE_CREATE, filtered/stripped per intents like Discord.  Returns ``s`` or None."""
        session = self._require_session()
        self._store_message(payload)
        is_dm = "guild_id" not in payload
        if not self._wants(session, IntentBits.DIRECT_MESSAGES if is_dm else IntentBits.GUILD_MESSAGES):
            self.filtered_dispatches.append(("MESSAGE_CREATE", payload))
            return None
        return await self.dispatch("MESSAGE_CREATE", self._content_filtered(session, payload))

    def _store_message(self, payload: JSON) -> None:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            self.messages[int(payload["id"])] = payload

    def _content_filtered(self, session: _Session, payload: JSON) -> JSON:
        if self._wants(session, IntentBits.MESSAGE_CONTENT):
            return payload
        author_id = str((payload.get("author") or {}).get("id"))
        mentioned = any(str(m.get("id")) == self.bot_user["id"] for m in payload.get("mentions") or [])
        if "guild_id" not in payload or author_id == self.bot_user["id"] or mentioned:
            return payload
        stripped = copy.deepcopy(payload)
        stripped.update({"content": "", "embeds": [], "attachments": [], "components": []})
        stripped.pop("poll", None)
        return stripped

    async def dispatch_interaction(self, payload: JSON) -> int:
        """INTERACTION_CREATE; registers the token so callback/webhook routes accept it."""
        state = _Interaction(payload=payload)
        self._interactions[state.id] = state
        self._interactions_by_token[state.token] = state
        return await self.dispatch("INTERACTION_CREATE", payload)

    async def dispatch_reaction_add(self, payload: JSON) -> Optional[int]:
        """MESSAGE_REACTION_ADD (filtered by the reaction intents)."""
        session = self._require_session()
        bit = IntentBits.GUILD_MESSAGE_REACTIONS if "guild_id" in payload else IntentBits.DIRECT_MESSAGE_REACTIONS
        if not self._wants(session, bit):
            self.filtered_dispatches.append(("MESSAGE_REACTION_ADD", payload))
            return None
        return await self.dispatch("MESSAGE_REACTION_ADD", payload)

    async def send_raw(self, payload: Union[JSON, str, bytes]) -> None:
        """Write an arbitrary frame on the current connection (no sequence bookkeeping).

        A ``str``/``bytes`` payload is written as-is (a text frame, or a binary one that
        is *not* run through zlib) -- non-JSON text crashes discord.py's client loop.
        """
        session = self._require_session()
        conn = session.connection
        if conn is None:
            raise RuntimeError("no live gateway connection")
        if isinstance(payload, bytes):
            async with conn._lock:
                await conn.ws.send_bytes(payload)
        elif isinstance(payload, str):
            await conn.send_text(payload)
        else:
            await conn.send_json(payload)

    async def drop_connection(self, code: int = 4000, *, abrupt: bool = False) -> None:
        """Kill the bot's websocket so it must reconnect and RESUME.

        ``code`` is the close code (4000 = "unknown error", resumable); ``abrupt=True``
        aborts the TCP connection without a close frame.  Dispatches made before the bot
        resumes are buffered and replayed.
        """
        session = self._require_session()
        async with session.lock:
            conn = session.connection
            session.connection = None
        if conn is None:
            return
        conn.closed = True
        if abrupt:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=code, message=b"dropped by test"), 2.0)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT (Discord asks the client to reconnect and resume)."""
        await self.send_raw({"op": 7, "d": None})

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the bot must re-IDENTIFY."""
        session = self._require_session()
        if not resumable:
            self._sessions.pop(session.id, None)
        await self.send_raw({"op": 9, "d": resumable})

    # ------------------------------------------------------------------- waiting -----

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _wait_until(self, check: Callable[[], Optional[T]], timeout: float, what: str) -> T:
        """Re-evaluate ``check`` whenever something is recorded; return its first non-None."""
        assert self._changed is not None, "server not started"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._changed:
            while True:
                result = check()
                if result is not None:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise asyncio.TimeoutError(f"timed out after {timeout}s waiting for {what}")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_until_identified(self, timeout: float = 10.0) -> None:
        """Wait until a bot IDENTIFYed and READY + all GUILD_CREATEs were sent."""
        assert self._identified is not None, "server not started"
        await asyncio.wait_for(self._identified.wait(), timeout)

    async def wait_for_request(
        self,
        predicate: Optional[Callable[[RecordedRequest], bool]] = None,
        timeout: float = 5.0,
        *,
        method: Optional[str] = None,
        route: Optional[str] = None,
        after: int = 0,
    ) -> RecordedRequest:
        """First request (index >= ``after``) matching predicate/method/route; waits if none yet.

        ``route`` matches the template (``/channels/{channel_id}/messages``) or the
        concrete path.  Non-consuming: call with ``after=server.request_count`` taken
        before the action to ignore older requests.
        """

        def matches(r: RecordedRequest) -> bool:
            if method is not None and r.method != method.upper():
                return False
            if route is not None and route not in (r.route, r.path):
                return False
            return predicate is None or predicate(r)

        def check() -> Optional[RecordedRequest]:
            return next((r for r in self.requests[after:] if matches(r)), None)

        return await self._wait_until(check, timeout, f"request method={method} route={route}")

    async def wait_for_message(
        self,
        channel_id: Optional[int] = None,
        *,
        predicate: Optional[Callable[[JSON], bool]] = None,
        interaction_id: Optional[int] = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Oldest not-yet-returned message the bot made visible, optionally filtered.

        Consuming (see module docstring).  Returns the full Discord message object as the
        server stored it (``content``, ``embeds``, ``components``, ``flags``,
        ``message_reference``, ``attachments`` ...).
        """

        def matches(m: JSON) -> bool:
            if int(m["id"]) in self._consumed_message_ids:
                return False
            if channel_id is not None and int(m["channel_id"]) != int(channel_id):
                return False
            if interaction_id is not None:
                meta = m.get("interaction_metadata") or {}
                if str(meta.get("id")) != str(interaction_id):
                    return False
            return predicate is None or predicate(m)

        def check() -> Optional[JSON]:
            found = next((m for m in self.sent_messages if matches(m)), None)
            if found is not None:
                self._consumed_message_ids.add(int(found["id"]))
            return found

        return await self._wait_until(check, timeout, f"a bot message (channel_id={channel_id})")

    async def wait_for_interaction_response(
        self,
        interaction_id: Optional[Any] = None,
        *,
        type: Optional[int] = None,
        timeout: float = 5.0,
    ) -> InteractionResponseRecord:
        """The callback the bot made for an interaction (payload or id); non-consuming."""
        iid = _as_id(interaction_id) if interaction_id is not None else None

        def check() -> Optional[InteractionResponseRecord]:
            for rec in self.interaction_responses:
                if (iid is None or rec.interaction_id == iid) and (type is None or rec.type == type):
                    return rec
            return None

        return await self._wait_until(check, timeout, f"interaction response for {iid}")

    async def wait_for_heartbeats(self, count: int, timeout: float = 5.0) -> List[HeartbeatRecord]:
        """Wait until at least ``count`` heartbeats were received in total."""
        return await self._wait_until(
            lambda: list(self.heartbeats) if len(self.heartbeats) >= count else None, timeout, f"{count} heartbeats"
        )

    async def wait_for_resume(self, count: int = 1, timeout: float = 10.0) -> JSON:
        """Wait until the ``count``-th RESUME was received and answered; returns its payload."""
        return await self._wait_until(
            lambda: self.resume_payloads[count - 1] if len(self.resume_payloads) >= count and self.is_connected else None,
            timeout,
            f"RESUME #{count}",
        )

    async def wait_for_identify(self, count: int = 1, timeout: float = 10.0) -> JSON:
        """Wait until the ``count``-th IDENTIFY was answered with READY."""
        return await self._wait_until(
            lambda: self.identify_payloads[count - 1] if len(self.identify_payloads) >= count and self.is_connected else None,
            timeout,
            f"IDENTIFY #{count}",
        )

    def interaction_messages(self, interaction_id: Any) -> List[JSON]:
        """Original response + follow-ups the bot produced for an interaction, in order."""
        state = self._interactions.get(_as_id(interaction_id))
        if state is None:
            return []
        ids = ([state.original_message_id] if state.original_message_id else []) + state.followup_ids
        return [self.messages[i] for i in ids if i in self.messages]

    def requests_to(self, method: str, route: str) -> List[RecordedRequest]:
        """All recorded requests for ``METHOD`` + template or concrete path."""
        return [r for r in self.requests if r.method == method.upper() and route in (r.route, r.path)]

    # ----------------------------------------------------------- fault injection -----

    def fail_next(
        self,
        method: str,
        route: str,
        *,
        status: int = 500,
        count: int = 1,
        retry_after: float = 0.25,
        is_global: bool = False,
        body: Optional[JSON] = None,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``status``.

        ``route`` is a template (``/channels/{channel_id}/messages``) or a concrete path.
        For 429 the response mimics Discord (JSON ``retry_after``/``global``, ``Retry-After``
        and ``X-RateLimit-*`` headers, ``Via``).  The failed attempts are recorded with
        ``fault`` set and do not create anything.
        """
        self._faults.append(_Fault(method.upper(), route, status, count, retry_after, is_global, body))

    def rate_limit_next(self, method: str, route: str, *, count: int = 1, retry_after: float = 0.25,
                        is_global: bool = False) -> None:
        """Shorthand for ``fail_next(..., status=429)``."""
        self.fail_next(method, route, status=429, count=count, retry_after=retry_after, is_global=is_global)

    def hold_next(self, method: str, route: str, *, count: int = 1) -> RequestHold:
        """Hold the next ``count`` matching requests until ``release()`` on the returned hold.

        ``route`` is a template or a concrete path, as for ``fail_next``.  A held request is
        recorded in the hold on arrival and in ``requests`` once answered.
        """
        hold = RequestHold(method.upper(), route, count)
        self._holds.append(hold)
        return hold

    def _take_hold(self, method: str, template: Optional[str], path: str) -> Optional[RequestHold]:
        for hold in self._holds:
            if hold.remaining > 0 and hold.method in (method, "*") and hold.route in (template, path):
                hold.remaining -= 1
                if hold.remaining == 0:
                    self._holds.remove(hold)
                return hold
        return None

    def _take_fault(self, method: str, template: Optional[str], path: str) -> Optional[_Fault]:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method in (method, "*") and fault.route in (template, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------- gateway server ----

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        requested = request.query.get("compress")
        compression = requested if (self.transport_compression and requested == "zlib-stream") else None
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, autoping=True)
        await ws.prepare(request)
        conn = _GatewayConnection(ws, request, compression)
        self.connections.append(conn)
        if request.query.get("v", str(API_VERSION)) != str(API_VERSION):
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Error while decoding payload.")
            return ws
        try:
            await conn.send_json(
                {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": self.heartbeat_interval_ms,
                                                       "_trace": ["citebot-test-gateway"]}}
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    text = msg.data
                elif msg.type == WSMsgType.BINARY:
                    text = bytes(msg.data).decode("utf-8", errors="replace")
                else:
                    break
                try:
                    payload = json.loads(text)
                    if not isinstance(payload, dict):
                        raise ValueError("payload is not an object")
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._handle_gateway_payload(conn, payload)
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            conn.closed = True
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
            await self._notify()
        return ws

    async def _handle_gateway_payload(self, conn: _GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        session_id = conn.session.id if conn.session else None
        self.gateway_received.append(GatewayFrame(time.monotonic(), op, data, session_id))

        if op == 1:
            self.heartbeats.append(HeartbeatRecord(time.monotonic(), data, session_id, self.ack_heartbeats))
            if self.ack_heartbeats:
                await conn.send_json({"op": 11, "s": None, "t": None, "d": None})
            await self._notify()
            return
        if op == 2:
            await self._on_identify(conn, data if isinstance(data, dict) else {})
            return
        if op == 6:
            await self._on_resume(conn, data if isinstance(data, dict) else {})
            return
        if conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
            return
        if op == 3:
            self.presence_updates.append(data)
        elif op == 8:
            await self._on_request_members(conn.session, data if isinstance(data, dict) else {})
        elif op in (4, 5, 14, 31):
            pass  # voice/lobby ops: accepted, ignored
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")
        await self._notify()

    async def _on_identify(self, conn: _GatewayConnection, data: JSON) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if "intents" not in data:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        session = _Session(uuid.uuid4().hex, data)
        self._sessions[session.id] = session
        self._session = session
        conn.session = session
        self.identify_payloads.append(data)
        ready: JSON = {
            "v": API_VERSION,
            "user": copy.deepcopy(self.bot_user),
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["test"],
            "auth": {},
            "_trace": ["citebot-test-gateway"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        async with session.lock:
            session.connection = conn
            seq = await session.dispatch_locked("READY", ready)
            self.dispatched.append((seq, "READY", ready))
            if session.intents & IntentBits.GUILDS or not self.enforce_intents:
                for gid in self.guilds:
                    guild_payload = self.guild_payload(gid, intents=session.intents)
                    seq = await session.dispatch_locked("GUILD_CREATE", guild_payload)
                    self.dispatched.append((seq, "GUILD_CREATE", guild_payload))
        assert self._identified is not None
        self._identified.set()
        await self._notify()

    async def _on_resume(self, conn: _GatewayConnection, data: JSON) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if session is None:
            await conn.send_json({"op": 9, "s": None, "t": None, "d": False})
            return
        self.resume_payloads.append(data)
        client_seq = int(data.get("seq") or 0)
        async with session.lock:
            old = session.connection
            if old is not None and old is not conn:
                old.closed = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(old.ws.close(code=4000), 1.0)
            session.connection = conn
            conn.session = session
            self._session = session
            for seq, frame in session.events:
                if seq > client_seq:
                    await conn.send_text(frame)
            seq = await session.dispatch_locked("RESUMED", {"_trace": ["citebot-test-gateway"]})
            self.dispatched.append((seq, "RESUMED", {}))
        await self._notify()

    async def _on_request_members(self, session: _Session, data: JSON) -> None:
        """Answer op 8 with one GUILD_MEMBERS_CHUNK so ``chunk_guilds_at_startup`` completes."""
        try:
            guild = self.guilds[int(data["guild_id"])]
        except (KeyError, TypeError, ValueError):
            return
        query = str(data.get("query") or "").lower()
        user_ids = {int(u) for u in data.get("user_ids") or []}
        members = []
        for uid in guild.members:
            user = self.users[uid]
            if user_ids and uid not in user_ids:
                continue
            if query and not user["username"].lower().startswith(query):
                continue
            members.append(self.member_payload(guild.id, uid))
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {"guild_id": str(guild.id), "members": members, "chunk_index": 0, "chunk_count": 1,
                       "not_found": [], "presences": []}
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # -------------------------------------------------------------- REST plumbing ----

    def _register_routes(self, app: web.Application) -> None:
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)

        routes: List[Tuple[str, str, _Handler, bool]] = [
            # (method, template, handler, requires bot auth)
            ("GET", "/gateway", self._r_get_gateway, False),
            ("GET", "/gateway/bot", self._r_get_gateway_bot, True),
            ("GET", "/users/@me", self._r_get_me, True),
            ("POST", "/users/@me/channels", self._r_create_dm, True),
            ("GET", "/users/{user_id}", self._r_get_user, True),
            ("GET", "/oauth2/applications/@me", self._r_get_application, True),
            ("GET", "/applications/@me", self._r_get_application, True),
            ("GET", "/applications/{application_id}/commands", self._r_get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._r_put_commands, True),
            ("POST", "/applications/{application_id}/commands", self._r_post_command, True),
            ("GET", "/applications/{application_id}/commands/{command_id}", self._r_get_command, True),
            ("PATCH", "/applications/{application_id}/commands/{command_id}", self._r_patch_command, True),
            ("DELETE", "/applications/{application_id}/commands/{command_id}", self._r_delete_command, True),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._r_get_commands, True),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._r_put_commands, True),
            ("POST", "/applications/{application_id}/guilds/{guild_id}/commands", self._r_post_command, True),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", self._r_get_command, True),
            ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", self._r_patch_command, True),
            ("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", self._r_delete_command, True),
            ("GET", "/channels/{channel_id}", self._r_get_channel, True),
            ("GET", "/channels/{channel_id}/messages", self._r_get_messages, True),
            ("POST", "/channels/{channel_id}/messages", self._r_create_message, True),
            ("POST", "/channels/{channel_id}/typing", self._r_typing, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._r_get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._r_edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._r_delete_message, True),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._r_add_reaction, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._r_remove_reaction, True),
            ("GET", "/guilds/{guild_id}", self._r_get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", self._r_get_guild_channels, True),
            ("GET", "/guilds/{guild_id}/roles", self._r_get_roles, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._r_get_member, True),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._r_interaction_callback, False),
            ("GET", "/webhooks/{application_id}/{token}", self._r_get_webhook, False),
            ("POST", "/webhooks/{application_id}/{token}", self._r_followup, False),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", self._r_get_webhook_message, False),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", self._r_edit_webhook_message, False),
            ("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}", self._r_delete_webhook_message, False),
        ]
        from discord_threads import thread_routes  # threads and forum posts (tests/discord_threads.py)

        routes.extend(thread_routes(self))
        prefix = f"/api/v{API_VERSION}"
        for method, template, handler, auth in routes:
            app.router.add_route(method, prefix + template, self._wrap(template, handler, auth))
        app.router.add_route("*", "/{tail:.*}", self._wrap(None, self._r_unknown, False))

    def _wrap(self, template: Optional[str], handler: _Handler, needs_auth: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Common request pipeline: parse, record, authenticate, inject faults, respond."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            prefix = f"/api/v{API_VERSION}"
            url_path = request.path
            path = url_path[len(prefix):] if url_path.startswith(prefix + "/") else url_path
            auth = request.headers.get("Authorization")
            record = RecordedRequest(
                method=request.method,
                path=path,
                url_path=url_path,
                route=template,
                params=dict(request.match_info) if template else {},
                query=dict(request.query),
                json=None,
                files=[],
                form={},
                headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
                authorized=auth == f"Bot {self.token}",
                time=time.monotonic(),
                wall_time=time.time(),
            )
            try:
                try:
                    await self._parse_body(request, record)
                    if needs_auth and not record.authorized:
                        raise _ApiError(401, 0, "401: Unauthorized")
                    hold = self._take_hold(request.method, template, path)
                    if hold is not None:
                        hold.requests.append(record)
                        hold.arrived.set()
                        await hold.released.wait()
                    fault = self._take_fault(request.method, template, path)
                    if fault is not None:
                        record.fault = f"{fault.status}"
                        return self._fault_response(record, fault, template or path)
                    api_request = _ApiRequest(request, record.params, record.json, record.files, record)
                    status, body = await handler(api_request)
                except _ApiError as err:
                    status, body = err.status, err.body
                record.status = status
                record.response = body
                return self._json_response(status, body, template or path)
            finally:
                self.requests.append(record)
                if template is None:
                    self.unknown_requests.append(record)
                await self._notify()

        return endpoint

    async def _parse_body(self, request: web.Request, record: RecordedRequest) -> None:
        if not request.can_read_body:
            return
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not hasattr(part, "read"):
                    continue
                name = part.name or ""  # type: ignore[union-attr]
                raw = bytes(await part.read(decode=True))  # type: ignore[union-attr]
                filename = part.filename  # type: ignore[union-attr]
                if name == "payload_json":
                    record.json = self._loads_or_400(raw)
                elif filename is not None:
                    record.files.append(
                        RecordedFile(name, filename, part.headers.get("Content-Type"), raw)  # type: ignore[union-attr]
                    )
                else:
                    record.form[name] = raw.decode("utf-8", errors="replace")
            return
        raw = await request.read()
        if not raw:
            return
        if ctype == "application/json":
            record.json = self._loads_or_400(raw)
        else:
            record.form["_raw"] = raw.decode("utf-8", errors="replace")

    @staticmethod
    def _loads_or_400(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise _ApiError(400, 50109, "The request body contains invalid JSON.") from None

    def _rate_limit_headers(self, bucket_key: str, remaining: int = 49, reset_after: float = 1.0) -> Dict[str, str]:
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(bucket_key.encode()).hexdigest()[:32],
        }

    def _json_response(self, status: int, body: Any, bucket_key: str, extra: Optional[Dict[str, str]] = None) -> web.Response:
        # Exact "application/json" (no charset): discord.py compares the header verbatim.
        headers = {"Via": "1.1 google", **self._rate_limit_headers(bucket_key)}
        if extra:
            headers.update(extra)
        if status == 204 or body is None:
            return web.Response(status=204 if status < 300 else status, headers=headers)
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=_dumps(body).encode("utf-8"), headers=headers)

    def _fault_response(self, record: RecordedRequest, fault: _Fault, bucket_key: str) -> web.Response:
        if fault.status == 429:
            body: JSON = fault.body or {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": fault.is_global,
                "code": 0,
            }
            extra = {
                **self._rate_limit_headers(bucket_key, remaining=0, reset_after=fault.retry_after),
                "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
                "X-RateLimit-Scope": "global" if fault.is_global else "user",
            }
            if fault.is_global:
                extra["X-RateLimit-Global"] = "true"
        else:
            body = fault.body or {"message": f"{fault.status}: Injected failure", "code": 0}
            extra = {}
        record.status = fault.status
        record.response = body
        return self._json_response(fault.status, body, bucket_key, extra)

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        """CDN stand-in so ``Attachment.read()`` works on files the bot uploaded."""
        try:
            aid = int(request.match_info["attachment_id"])
        except ValueError:
            raise web.HTTPNotFound()
        for msg in self.messages.values():
            for att in msg.get("attachments", []):
                if int(att["id"]) == aid and "_data" in att:
                    return web.Response(body=att["_data"], content_type="application/octet-stream")
        raise web.HTTPNotFound()

    # ------------------------------------------------------------------- helpers -----

    def _channel_or_404(self, channel_id: int) -> JSON:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _ApiError(404, 10003, "Unknown Channel")
        return channel

    def _message_or_404(self, channel_id: int, message_id: int) -> JSON:
        msg = self.messages.get(message_id)
        if msg is None or int(msg["channel_id"]) != channel_id:
            raise _ApiError(404, 10008, "Unknown Message")
        return msg

    def _guild_or_404(self, guild_id: int) -> _Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise _ApiError(404, 10004, "Unknown Guild")
        return guild

    @staticmethod
    def _public_message(msg: JSON) -> JSON:
        """Message as returned on the wire (drops the server's private ``_data`` blobs)."""
        out = copy.deepcopy(msg)
        for att in out.get("attachments", []):
            att.pop("_data", None)
        return out

    def _build_attachments(self, channel_id: int, body: JSON, files: List[RecordedFile],
                           existing: Sequence[JSON] = ()) -> List[JSON]:
        """Turn ``attachments`` + ``files[n]`` into attachment objects, like Discord does."""
        by_field = {f.field: f for f in files}
        existing_by_id = {str(a["id"]): a for a in existing}
        result: List[JSON] = []
        used_fields: set[str] = set()
        specs = body.get("attachments")
        if specs is None:
            specs = [{"id": i} for i in range(len(files))]
            result.extend(existing)  # edits without "attachments" keep the old ones
        for spec in specs:
            key = f"files[{spec.get('id')}]"
            upload = by_field.get(key)
            if upload is not None and key not in used_fields:
                used_fields.add(key)
                aid = self._snowflake()
                filename = spec.get("filename") or upload.filename
                url = f"{self.http_url}/attachments/{channel_id}/{aid}/{filename}"
                att: JSON = {
                    "id": str(aid),
                    "filename": filename,
                    "size": len(upload.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": upload.content_type,
                    "_data": upload.data,
                }
                if spec.get("description") is not None:
                    att["description"] = spec["description"]
                result.append(att)
            elif str(spec.get("id")) in existing_by_id:
                result.append(existing_by_id[str(spec.get("id"))])
        return result

    def _new_bot_message(
        self,
        channel_id: int,
        body: JSON,
        files: List[RecordedFile],
        *,
        interaction: Optional[_Interaction] = None,
        message_type: int = _MSG_DEFAULT,
        extra_flags: int = 0,
    ) -> JSON:
        """Create and store a message authored by the bot from a create-message body."""
        mid = self._snowflake()
        gid = self.guild_of_channel(channel_id)
        if interaction is not None and gid is None and interaction.payload.get("guild_id"):
            gid = int(interaction.payload["guild_id"])
        msg: JSON = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": copy.deepcopy(self._public_user(self.bot_user)),
            "content": body.get("content") or "",
            "timestamp": _iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._build_attachments(channel_id, body, files),
            "embeds": copy.deepcopy(body.get("embeds") or []),
            "components": copy.deepcopy(body.get("components") or []),
            "pinned": False,
            "type": message_type,
            "flags": (int(body.get("flags") or 0) & _SETTABLE_MESSAGE_FLAGS) | extra_flags,
            "reactions": [],
        }
        if gid is not None:
            msg["guild_id"] = str(gid)
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        if body.get("sticker_ids"):
            msg["sticker_items"] = []
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            ref_id = int(reference["message_id"])
            known = self.messages.get(ref_id)
            if known is None and reference.get("fail_if_not_exists", True):
                raise _ApiError(400, 50035, "Invalid Form Body",
                                {"message_reference": {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE",
                                                                     "message": "Unknown message"}]}})
            self._attach_reference(msg, ref_id, channel_id, gid)
            # Discord pings the replied-to author unless allowed_mentions is given without
            # replied_user=true (discord.py omits the key when it is False).
            allowed = body.get("allowed_mentions")
            pings_author = allowed is None or bool(allowed.get("replied_user", False))
            if known is not None and pings_author:
                replied_to = self.users.get(int(known["author"]["id"])) or known["author"]
                msg["mentions"] = [self._public_user(replied_to)]
        if interaction is not None:
            msg["webhook_id"] = str(self.application_id)
            msg["application_id"] = str(self.application_id)
            ip = interaction.payload
            invoker = (ip.get("member") or {}).get("user") or ip.get("user") or {}
            meta: JSON = {
                "id": ip["id"],
                "type": ip["type"],
                "user": copy.deepcopy(invoker),
                "authorizing_integration_owners": copy.deepcopy(ip.get("authorizing_integration_owners", {})),
            }
            if ip["type"] == _INTERACTION_APPLICATION_COMMAND:
                meta["name"] = (ip.get("data") or {}).get("name", "")
            if ip["type"] == _INTERACTION_COMPONENT and ip.get("message"):
                meta["interacted_message_id"] = ip["message"]["id"]
            msg["interaction_metadata"] = meta
        self.messages[mid] = msg
        return msg

    async def _publish_bot_message(self, msg: JSON, *, visible: bool = True) -> None:
        """Record a new bot message and echo MESSAGE_CREATE (not for ephemeral ones)."""
        if visible:
            self.sent_messages.append(msg)
        if self.echo_bot_messages and not (msg["flags"] & _FLAG_EPHEMERAL) and self._session is not None:
            channel = self.channels.get(int(msg["channel_id"]))
            is_dm = channel is not None and channel.get("type") == 1
            if self._wants(self._session, IntentBits.DIRECT_MESSAGES if is_dm else IntentBits.GUILD_MESSAGES):
                await self.dispatch("MESSAGE_CREATE", self._echo_payload(msg))
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is not None:
            channel["last_message_id"] = msg["id"]

    def _echo_payload(self, msg: JSON) -> JSON:
        out = self._public_message(msg)
        gid = out.get("guild_id")
        if gid is not None and int(gid) in self.guilds and out.get("webhook_id") is None:
            out["member"] = self.member_payload(int(gid), self.bot_user_id, with_user=False)
        return out

    async def _apply_edit(self, msg: JSON, body: JSON, files: List[RecordedFile]) -> JSON:
        """PATCH semantics shared by channel edits, @original edits and type 7 callbacks."""
        for key in ("content", "embeds", "components"):
            if key in body:
                value = body[key]
                msg[key] = ("" if value is None else value) if key == "content" else copy.deepcopy(value or [])
        if "flags" in body and body["flags"] is not None:
            keep = msg["flags"] & (_FLAG_EPHEMERAL | _FLAG_LOADING)
            msg["flags"] = (int(body["flags"]) & _SETTABLE_MESSAGE_FLAGS & ~_FLAG_EPHEMERAL) | keep
        if "attachments" in body or files:
            msg["attachments"] = self._build_attachments(int(msg["channel_id"]), body, files, msg.get("attachments", []))
        msg["edited_timestamp"] = _iso_now()
        self.message_edits.append(copy.deepcopy(msg))
        if self.echo_bot_messages and not (msg["flags"] & _FLAG_EPHEMERAL) and self._session is not None:
            await self.dispatch("MESSAGE_UPDATE", self._echo_payload(msg))
        return msg

    # ------------------------------------------------------------- REST handlers -----

    async def _r_unknown(self, req: _ApiRequest) -> Tuple[int, Any]:
        raise _ApiError(404, 0, "404: Not Found")

    async def _r_get_gateway(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _r_get_gateway_bot(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1},
        }

    async def _r_get_me(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, copy.deepcopy(self.bot_user)

    async def _r_get_user(self, req: _ApiRequest) -> Tuple[int, Any]:
        user = self.users.get(req.int_param("user_id"))
        if user is None:
            raise _ApiError(404, 10013, "Unknown User")
        return 200, copy.deepcopy(user)

    async def _r_create_dm(self, req: _ApiRequest) -> Tuple[int, Any]:
        try:
            uid = int((req.json or {})["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise _ApiError(400, 50035, "Invalid Form Body") from None
        if uid not in self.users:
            raise _ApiError(404, 10013, "Unknown User")
        return 200, copy.deepcopy(self.dm_channel(uid))

    async def _r_get_application(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, self.application_payload()

    def _check_app(self, req: _ApiRequest) -> Optional[int]:
        if req.int_param("application_id") != self.application_id:
            raise _ApiError(403, 50001, "Missing Access")
        if "guild_id" in req.params:
            gid = req.int_param("guild_id")
            if gid > SNOWFLAKE_MAX:
                raise _ApiError(400, 50035, "Invalid Form Body", {"guild_id": {"_errors": [
                    {"code": "NUMBER_TYPE_MAX",
                     "message": f"snowflake value should be less than or equal to {SNOWFLAKE_MAX}."}]}})
            if not self._guild_or_404(gid).commands_scope:
                raise _ApiError(403, 50001, "Missing Access")
            return gid
        return None

    def _command_list(self, guild_id: Optional[int]) -> List[JSON]:
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.setdefault(guild_id, [])

    def _normalise_command(self, raw: Any, guild_id: Optional[int], existing: Sequence[JSON]) -> JSON:
        """Validate like Discord (name/description rules) and fill server-side fields."""
        if not isinstance(raw, dict) or "name" not in raw:
            raise _ApiError(400, 50035, "Invalid Form Body", {"name": {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}})
        ctype = int(raw.get("type", 1))
        name = str(raw["name"])
        if ctype == 1:
            if not _COMMAND_NAME_RE.match(name) or name != name.lower():
                raise _ApiError(400, 50035, "Invalid Form Body",
                                {"name": {"_errors": [{"code": "APPLICATION_COMMAND_INVALID_NAME"}]}})
            desc = str(raw.get("description", ""))
            if not 1 <= len(desc) <= 100:
                raise _ApiError(400, 50035, "Invalid Form Body",
                                {"description": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}})
        previous = next((c for c in existing if c["name"] == name and int(c.get("type", 1)) == ctype), None)
        cmd: JSON = copy.deepcopy(raw)
        cmd.update(
            {
                "id": previous["id"] if previous else str(self._snowflake()),
                "application_id": str(self.application_id),
                "type": ctype,
                "version": str(self._snowflake()),
                "description": raw.get("description", ""),
                "default_member_permissions": raw.get("default_member_permissions"),
                "nsfw": bool(raw.get("nsfw", False)),
                "options": copy.deepcopy(raw.get("options") or []),
            }
        )
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        else:
            cmd.setdefault("dm_permission", True)
            cmd.setdefault("contexts", None)
            cmd.setdefault("integration_types", [0])
        return cmd

    async def _r_get_commands(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, copy.deepcopy(self._command_list(self._check_app(req)))

    async def _r_put_commands(self, req: _ApiRequest) -> Tuple[int, Any]:
        gid = self._check_app(req)
        if not isinstance(req.json, list):
            raise _ApiError(400, 50035, "Invalid Form Body")
        existing = list(self._command_list(gid))
        new = [self._normalise_command(raw, gid, existing) for raw in req.json]
        target = self._command_list(gid)
        target[:] = new
        return 200, copy.deepcopy(new)

    async def _r_post_command(self, req: _ApiRequest) -> Tuple[int, Any]:
        gid = self._check_app(req)
        target = self._command_list(gid)
        cmd = self._normalise_command(req.json, gid, target)
        target[:] = [c for c in target if c["id"] != cmd["id"]] + [cmd]
        return 200, copy.deepcopy(cmd)

    def _find_command(self, req: _ApiRequest) -> Tuple[List[JSON], JSON]:
        target = self._command_list(self._check_app(req))
        cid = str(req.int_param("command_id"))
        cmd = next((c for c in target if c["id"] == cid), None)
        if cmd is None:
            raise _ApiError(404, 10063, "Unknown application command")
        return target, cmd

    async def _r_get_command(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, copy.deepcopy(self._find_command(req)[1])

    async def _r_patch_command(self, req: _ApiRequest) -> Tuple[int, Any]:
        _, cmd = self._find_command(req)
        cmd.update(copy.deepcopy(req.json or {}))
        return 200, copy.deepcopy(cmd)

    async def _r_delete_command(self, req: _ApiRequest) -> Tuple[int, Any]:
        target, cmd = self._find_command(req)
        target.remove(cmd)
        return 204, None

    async def _r_get_channel(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, copy.deepcopy(self._channel_or_404(req.int_param("channel_id")))

    async def _r_get_messages(self, req: _ApiRequest) -> Tuple[int, Any]:
        cid = req.int_param("channel_id")
        self._channel_or_404(cid)
        limit = int(req.record.query.get("limit", "50"))
        msgs = sorted((m for m in self.messages.values() if int(m["channel_id"]) == cid), key=lambda m: int(m["id"]),
                      reverse=True)
        if "before" in req.record.query:
            msgs = [m for m in msgs if int(m["id"]) < int(req.record.query["before"])]
        if "after" in req.record.query:
            msgs = [m for m in msgs if int(m["id"]) > int(req.record.query["after"])]
        return 200, [self._public_message(m) for m in msgs[:limit]]

    async def _r_get_message(self, req: _ApiRequest) -> Tuple[int, Any]:
        msg = self._message_or_404(req.int_param("channel_id"), req.int_param("message_id"))
        return 200, self._public_message(msg)

    async def _r_create_message(self, req: _ApiRequest) -> Tuple[int, Any]:
        cid = req.int_param("channel_id")
        self._channel_or_404(cid)
        body = req.json if isinstance(req.json, dict) else {}
        if not (body.get("content") or body.get("embeds") or req.files or body.get("sticker_ids")
                or body.get("components") or body.get("poll")):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        if len(body.get("content") or "") > 2000:
            raise _ApiError(400, 50035, "Invalid Form Body",
                            {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                      "message": "Must be 2000 or fewer in length."}]}})
        msg_type = _MSG_REPLY if body.get("message_reference") else _MSG_DEFAULT
        msg = self._new_bot_message(cid, body, req.files, message_type=msg_type)
        await self._publish_bot_message(msg)
        return 200, self._public_message(msg)

    async def _r_typing(self, req: _ApiRequest) -> Tuple[int, Any]:
        cid = req.int_param("channel_id")
        self._channel_or_404(cid)
        self.typing_channels.append(cid)
        return 204, None

    async def _r_edit_message(self, req: _ApiRequest) -> Tuple[int, Any]:
        msg = self._message_or_404(req.int_param("channel_id"), req.int_param("message_id"))
        body = req.json if isinstance(req.json, dict) else {}
        if str(msg["author"]["id"]) != self.bot_user["id"] and set(body) - {"flags"}:
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        await self._apply_edit(msg, body, req.files)
        return 200, self._public_message(msg)

    async def _r_delete_message(self, req: _ApiRequest) -> Tuple[int, Any]:
        cid, mid = req.int_param("channel_id"), req.int_param("message_id")
        msg = self._message_or_404(cid, mid)
        await self._delete_message(msg)
        return 204, None

    async def _delete_message(self, msg: JSON) -> None:
        mid, cid = int(msg["id"]), int(msg["channel_id"])
        self.messages.pop(mid, None)
        self.deleted_messages.append((cid, mid))
        if self.echo_bot_messages and self._session is not None and not (msg.get("flags", 0) & _FLAG_EPHEMERAL):
            data: JSON = {"id": str(mid), "channel_id": str(cid)}
            if msg.get("guild_id"):
                data["guild_id"] = msg["guild_id"]
            await self.dispatch("MESSAGE_DELETE", data)

    async def _r_add_reaction(self, req: _ApiRequest) -> Tuple[int, Any]:
        cid, mid = req.int_param("channel_id"), req.int_param("message_id")
        self._message_or_404(cid, mid)
        self.reactions_added.append((cid, mid, req.params["emoji"]))
        return 204, None

    async def _r_remove_reaction(self, req: _ApiRequest) -> Tuple[int, Any]:
        cid, mid = req.int_param("channel_id"), req.int_param("message_id")
        self._message_or_404(cid, mid)
        return 204, None

    async def _r_get_guild(self, req: _ApiRequest) -> Tuple[int, Any]:
        gid = req.int_param("guild_id")
        self._guild_or_404(gid)
        return 200, self.guild_payload(gid, for_gateway=False)

    async def _r_get_guild_channels(self, req: _ApiRequest) -> Tuple[int, Any]:
        guild = self._guild_or_404(req.int_param("guild_id"))
        return 200, [copy.deepcopy(self.channels[c]) for c in guild.channel_ids]

    async def _r_get_roles(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, copy.deepcopy(self._guild_or_404(req.int_param("guild_id")).roles)

    async def _r_get_member(self, req: _ApiRequest) -> Tuple[int, Any]:
        guild = self._guild_or_404(req.int_param("guild_id"))
        uid = req.int_param("user_id")
        if uid not in guild.members:
            raise _ApiError(404, 10007, "Unknown Member")
        return 200, self.member_payload(guild.id, uid)

    # ---------------------------------------------------- interactions & webhooks ----

    def _interaction_for_callback(self, req: _ApiRequest) -> _Interaction:
        state = self._interactions.get(req.int_param("interaction_id"))
        if state is None or state.token != req.params.get("token"):
            raise _ApiError(404, 10062, "Unknown interaction")
        return state

    def _interaction_for_webhook(self, req: _ApiRequest) -> _Interaction:
        if req.int_param("application_id") != self.application_id:
            raise _ApiError(404, 10015, "Unknown Webhook")
        state = self._interactions_by_token.get(req.params.get("token", ""))
        if state is None:
            raise _ApiError(404, 10015, "Unknown Webhook")
        return state

    async def _r_interaction_callback(self, req: _ApiRequest) -> Tuple[int, Any]:
        state = self._interaction_for_callback(req)
        body = req.json if isinstance(req.json, dict) else {}
        rtype = body.get("type")
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        if state.responded_type is not None:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        allowed = {
            _INTERACTION_PING: {1},
            _INTERACTION_APPLICATION_COMMAND: {4, 5, 9, 10, 12},
            _INTERACTION_COMPONENT: {4, 5, 6, 7, 9, 10, 12},
            _INTERACTION_AUTOCOMPLETE: {8},
            _INTERACTION_MODAL_SUBMIT: {4, 5, 6, 7},
        }.get(state.type, set())
        if rtype not in allowed:
            raise _ApiError(400, 50035, "Invalid Form Body",
                            {"type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                                   "message": f"Response type {rtype} not valid for interaction type {state.type}"}]}})
        if rtype == 4 and not (data and (data.get("content") or data.get("embeds") or req.files
                                         or data.get("components") or data.get("poll"))):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        form_errors = interaction_response_problem(rtype, data)  # autocomplete results, modals
        if form_errors:
            raise _ApiError(400, 50035, "Invalid Form Body", form_errors)

        channel_id = int(state.payload["channel_id"])
        message: Optional[JSON] = None
        interaction_info: JSON = {"id": str(state.id), "type": state.type}
        if rtype == 4:
            mtype = _MSG_CHAT_INPUT_COMMAND if state.type == _INTERACTION_APPLICATION_COMMAND else _MSG_DEFAULT
            message = self._new_bot_message(channel_id, data or {}, req.files, interaction=state, message_type=mtype)
            state.original_message_id = int(message["id"])
            await self._publish_bot_message(message)
        elif rtype == 5:
            mtype = _MSG_CHAT_INPUT_COMMAND if state.type == _INTERACTION_APPLICATION_COMMAND else _MSG_DEFAULT
            message = self._new_bot_message(channel_id, data or {}, [], interaction=state, message_type=mtype,
                                            extra_flags=_FLAG_LOADING)
            state.original_message_id = int(message["id"])
            state.original_loading = True
            await self._publish_bot_message(message, visible=False)
            interaction_info["response_message_loading"] = True
        elif rtype == 7:
            target = state.payload.get("message") or {}
            stored = self.messages.get(int(target.get("id", 0) or 0))
            if stored is None:
                raise _ApiError(404, 10008, "Unknown Message")
            message = await self._apply_edit(stored, data or {}, req.files)

        state.responded_type = int(rtype)
        if message is not None:
            interaction_info["response_message_id"] = message["id"]
            interaction_info["response_message_ephemeral"] = bool(message["flags"] & _FLAG_EPHEMERAL)
        self.interaction_responses.append(
            InteractionResponseRecord(state.id, state.type, state.token, int(rtype), copy.deepcopy(data),
                                      list(req.files), copy.deepcopy(message) if message else None, req.record)
        )
        response: JSON = {"interaction": interaction_info}
        if message is not None:
            response["resource"] = {"type": rtype, "message": self._public_message(message)}
        elif rtype in (6, 8, 9):
            response["resource"] = {"type": rtype}
        return 200, response

    async def _r_get_webhook(self, req: _ApiRequest) -> Tuple[int, Any]:
        self._interaction_for_webhook(req)
        return 200, {
            "id": str(self.application_id),
            "type": 3,
            "name": self.bot_user["username"],
            "avatar": None,
            "application_id": str(self.application_id),
            "token": req.params["token"],
        }

    async def _r_followup(self, req: _ApiRequest) -> Tuple[int, Any]:
        state = self._interaction_for_webhook(req)
        if state.responded_type is None:
            raise _ApiError(404, 10015, "Unknown Webhook")
        body = req.json if isinstance(req.json, dict) else {}
        if not (body.get("content") or body.get("embeds") or req.files or body.get("components") or body.get("poll")):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        original_id = state.original_message_id
        if state.original_loading and original_id is not None and original_id in self.messages:
            # Discord: the first follow-up after a deferred response edits the loading message.
            msg = self.messages[original_id]
            msg["flags"] &= ~_FLAG_LOADING
            await self._apply_edit(msg, {**body, "flags": None}, req.files)
            state.original_loading = False
            self.sent_messages.append(msg)
        else:
            msg = self._new_bot_message(int(state.payload["channel_id"]), body, req.files, interaction=state)
            state.followup_ids.append(int(msg["id"]))
            await self._publish_bot_message(msg)
        wait = req.record.query.get("wait", "false").lower() in ("1", "true")
        return (200, self._public_message(msg)) if wait else (204, None)

    def _webhook_message(self, req: _ApiRequest) -> Tuple[_Interaction, JSON]:
        state = self._interaction_for_webhook(req)
        raw_id = req.params.get("message_id", "")
        if raw_id == "@original":
            if state.original_message_id is None:
                raise _ApiError(404, 10008, "Unknown Message")
            mid = state.original_message_id
        else:
            mid = req.int_param("message_id")
            if mid != state.original_message_id and mid not in state.followup_ids:
                raise _ApiError(404, 10008, "Unknown Message")
        msg = self.messages.get(mid)
        if msg is None:
            raise _ApiError(404, 10008, "Unknown Message")
        return state, msg

    async def _r_get_webhook_message(self, req: _ApiRequest) -> Tuple[int, Any]:
        return 200, self._public_message(self._webhook_message(req)[1])

    async def _r_edit_webhook_message(self, req: _ApiRequest) -> Tuple[int, Any]:
        state, msg = self._webhook_message(req)
        body = req.json if isinstance(req.json, dict) else {}
        completing = state.original_loading and int(msg["id"]) == state.original_message_id
        if completing:
            msg["flags"] &= ~_FLAG_LOADING
            state.original_loading = False
        await self._apply_edit(msg, body, req.files)
        if completing:
            self.sent_messages.append(msg)
        return 200, self._public_message(msg)

    async def _r_delete_webhook_message(self, req: _ApiRequest) -> Tuple[int, Any]:
        state, msg = self._webhook_message(req)
        if int(msg["id"]) == state.original_message_id:
            state.original_loading = False
        await self._delete_message(msg)
        return 204, None


# --------------------------------------------------------------------------------------
# Conveniences for test modules
# --------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def discord_test_environment(**server_kwargs: Any) -> AsyncIterator[DiscordTestServer]:
    """Start a server *and* point discord.py at it; restores discord.py on exit.

    Intended as the body of a pytest fixture::

        @pytest.fixture
        async def discord_server():
            async with discord_test_environment(heartbeat_interval_ms=250) as server:
                yield server
    """
    async with DiscordTestServer(**server_kwargs) as server:
        with server.patch_discord():
            yield server


@contextlib.asynccontextmanager
async def running_client(client: Any, token: str, *, ready_timeout: float = 10.0,
                         close_timeout: float = 5.0) -> AsyncIterator["asyncio.Task[None]"]:
    """Run ``client.start(token)`` in a task until ``on_ready``; close it on exit.

    Why: ``client.wait_until_ready()`` can't be awaited before login, and a failing
    ``start`` (bad token, crashing parser) must surface in the test instead of hanging it.
    Yields the task so tests can assert the client is still alive (``not task.done()``).
    """
    task: asyncio.Task[None] = asyncio.create_task(client.start(token), name="discord-client")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_timeout
    try:
        while not client.is_ready():
            if task.done():
                task.result()  # re-raises the client's failure
                raise RuntimeError("client.start() returned before becoming ready")
            if loop.time() > deadline:
                raise asyncio.TimeoutError(f"client not ready after {ready_timeout}s")
            await asyncio.sleep(0.01)
        yield task
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), close_timeout)
        await asyncio.wait({task}, timeout=close_timeout)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=close_timeout)
        if task.done() and not task.cancelled():
            task.exception()  # mark retrieved; tests that care await the task themselves
