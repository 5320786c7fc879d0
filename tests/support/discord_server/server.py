"""`DiscordTestServer`: the facade tests use, wiring the parts together.

It owns no behaviour of its own.  The state, the gateway, the payload builders, the REST
pipeline and the routers each do one job; the facade builds them around one `ServerState`,
starts the HTTP server, and exposes their public methods and attributes under the names
tests have always used (``server.wait_for_message``, ``server.messages`` ...), each one a
`_Forward` to the part that implements it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from aiohttp import web

from .bot_messages import BotMessages
from .gateway import Gateway
from .interaction_payloads import InteractionPayloads
from .payloads import Payloads
from .records import Recorder
from .rest import FaultPlan, RestPipeline
from .routes import route_table
from .state import GuildSpec, ServerConfig, ServerState


class _Forward:
    """An attribute or method of the facade that lives on one of its parts (read and write)."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.part), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(getattr(obj, self.part), self.name, value)

    def __repr__(self) -> str:
        return f"<forwarded to .{self.part}.{self.name}>"


class DiscordTestServer:
    """In-process Discord API v10 + gateway for tests.  See the package docstring.

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
    shards:
        The shard count ``GET /gateway/bot`` recommends (what an AutoShardedClient without a
        ``shard_count`` runs).  Clients that IDENTIFY with ``shard: [id, count]`` get their
        shard's guilds only, whatever this says.

    The parts, for tests and extensions that need them: ``config`` (`ServerConfig`),
    ``state`` (`ServerState`), ``recorder`` (`Recorder`), ``payloads`` (`Payloads`),
    ``interaction_payloads`` (`InteractionPayloads`), ``gateway`` (`Gateway`),
    ``bot_messages`` (`BotMessages`), ``faults`` (`FaultPlan`), ``rest`` (`RestPipeline`).
    """

    def __init__(
        self,
        guilds: Sequence[GuildSpec | str] | None = None,
        *,
        token: str = "test-bot-token",
        heartbeat_interval_ms: int = 41250,
        bot_name: str = "citebot",
        application_id: int | None = None,
        bot_user_id: int | None = None,
        echo_bot_messages: bool = True,
        enforce_intents: bool = True,
        ack_heartbeats: bool = True,
        transport_compression: bool = True,
        host: str = "127.0.0.1",
        shards: int = 1,
    ) -> None:
        self.config = ServerConfig(
            token=token,
            heartbeat_interval_ms=heartbeat_interval_ms,
            echo_bot_messages=echo_bot_messages,
            enforce_intents=enforce_intents,
            ack_heartbeats=ack_heartbeats,
            transport_compression=transport_compression,
            host=host,
            shards=shards,
        )
        self.state = ServerState.create(
            self.config, guilds, bot_name=bot_name, application_id=application_id, bot_user_id=bot_user_id
        )
        self.recorder = Recorder()
        self.payloads = Payloads(self.state)
        self.interaction_payloads = InteractionPayloads(self.state, self.payloads)
        self.gateway = Gateway(self.state, self.payloads, self.recorder)
        self.bot_messages = BotMessages(self.state, self.payloads, self.gateway, self.recorder)
        self.faults = FaultPlan()
        self.rest = RestPipeline(self.state, self.recorder, self.faults)
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle ----

    async def start(self) -> DiscordTestServer:
        """Bind to an ephemeral port and start serving."""
        self.recorder.start()
        self.gateway.start()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        self.rest.mount(app, route_table(self.state, self.payloads, self.bot_messages, self.recorder, self.gateway))
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, 0)
        await site.start()
        self.config.bound_port = int(self._runner.addresses[0][1])  # port 0 -> the kernel picked one
        return self

    async def stop(self) -> None:
        """Close every websocket (code 1001, "going away") and shut the HTTP server down."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordTestServer:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

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

    # --------------------------------------------------- configuration (ServerConfig) ----
    token = _Forward("config")
    heartbeat_interval_ms = _Forward("config")
    echo_bot_messages = _Forward("config")
    enforce_intents = _Forward("config")
    ack_heartbeats = _Forward("config")
    transport_compression = _Forward("config")
    host = _Forward("config")
    shards = _Forward("config")
    port = _Forward("config")
    http_url = _Forward("config")
    base_url = _Forward("config")
    gateway_url = _Forward("config")

    # ------------------------------------------------------------ world (ServerState) ----
    application_id = _Forward("state")
    bot_user = _Forward("state")
    bot_user_id = _Forward("state")
    owner_user = _Forward("state")
    default_user = _Forward("state")
    users = _Forward("state")
    guilds = _Forward("state")
    channels = _Forward("state")
    messages = _Forward("state")
    threads = _Forward("state")
    global_commands = _Forward("state")
    guild_commands = _Forward("state")
    guild_id = _Forward("state")
    channel_id = _Forward("state")
    make_user = _Forward("state")
    add_text_channel = _Forward("state")
    dm_channel = _Forward("state")
    guild_of_channel = _Forward("state")
    permissions_for = _Forward("state")
    interaction_messages = _Forward("state")

    # ------------------------------------------------------- payload builders ----------
    member_payload = _Forward("payloads")
    guild_payload = _Forward("payloads")
    application_payload = _Forward("payloads")
    message_payload = _Forward("payloads")
    bot_mention_payload = _Forward("payloads")
    dm_message_payload = _Forward("payloads")
    reaction_add_payload = _Forward("payloads")
    slash_command_payload = _Forward("interaction_payloads")
    component_payload = _Forward("interaction_payloads")

    # ---------------------------------------------------------------- gateway -----------
    connections = _Forward("gateway")
    session_id = _Forward("gateway")
    sequence = _Forward("gateway")
    is_connected = _Forward("gateway")
    dispatch = _Forward("gateway")
    dispatch_message = _Forward("gateway")
    dispatch_interaction = _Forward("gateway")
    dispatch_reaction_add = _Forward("gateway")
    send_raw = _Forward("gateway")
    drop_connection = _Forward("gateway")
    send_reconnect = _Forward("gateway")
    invalidate_session = _Forward("gateway")
    wait_until_identified = _Forward("gateway")
    wait_for_resume = _Forward("gateway")
    wait_for_identify = _Forward("gateway")
    wait_for_shards = _Forward("gateway")
    session_for = _Forward("gateway")
    shard_sessions = _Forward("gateway")

    # -------------------------------------------------------- recordings (Recorder) ----
    requests = _Forward("recorder")
    unknown_requests = _Forward("recorder")
    sent_messages = _Forward("recorder")
    message_edits = _Forward("recorder")
    deleted_messages = _Forward("recorder")
    interaction_responses = _Forward("recorder")
    reactions_added = _Forward("recorder")
    typing_channels = _Forward("recorder")
    heartbeats = _Forward("recorder")
    gateway_received = _Forward("recorder")
    identify_payloads = _Forward("recorder")
    resume_payloads = _Forward("recorder")
    presence_updates = _Forward("recorder")
    dispatched = _Forward("recorder")
    shard_dispatched = _Forward("recorder")
    filtered_dispatches = _Forward("recorder")
    request_count = _Forward("recorder")
    identify_count = _Forward("recorder")
    resume_count = _Forward("recorder")
    wait_for_request = _Forward("recorder")
    wait_for_message = _Forward("recorder")
    wait_for_interaction_response = _Forward("recorder")
    wait_for_heartbeats = _Forward("recorder")
    requests_to = _Forward("recorder")

    # ------------------------------------------------------- fault injection -----------
    fail_next = _Forward("faults")
    rate_limit_next = _Forward("faults")
    hold_next = _Forward("faults")


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
async def running_client(
    client: Any, token: str, *, ready_timeout: float = 10.0, close_timeout: float = 5.0
) -> AsyncIterator[asyncio.Task[None]]:
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
                raise TimeoutError(f"client not ready after {ready_timeout}s")
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
