"""The gateway: websocket connections, sessions (IDENTIFY/RESUME), heartbeats, dispatch.

A session survives reconnects and buffers every dispatch, so a RESUME replays what the
client missed -- which is what makes "drop the socket, the bot keeps working" tests
meaningful.  An unsharded client has one session at a time: the most recently identified (or
resumed) one receives dispatches.  Sharded clients (IDENTIFY with ``shard: [id, count]``) hold
one session per shard id, all live at once, as Discord serves them: each shard is sent READY
and GUILD_CREATE for its guilds only, and every guild event goes to the session of shard
``(guild_id >> 22) % count`` alone, direct messages to shard 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
import uuid
import zlib
from typing import Any

from aiohttp import WSMsgType, web

from .payloads import Payloads
from .protocol import API_VERSION, JSON, TRACE, IntentBits, dumps
from .records import GatewayFrame, HeartbeatRecord, Recorder
from .state import ServerState

_VOICE_AND_LOBBY_OPS = (4, 5, 14, 31)  # accepted, ignored


class GatewayConnection:
    """One websocket connection; owns the per-connection zlib stream.

    Sends are serialised with a lock because the zlib stream is stateful: frames must be
    compressed in exactly the order they are written.
    """

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compression: str | None) -> None:
        self.ws = ws
        self.request = request
        self.compression = compression
        self._zlib = zlib.compressobj() if compression == "zlib-stream" else None
        self.lock = asyncio.Lock()
        self.session: Session | None = None
        self.opened_at = time.monotonic()
        self.closed = False

    async def send_text(self, text: str) -> None:
        async with self.lock:
            if self.closed or self.ws.closed:
                raise ConnectionResetError("gateway connection is closed")
            if self._zlib is not None:
                data = self._zlib.compress(text.encode("utf-8")) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    async def send_json(self, payload: Any) -> None:
        await self.send_text(dumps(payload))

    async def send_bytes_raw(self, data: bytes) -> None:
        """A binary frame *not* run through zlib (tests inject garbage with it)."""
        async with self.lock:
            await self.ws.send_bytes(data)

    @property
    def live(self) -> bool:
        return not self.closed and not self.ws.closed


class Session:
    """A gateway session: survives reconnects, owns the sequence counter and replay buffer."""

    def __init__(self, session_id: str, identify: JSON) -> None:
        self.id = session_id
        self.identify = identify
        self.intents: int = int(identify.get("intents", 0) or 0)
        # (shard id, shard count) from IDENTIFY's ``shard``; None for an unsharded client.
        self.shard: tuple[int, int] | None = parse_shard(identify.get("shard"))
        self.seq = 0
        self.events: list[tuple[int, str]] = []
        self.connection: GatewayConnection | None = None
        self.lock = asyncio.Lock()

    async def dispatch_locked(self, event: str, data: Any) -> int:
        """Assign the next sequence number and send; caller holds ``self.lock``."""
        self.seq += 1
        frame = dumps({"op": 0, "t": event, "s": self.seq, "d": data})
        self.events.append((self.seq, frame))
        conn = self.connection
        if conn is not None:
            try:
                await conn.send_text(frame)
            except (ConnectionResetError, RuntimeError):
                pass  # buffered; a RESUME will replay it
        return self.seq

    async def dispatch(self, event: str, data: Any) -> int:
        async with self.lock:
            return await self.dispatch_locked(event, data)

    def serves(self, guild_id: int | None) -> bool:
        """Whether Discord sends this session the guild's events (DMs: ``guild_id`` None)."""
        return self.shard is None or shard_of(guild_id, self.shard[1]) == self.shard[0]


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """Discord's rule: a guild's events go to shard ``(guild_id >> 22) % shard_count``, DMs to 0."""
    return 0 if guild_id is None else (int(guild_id) >> 22) % shard_count


def parse_shard(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` as ``(id, count)``; None when absent; ValueError when malformed."""
    if value is None:
        return None
    try:
        shard_id, count = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"invalid shard {value!r}") from None
    if count < 1 or not 0 <= shard_id < count:
        raise ValueError(f"invalid shard {value!r}")
    return shard_id, count


def _guild_of(data: Any) -> int | None:
    """The guild an event is about (None: a DM, or no guild named)."""
    gid = data.get("guild_id") if isinstance(data, dict) else None
    try:
        return int(gid) if gid is not None else None
    except (TypeError, ValueError):
        return None


class Gateway:
    """Serves ``/gateway`` and sends events to the current session."""

    def __init__(self, state: ServerState, payloads: Payloads, recorder: Recorder) -> None:
        self.state = state
        self.config = state.config
        self.payloads = payloads
        self.recorder = recorder
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None
        # The newest session of each shard id (sharded clients only); see `session_for`.
        self.shard_sessions: dict[int, Session] = {}
        self.identified: asyncio.Event | None = None

    def start(self) -> None:
        self.identified = asyncio.Event()

    async def close_all(self) -> None:
        """Close every websocket (code 1001, "going away")."""
        for conn in list(self.connections):
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001, message=b"server shutting down"), 1.0)

    # ------------------------------------------------------------------- status ------

    @property
    def session_id(self) -> str | None:
        return self.session.id if self.session else None

    @property
    def sequence(self) -> int:
        """Last sequence number dispatched in the current session (0 if none)."""
        return self.session.seq if self.session else 0

    @property
    def is_connected(self) -> bool:
        """True when the current session has a live websocket."""
        s = self.session
        return bool(s and s.connection and s.connection.live)

    def require_session(self) -> Session:
        if self.session is None:
            raise RuntimeError("no bot has IDENTIFYed on the gateway yet (await server.wait_until_identified())")
        return self.session

    def session_for(self, guild_id: int | None) -> Session:
        """The session Discord sends the guild's events to: the current one for an unsharded
        client, else the session of the guild's shard (DMs: shard 0)."""
        session = self.require_session()
        if session.shard is None:
            return session
        shard_id = shard_of(guild_id, session.shard[1])
        target = self.shard_sessions.get(shard_id)
        if target is None:
            raise RuntimeError(f"shard {shard_id} of {session.shard[1]} has not IDENTIFYed")
        return target

    def wants(self, session: Session, bit: int) -> bool:
        """Whether Discord would send this session events of the intent ``bit``."""
        return (not self.config.enforce_intents) or bool(session.intents & bit)

    # ----------------------------------------------------------------- websocket -----

    async def handle(self, request: web.Request) -> web.StreamResponse:
        requested = request.query.get("compress")
        compression = requested if (self.config.transport_compression and requested == "zlib-stream") else None
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, autoping=True)
        await ws.prepare(request)
        conn = GatewayConnection(ws, request, compression)
        self.connections.append(conn)
        if request.query.get("v", str(API_VERSION)) != str(API_VERSION):
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Error while decoding payload.")
            return ws
        try:
            await conn.send_json(
                {
                    "op": 10,
                    "s": None,
                    "t": None,
                    "d": {"heartbeat_interval": self.config.heartbeat_interval_ms, "_trace": list(TRACE)},
                }
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
                await self._on_payload(conn, payload)
        except (ConnectionResetError, RuntimeError):
            pass
        finally:
            conn.closed = True
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
            await self.recorder.notify()
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        session_id = conn.session.id if conn.session else None
        rec = self.recorder
        rec.gateway_received.append(GatewayFrame(time.monotonic(), op, data, session_id))

        if op == 1:
            rec.heartbeats.append(HeartbeatRecord(time.monotonic(), data, session_id, self.config.ack_heartbeats))
            if self.config.ack_heartbeats:
                await conn.send_json({"op": 11, "s": None, "t": None, "d": None})
            await rec.notify()
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
            rec.presence_updates.append(data)
        elif op == 8:
            await self._on_request_members(data if isinstance(data, dict) else {})
        elif op in _VOICE_AND_LOBBY_OPS:
            pass
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")
        await rec.notify()

    async def _on_identify(self, conn: GatewayConnection, data: JSON) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self.config.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if "intents" not in data:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        try:
            session = Session(uuid.uuid4().hex, data)
        except ValueError:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        self.sessions[session.id] = session
        self.session = session
        if session.shard is not None:
            self.shard_sessions[session.shard[0]] = session
        conn.session = session
        self.recorder.identify_payloads.append(data)
        guild_ids = [gid for gid in self.state.guilds if session.serves(gid)]
        ready = self.payloads.ready_payload(session.id, data, guild_ids=guild_ids)
        dispatched = self.recorder.dispatched
        async with session.lock:
            session.connection = conn
            seq = await session.dispatch_locked("READY", ready)
            dispatched.append((seq, "READY", ready))
            if session.intents & IntentBits.GUILDS or not self.config.enforce_intents:
                for gid in guild_ids:
                    guild_payload = self.payloads.guild_payload(gid, intents=session.intents)
                    seq = await session.dispatch_locked("GUILD_CREATE", guild_payload)
                    dispatched.append((seq, "GUILD_CREATE", guild_payload))
        assert self.identified is not None
        self.identified.set()
        await self.recorder.notify()

    async def _on_resume(self, conn: GatewayConnection, data: JSON) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.config.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if session is None:
            await conn.send_json({"op": 9, "s": None, "t": None, "d": False})
            return
        self.recorder.resume_payloads.append(data)
        client_seq = int(data.get("seq") or 0)
        async with session.lock:
            old = session.connection
            if old is not None and old is not conn:
                old.closed = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(old.ws.close(code=4000), 1.0)
            session.connection = conn
            conn.session = session
            self.session = session
            for seq, frame in session.events:
                if seq > client_seq:
                    await conn.send_text(frame)
            seq = await session.dispatch_locked("RESUMED", {"_trace": list(TRACE)})
            self.recorder.dispatched.append((seq, "RESUMED", {}))
        await self.recorder.notify()

    async def _on_request_members(self, data: JSON) -> None:
        """Answer op 8 with one GUILD_MEMBERS_CHUNK so ``chunk_guilds_at_startup`` completes."""
        try:
            guild = self.state.guilds[int(data["guild_id"])]
        except (KeyError, TypeError, ValueError):
            return
        query = str(data.get("query") or "").lower()
        user_ids = {int(u) for u in data.get("user_ids") or []}
        members = []
        for uid in guild.members:
            user = self.state.users[uid]
            if user_ids and uid not in user_ids:
                continue
            if query and not user["username"].lower().startswith(query):
                continue
            members.append(self.payloads.member_payload(guild.id, uid))
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "presences": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # ------------------------------------------------------------------ dispatch -----

    async def dispatch(self, event: str, data: Any) -> int:
        """Send a DISPATCH (op 0) with the next sequence number; returns that ``s``.

        ``data`` is sent verbatim (garbage welcome).  If the socket is down the event is
        buffered and replayed after RESUME.  No intent filtering is applied here.
        """
        session = self.session_for(_guild_of(data))
        seq = await session.dispatch(event, data)
        self.recorder.dispatched.append((seq, event, data))
        if session.shard is not None:
            self.recorder.shard_dispatched.append((session.shard[0], seq, event, data))
        return seq

    async def dispatch_message(self, payload: JSON) -> int | None:
        """MESSAGE_CREATE, filtered/stripped per intents like Discord.  Returns ``s`` or None."""
        session = self.session_for(_guild_of(payload))
        self.state.store_message(payload)
        is_dm = "guild_id" not in payload
        if not self.wants(session, IntentBits.DIRECT_MESSAGES if is_dm else IntentBits.GUILD_MESSAGES):
            self.recorder.filtered_dispatches.append(("MESSAGE_CREATE", payload))
            return None
        return await self.dispatch("MESSAGE_CREATE", self._content_filtered(session, payload))

    def _content_filtered(self, session: Session, payload: JSON) -> JSON:
        """Without MESSAGE_CONTENT Discord blanks guild messages that do not mention the bot."""
        if self.wants(session, IntentBits.MESSAGE_CONTENT):
            return payload
        bot_id = self.state.bot_user["id"]
        author_id = str((payload.get("author") or {}).get("id"))
        mentioned = any(str(m.get("id")) == bot_id for m in payload.get("mentions") or [])
        if "guild_id" not in payload or author_id == bot_id or mentioned:
            return payload
        stripped = copy.deepcopy(payload)
        stripped.update({"content": "", "embeds": [], "attachments": [], "components": []})
        stripped.pop("poll", None)
        return stripped

    async def dispatch_interaction(self, payload: JSON) -> int:
        """INTERACTION_CREATE; registers the token so callback/webhook routes accept it."""
        self.state.register_interaction(payload)
        return await self.dispatch("INTERACTION_CREATE", payload)

    async def dispatch_reaction_add(self, payload: JSON) -> int | None:
        """MESSAGE_REACTION_ADD (filtered by the reaction intents)."""
        session = self.session_for(_guild_of(payload))
        bit = IntentBits.GUILD_MESSAGE_REACTIONS if "guild_id" in payload else IntentBits.DIRECT_MESSAGE_REACTIONS
        if not self.wants(session, bit):
            self.recorder.filtered_dispatches.append(("MESSAGE_REACTION_ADD", payload))
            return None
        return await self.dispatch("MESSAGE_REACTION_ADD", payload)

    async def dispatch_if_allowed(self, event: str, data: JSON, *, is_dm: bool) -> None:
        """Echo an event for the bot's own REST action when a session exists and its intents
        allow it (the bot's messages, as Discord echoes them)."""
        if self.session is None:
            return
        session = self.session_for(_guild_of(data))
        if self.wants(session, IntentBits.DIRECT_MESSAGES if is_dm else IntentBits.GUILD_MESSAGES):
            await self.dispatch(event, data)

    # ------------------------------------------------------------- misbehaviour ------

    async def send_raw(self, payload: JSON | str | bytes) -> None:
        """Write an arbitrary frame on the current connection (no sequence bookkeeping).

        A ``str``/``bytes`` payload is written as-is (a text frame, or a binary one that
        is *not* run through zlib) -- non-JSON text crashes discord.py's client loop.
        """
        session = self.require_session()
        conn = session.connection
        if conn is None:
            raise RuntimeError("no live gateway connection")
        if isinstance(payload, bytes):
            await conn.send_bytes_raw(payload)
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
        session = self.require_session()
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
        session = self.require_session()
        if not resumable:
            self.sessions.pop(session.id, None)
        await self.send_raw({"op": 9, "d": resumable})

    # ------------------------------------------------------------------- waiting -----

    async def wait_until_identified(self, timeout: float = 10.0) -> None:
        """Wait until a bot IDENTIFYed and READY + all GUILD_CREATEs were sent."""
        assert self.identified is not None, "server not started"
        await asyncio.wait_for(self.identified.wait(), timeout)

    async def wait_for_shards(self, shard_count: int, timeout: float = 30.0) -> dict[int, Session]:
        """Wait until every shard ``0..shard_count-1`` has IDENTIFYed (with that count) and is
        connected; returns the sessions by shard id."""

        def ready() -> dict[int, Session] | None:
            sessions = {i: self.shard_sessions.get(i) for i in range(shard_count)}
            if all(
                s is not None and s.shard == (i, shard_count) and s.connection is not None and s.connection.live
                for i, s in sessions.items()
            ):
                return {i: s for i, s in sessions.items() if s is not None}
            return None

        return await self.recorder.wait_until(ready, timeout, f"{shard_count} shards identified")

    async def wait_for_resume(self, count: int = 1, timeout: float = 10.0) -> JSON:
        """Wait until the ``count``-th RESUME was received and answered; returns its payload."""
        rec = self.recorder
        return await rec.wait_until(
            lambda: rec.resume_payloads[count - 1] if len(rec.resume_payloads) >= count and self.is_connected else None,
            timeout,
            f"RESUME #{count}",
        )

    async def wait_for_identify(self, count: int = 1, timeout: float = 10.0) -> JSON:
        """Wait until the ``count``-th IDENTIFY was answered with READY."""
        rec = self.recorder
        return await rec.wait_until(
            lambda: (
                rec.identify_payloads[count - 1] if len(rec.identify_payloads) >= count and self.is_connected else None
            ),
            timeout,
            f"IDENTIFY #{count}",
        )
