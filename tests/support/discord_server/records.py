"""What the server records, and waiting for it.

Tests assert on the wire: every request, every message the bot made visible, every gateway
frame.  `Recorder` owns those lists and the condition that wakes ``wait_for_*`` callers
whenever something is recorded, so no part of the server polls.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .protocol import JSON, T, as_id


@dataclass
class RecordedFile:
    """One uploaded file from a multipart request (``files[n]`` form field)."""

    field: str
    filename: str
    content_type: str | None
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
    route: str | None
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    form: dict[str, str]
    headers: dict[str, str]
    authorized: bool
    time: float
    wall_time: float
    status: int = 0
    response: Any = None
    fault: str | None = None
    # The client's (host, port): which process sent it, when several share the server.
    peer: tuple[str, int] | None = None

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
    requests: list[RecordedRequest] = field(default_factory=list)

    def release(self) -> None:
        """Let every held request (and any later match) through."""
        self.released.set()


@dataclass
class HeartbeatRecord:
    """A heartbeat (op 1) received from the client; ``seq`` is the client's last sequence."""

    time: float
    seq: int | None
    session_id: str | None
    acked: bool


@dataclass
class GatewayFrame:
    """Any payload the client sent over the gateway websocket."""

    time: float
    op: int | None
    d: Any
    session_id: str | None


@dataclass
class InteractionResponseRecord:
    """One ``POST /interactions/{id}/{token}/callback`` accepted by the server.

    ``message`` is the message created (type 4/5) or updated (type 7), if any.
    """

    interaction_id: int
    interaction_type: int
    token: str
    type: int
    data: JSON | None
    files: list[RecordedFile]
    message: JSON | None
    request: RecordedRequest


class Recorder:
    """Every recording list the tests read, plus the condition ``wait_for_*`` sleeps on.

    ``start()`` creates the condition inside the running loop; waiting before the server
    started is a test bug and asserts.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.sent_messages: list[JSON] = []
        self.message_edits: list[JSON] = []
        self.deleted_messages: list[tuple[int, int]] = []
        self.interaction_responses: list[InteractionResponseRecord] = []
        self.reactions_added: list[tuple[int, int, str]] = []
        self.typing_channels: list[int] = []
        self.heartbeats: list[HeartbeatRecord] = []
        self.gateway_received: list[GatewayFrame] = []
        self.identify_payloads: list[JSON] = []
        self.resume_payloads: list[JSON] = []
        self.presence_updates: list[Any] = []
        self.dispatched: list[tuple[int, str, Any]] = []
        # What went to sharded sessions, with the shard id: (shard, seq, event, data).
        self.shard_dispatched: list[tuple[int, int, str, Any]] = []
        self.filtered_dispatches: list[tuple[str, Any]] = []
        self.consumed_message_ids: set[int] = set()
        self.changed: asyncio.Condition | None = None

    def start(self) -> None:
        self.changed = asyncio.Condition()

    async def notify(self) -> None:
        """Wake every waiter so it re-evaluates its check."""
        assert self.changed is not None
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """Re-evaluate ``check`` whenever something is recorded; return its first non-None."""
        assert self.changed is not None, "server not started"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self.changed:
            while True:
                result = check()
                if result is not None:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), remaining)

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 5.0,
        *,
        method: str | None = None,
        route: str | None = None,
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

        def check() -> RecordedRequest | None:
            return next((r for r in self.requests[after:] if matches(r)), None)

        return await self.wait_until(check, timeout, f"request method={method} route={route}")

    async def wait_for_message(
        self,
        channel_id: int | None = None,
        *,
        predicate: Callable[[JSON], bool] | None = None,
        interaction_id: int | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Oldest not-yet-returned message the bot made visible, optionally filtered.

        Consuming (see the package docstring).  Returns the full Discord message object as
        the server stored it (``content``, ``embeds``, ``components``, ``flags``,
        ``message_reference``, ``attachments`` ...).
        """

        def matches(m: JSON) -> bool:
            if int(m["id"]) in self.consumed_message_ids:
                return False
            if channel_id is not None and int(m["channel_id"]) != int(channel_id):
                return False
            if interaction_id is not None:
                meta = m.get("interaction_metadata") or {}
                if str(meta.get("id")) != str(interaction_id):
                    return False
            return predicate is None or predicate(m)

        def check() -> JSON | None:
            found = next((m for m in self.sent_messages if matches(m)), None)
            if found is not None:
                self.consumed_message_ids.add(int(found["id"]))
            return found

        return await self.wait_until(check, timeout, f"a bot message (channel_id={channel_id})")

    async def wait_for_interaction_response(
        self,
        interaction_id: Any | None = None,
        *,
        type: int | None = None,
        timeout: float = 5.0,
    ) -> InteractionResponseRecord:
        """The callback the bot made for an interaction (payload or id); non-consuming."""
        iid = as_id(interaction_id) if interaction_id is not None else None

        def check() -> InteractionResponseRecord | None:
            for rec in self.interaction_responses:
                if (iid is None or rec.interaction_id == iid) and (type is None or rec.type == type):
                    return rec
            return None

        return await self.wait_until(check, timeout, f"interaction response for {iid}")

    async def wait_for_heartbeats(self, count: int, timeout: float = 5.0) -> list[HeartbeatRecord]:
        """Wait until at least ``count`` heartbeats were received in total."""
        return await self.wait_until(
            lambda: list(self.heartbeats) if len(self.heartbeats) >= count else None, timeout, f"{count} heartbeats"
        )

    def requests_to(self, method: str, route: str) -> list[RecordedRequest]:
        """All recorded requests for ``METHOD`` + template or concrete path."""
        return [r for r in self.requests if r.method == method.upper() and route in (r.route, r.path)]

    @property
    def request_count(self) -> int:
        """Current number of recorded requests; use as ``after=`` cursor."""
        return len(self.requests)

    @property
    def identify_count(self) -> int:
        return len(self.identify_payloads)

    @property
    def resume_count(self) -> int:
        return len(self.resume_payloads)
