"""Proves ``tests/support/discord_server/`` speaks enough Discord for the real discord.py client.

Every test drives an unmodified ``discord.Client`` (a small throwaway ``ProbeClient``, not
the product bot) against the fake server and asserts on what crossed the wire.  If these
pass, bot tests built on the server exercise genuine discord.py behaviour.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import TypeVar

import discord
import discord.gateway
import discord.http
import pytest
import yarl
from discord import app_commands

from tests.support.discord_server import (
    DiscordTestServer,
    GuildSpec,
    IntentBits,
    PermissionBits,
    discord_test_environment,
    running_client,
)

TOKEN = "probe-token-123"
T = TypeVar("T")
MESSAGES_ROUTE = "/channels/{channel_id}/messages"


class ProbeView(discord.ui.View):
    """A one-button view; the click is pushed to a queue so tests can await it."""

    def __init__(self, clicks: asyncio.Queue[discord.Interaction]) -> None:
        super().__init__(timeout=60)
        self.clicks = clicks

    @discord.ui.button(label="Click me", custom_id="probe:click", style=discord.ButtonStyle.primary)
    async def click(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.clicks.put(interaction)
        await interaction.response.edit_message(content="clicked!", view=None)


class ProbeClient(discord.Client):
    """Minimal bot: replies to ``!ping``; ``/ask`` (defer + follow-up), ``/hello`` (button),
    ``/tags add`` (sub-command; ephemeral defer, edit original, follow-up with a file).

    ``guild_ready_timeout`` is tiny so ``on_ready`` fires right after GUILD_CREATE instead
    of discord.py's default 2 s wait.
    """

    def __init__(
        self, guild_id: int | None, *, message_content: bool = True, members: bool = False, sync: bool = True
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = members
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.guild_id = guild_id
        self.sync_on_setup = sync
        self.tree = app_commands.CommandTree(self)
        self.messages: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.replies: list[discord.Message] = []
        self.clicks: asyncio.Queue[discord.Interaction] = asyncio.Queue()
        self.raw_reactions: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()
        self.ready_fired = asyncio.Event()
        self.resumed_fired = asyncio.Event()
        self._install_commands()

    def _install_commands(self) -> None:
        guild = discord.Object(self.guild_id) if self.guild_id is not None else None
        clicks = self.clicks

        @self.tree.command(name="ask", description="Ask a question", guild=guild)
        @app_commands.describe(question="What to ask")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(f"answer to: {question}")

        @self.tree.command(name="hello", description="Say hello", guild=guild)
        async def hello(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("hello!", view=ProbeView(clicks))

        tags = app_commands.Group(
            name="tags", description="Manage tags", guild_ids=[guild.id] if guild is not None else None
        )

        @tags.command(name="add", description="Add a tag")
        async def add(interaction: discord.Interaction, name: str, count: int, who: discord.Member) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content=f"added {name} x{count} for {who.name}")
            await interaction.followup.send("log attached", file=discord.File(io.BytesIO(b"log"), filename="log.txt"))

        self.tree.add_command(tags)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Skip discord.py's 5 s sleep before a *re*-IDENTIFY (after op 9); pointless locally."""

    async def setup_hook(self) -> None:
        if self.sync_on_setup:
            await self.tree.sync(guild=discord.Object(self.guild_id) if self.guild_id is not None else None)

    async def on_ready(self) -> None:
        self.ready_fired.set()

    async def on_resumed(self) -> None:
        self.resumed_fired.set()

    async def on_message(self, message: discord.Message) -> None:
        author = getattr(message, "author", None)  # malformed test payloads may lack it
        if author is None or author.bot:
            return
        await self.messages.put(message)
        if message.content.endswith("!ping"):
            reply = await message.reply(
                "pong", allowed_mentions=discord.AllowedMentions(everyone=False, replied_user=False)
            )
            self.replies.append(reply)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.raw_reactions.put(payload)


@pytest.fixture
async def server() -> AsyncIterator[DiscordTestServer]:
    """A started server with discord.py pointed at it (originals restored afterwards)."""
    async with discord_test_environment(token=TOKEN, heartbeat_interval_ms=200) as srv:
        yield srv


@pytest.fixture
async def client(server: DiscordTestServer) -> AsyncIterator[ProbeClient]:
    """A connected, ready ProbeClient; closed (and its task reaped) after the test."""
    bot = ProbeClient(server.guild_id)
    async with running_client(bot, TOKEN):
        yield bot


async def next_item(queue: asyncio.Queue[T], timeout: float = 5.0) -> T:
    """Await the next event a ProbeClient handler recorded (fails instead of hanging)."""
    return await asyncio.wait_for(queue.get(), timeout)


# ----------------------------------------------------------------------------- tests --


async def test_patch_discord_points_client_at_server_and_restores() -> None:
    original_base = discord.http.Route.BASE
    original_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordTestServer(token=TOKEN) as srv:
        with srv.patch_discord():
            assert discord.http.Route.BASE == f"http://127.0.0.1:{srv.port}/api/v10" == srv.base_url
            assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == yarl.URL(srv.gateway_url)
            assert isinstance(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY, yarl.URL)
    assert discord.http.Route.BASE == original_base
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == original_gateway


async def test_connect_ready_and_guild_create(server: DiscordTestServer, client: ProbeClient) -> None:
    assert client.ready_fired.is_set()
    await server.wait_until_identified()

    # Login flow: /users/@me, then application_info, then (setup_hook) the command sync.
    assert [r.route_key for r in server.requests[:2]] == [
        "GET /users/@me",
        "GET /oauth2/applications/@me",
    ]
    assert server.unknown_requests == []
    assert all(r.authorized for r in server.requests)
    assert all("Authorization" not in r.headers for r in server.requests)

    assert client.user is not None and client.user.id == server.bot_user_id
    assert client.application_id == server.application_id
    guild = client.get_guild(server.guild_id)
    assert guild is not None and not guild.unavailable
    assert [c.name for c in guild.text_channels] == ["general", "random"]
    assert guild.default_role.id == guild.id
    assert guild.owner_id == int(server.owner_user["id"])
    assert guild.me is not None and guild.me.guild_permissions.send_messages

    identify = server.identify_payloads[0]
    assert identify["token"] == TOKEN
    assert identify["intents"] & IntentBits.MESSAGE_CONTENT
    # discord.py asked for zlib-stream and the server compressed the stream.
    assert server.connections[0].request.query["compress"] == "zlib-stream"
    assert server.connections[0].compression == "zlib-stream"
    seqs = [seq for seq, _, _ in server.dispatched]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [event for _, event, _ in server.dispatched[:2]] == ["READY", "GUILD_CREATE"]


async def test_message_create_reaches_on_message_and_reply_arrives(
    server: DiscordTestServer, client: ProbeClient
) -> None:
    incoming = server.message_payload("!ping")
    await server.dispatch_message(incoming)

    received = await next_item(client.messages)
    assert isinstance(received, discord.Message)
    assert received.content == "!ping" and received.id == int(incoming["id"])
    assert isinstance(received.channel, discord.TextChannel) and received.guild is not None

    sent = await server.wait_for_message(channel_id=server.channel_id)
    assert sent["content"] == "pong"
    assert sent["message_reference"]["message_id"] == incoming["id"]
    assert sent["author"]["id"] == server.bot_user["id"]

    request = await server.wait_for_request(method="POST", route=MESSAGES_ROUTE)
    assert request.json["message_reference"]["message_id"] == int(incoming["id"])
    # discord.py sends replied_user only when True; absent means "don't ping" to Discord.
    assert request.json["allowed_mentions"] == {"parse": ["users", "roles"]}
    assert sent["mentions"] == []

    # discord.py parsed the server's response into a real Message.
    for _ in range(100):
        if client.replies:
            break
        await asyncio.sleep(0.01)
    assert client.replies and client.replies[0].id == int(sent["id"])
    assert client.replies[0].reference is not None
    assert client.replies[0].reference.message_id == received.id
    # The bot's own echoed MESSAGE_CREATE was ignored (no reply loop).
    await asyncio.sleep(0.1)
    assert len(server.sent_messages) == 1


async def test_bot_mention_and_dm_payloads(server: DiscordTestServer, client: ProbeClient) -> None:
    await server.dispatch_message(server.bot_mention_payload("!ping"))
    mentioned = await next_item(client.messages)
    assert isinstance(mentioned, discord.Message)
    assert client.user in mentioned.mentions
    assert mentioned.content == f"<@{server.bot_user_id}> !ping"
    await server.wait_for_message(channel_id=server.channel_id)

    dm = server.dm_message_payload("!ping")
    await server.dispatch_message(dm)
    received = await next_item(client.messages)
    assert isinstance(received, discord.Message)
    assert isinstance(received.channel, discord.DMChannel) and received.guild is None
    reply = await server.wait_for_message(channel_id=int(dm["channel_id"]))
    assert reply["content"] == "pong" and "guild_id" not in reply


async def test_message_content_intent_is_enforced(server: DiscordTestServer) -> None:
    bot = ProbeClient(server.guild_id, message_content=False, sync=False)
    async with running_client(bot, TOKEN):
        await server.dispatch_message(server.message_payload("secret text"))
        plain = await next_item(bot.messages)
        await server.dispatch_message(server.bot_mention_payload("visible text"))
        mentioned = await next_item(bot.messages)
    assert isinstance(plain, discord.Message) and plain.content == ""
    assert isinstance(mentioned, discord.Message) and mentioned.content.endswith("visible text")


async def test_slash_command_sync_defer_and_followup(server: DiscordTestServer, client: ProbeClient) -> None:
    sync = await server.wait_for_request(
        method="PUT", route="/applications/{application_id}/guilds/{guild_id}/commands"
    )
    assert sorted(c["name"] for c in sync.json) == ["ask", "hello", "tags"]
    stored = server.guild_commands[server.guild_id]
    assert all(c["id"] and c["guild_id"] == str(server.guild_id) for c in stored)

    ask = server.slash_command_payload("ask", {"question": "what is BM25?"})
    assert ask["data"]["guild_id"] == str(server.guild_id)  # guild command -> data.guild_id
    assert ask["data"]["options"] == [{"name": "question", "type": 3, "value": "what is BM25?"}]
    await server.dispatch_interaction(ask)

    deferred = await server.wait_for_interaction_response(ask["id"])
    assert deferred.type == 5
    answer = await server.wait_for_message(interaction_id=int(ask["id"]))
    assert answer["content"] == "answer to: what is BM25?"
    assert answer["channel_id"] == str(server.channel_id)
    assert answer["interaction_metadata"]["id"] == ask["id"]
    follow = await server.wait_for_request(method="POST", route="/webhooks/{application_id}/{token}")
    assert follow.json["content"] == "answer to: what is BM25?" and follow.query["wait"] == "1"

    hello = server.slash_command_payload("hello")
    await server.dispatch_interaction(hello)
    response = await server.wait_for_interaction_response(hello["id"])
    assert response.type == 4 and response.data is not None
    assert response.data["content"] == "hello!"
    assert response.data["components"][0]["components"][0]["custom_id"] == "probe:click"
    greeting = await server.wait_for_message(interaction_id=int(hello["id"]))
    assert greeting["content"] == "hello!"


async def test_subcommand_ephemeral_defer_edit_original_and_file_followup(
    server: DiscordTestServer, client: ProbeClient
) -> None:
    await server.wait_for_request(method="PUT", route="/applications/{application_id}/guilds/{guild_id}/commands")
    payload = server.slash_command_payload("tags add", {"name": "bm25", "count": 3, "who": server.default_user})
    # Option types come from the synced definition (count=INTEGER, who=USER + resolved).
    assert payload["data"]["options"][0]["options"] == [
        {"name": "name", "type": 3, "value": "bm25"},
        {"name": "count", "type": 4, "value": 3},
        {"name": "who", "type": 6, "value": server.default_user["id"]},
    ]
    assert server.default_user["id"] in payload["data"]["resolved"]["members"]
    await server.dispatch_interaction(payload)

    deferred = await server.wait_for_interaction_response(payload["id"])
    assert deferred.type == 5 and deferred.data == {"flags": 64}
    original = await server.wait_for_message(interaction_id=int(payload["id"]))
    assert original["content"] == "added bm25 x3 for alice"
    assert original["flags"] & 64  # stays ephemeral
    edit = await server.wait_for_request(
        method="PATCH", route="/webhooks/{application_id}/{token}/messages/{message_id}"
    )
    assert edit.path.endswith("/messages/@original") and "Authorization" not in edit.headers
    followup = await server.wait_for_message(interaction_id=int(payload["id"]))
    assert followup["content"] == "log attached" and followup["id"] != original["id"]
    assert [a["filename"] for a in followup["attachments"]] == ["log.txt"]
    assert [m["id"] for m in server.interaction_messages(payload["id"])] == [original["id"], followup["id"]]


async def test_global_command_needs_no_sync(server: DiscordTestServer) -> None:
    """CommandTree finds commands by name; a global command needs no data.guild_id or sync."""
    bot = ProbeClient(None, sync=False)
    async with running_client(bot, TOKEN):
        payload = server.slash_command_payload("hello")
        assert "guild_id" not in payload["data"]
        await server.dispatch_interaction(payload)
        response = await server.wait_for_interaction_response(payload["id"])
    assert response.type == 4
    assert server.requests_to("PUT", "/applications/{application_id}/commands") == []


async def test_button_click_reaches_view_callback(server: DiscordTestServer, client: ProbeClient) -> None:
    hello = server.slash_command_payload("hello")
    await server.dispatch_interaction(hello)
    message = await server.wait_for_message(interaction_id=int(hello["id"]))

    click = server.component_payload("probe:click", message)
    await server.dispatch_interaction(click)
    interaction = await next_item(client.clicks)
    assert isinstance(interaction, discord.Interaction)
    assert interaction.data is not None and interaction.data.get("custom_id") == "probe:click"
    assert interaction.message is not None and interaction.message.id == int(message["id"])

    update = await server.wait_for_interaction_response(click["id"])
    assert update.type == 7
    assert server.messages[int(message["id"])]["content"] == "clicked!"
    assert server.messages[int(message["id"])]["components"] == []


async def test_heartbeats_are_acked_and_recorded(server: DiscordTestServer, client: ProbeClient) -> None:
    beats = await server.wait_for_heartbeats(5, timeout=3.0)
    assert all(b.acked for b in beats)
    gaps = [b.time - a.time for a, b in zip(beats[1:], beats[2:])]
    assert gaps and all(0.05 < gap < 1.5 for gap in gaps), gaps  # interval is 0.2 s; slack for slow CI
    assert client.latency < 1.0


async def test_malformed_dispatches_do_not_kill_the_connection(server: DiscordTestServer, client: ProbeClient) -> None:
    broken = server.message_payload("no author")
    for key in ("author", "member", "mentions"):
        del broken[key]
    await server.dispatch("MESSAGE_CREATE", broken)
    await server.dispatch("SOMETHING_DISCORD_INVENTED", {"garbage": [1, {"x": None}]})
    await server.dispatch("ANOTHER_UNKNOWN_EVENT", None)
    await server.send_raw({"op": 99, "d": "???"})
    await server.dispatch("MESSAGE_REACTION_ADD", server.reaction_add_payload(12345))

    await server.dispatch_message(server.message_payload("!ping"))
    received = await next_item(client.messages)
    assert isinstance(received, discord.Message) and received.content == "!ping"
    assert (await server.wait_for_message())["content"] == "pong"
    assert server.identify_count == 1 and server.resume_count == 0


async def test_message_create_missing_required_keys_kills_vanilla_discord_py(server: DiscordTestServer) -> None:
    """Documents a discord.py hazard the bot must guard against: parsers are unguarded."""
    bot = ProbeClient(server.guild_id, sync=False)
    async with running_client(bot, TOKEN) as task:
        await server.dispatch("MESSAGE_CREATE", {"id": "1", "garbage": True})
        with pytest.raises(KeyError):
            await asyncio.wait_for(task, 5)


async def test_reaction_add_dispatch(server: DiscordTestServer, client: ProbeClient) -> None:
    message = server.message_payload("react to me")
    await server.dispatch_message(message)
    await next_item(client.messages)
    await server.dispatch_reaction_add(server.reaction_add_payload(message, "\N{THUMBS UP SIGN}"))
    event = await next_item(client.raw_reactions)
    assert isinstance(event, discord.RawReactionActionEvent)
    assert event.message_id == int(message["id"]) and str(event.emoji) == "\N{THUMBS UP SIGN}"
    assert event.member is not None and event.user_id == int(server.default_user["id"])


@pytest.mark.parametrize("abrupt", [False, True], ids=["close-frame", "tcp-abort"])
async def test_dropped_connection_resumes(server: DiscordTestServer, client: ProbeClient, abrupt: bool) -> None:
    session_id = server.session_id
    await server.drop_connection(abrupt=abrupt)
    # Dispatched while the bot is disconnected: must be replayed after RESUME.
    missed = server.message_payload("!ping")
    await server.dispatch_message(missed)

    resume = await server.wait_for_resume()
    assert resume["session_id"] == session_id and resume["token"] == TOKEN
    await asyncio.wait_for(client.resumed_fired.wait(), 5)
    received = await next_item(client.messages)
    assert isinstance(received, discord.Message) and received.id == int(missed["id"])
    assert (await server.wait_for_message())["content"] == "pong"

    await server.dispatch_message(server.message_payload("!ping"))
    assert (await server.wait_for_message())["content"] == "pong"
    assert server.identify_count == 1 and len(server.connections) == 2
    assert client.ws is not None and client.ws.sequence == server.sequence


async def test_reconnect_and_invalid_session_opcodes(server: DiscordTestServer, client: ProbeClient) -> None:
    await server.send_reconnect()  # op 7: client reconnects and RESUMEs
    await server.wait_for_resume(1)
    await server.invalidate_session(resumable=False)  # op 9 false: client must IDENTIFY again
    await server.wait_for_identify(2)
    await server.dispatch_message(server.message_payload("!ping"))
    assert (await server.wait_for_message())["content"] == "pong"


async def test_members_intent_chunks_guild(server: DiscordTestServer) -> None:
    bot = ProbeClient(server.guild_id, members=True, sync=False)
    async with running_client(bot, TOKEN):
        guild = bot.get_guild(server.guild_id)
        assert guild is not None and guild.chunked
        assert {m.name for m in guild.members} == {"citebot", "alice", "guild-owner"}
    assert [f.d["guild_id"] for f in server.gateway_received if f.op == 8] == [server.guild_id]


async def test_rate_limited_create_message_is_retried(server: DiscordTestServer, client: ProbeClient) -> None:
    server.rate_limit_next("POST", MESSAGES_ROUTE, retry_after=0.3)
    await server.dispatch_message(server.message_payload("!ping"))

    sent = await server.wait_for_message(channel_id=server.channel_id)
    assert sent["content"] == "pong"
    attempts = server.requests_to("POST", MESSAGES_ROUTE)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[0].response["retry_after"] == 0.3
    assert attempts[1].time - attempts[0].time >= 0.25
    assert len(server.sent_messages) == 1


async def test_server_error_is_retried(server: DiscordTestServer, client: ProbeClient) -> None:
    server.fail_next("POST", MESSAGES_ROUTE, status=502)
    channel = client.get_channel(server.channel_id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("after a 502")  # discord.py sleeps 1 s, then retries
    assert [a.status for a in server.requests_to("POST", MESSAGES_ROUTE)] == [502, 200]
    assert message.content == "after a 502"


async def test_command_sync_refusals_are_discords(server: DiscordTestServer, client: ProbeClient) -> None:
    """No applications.commands scope -> 403, unknown guild -> 404, no snowflake -> 400 (50035)."""
    async with DiscordTestServer(token=TOKEN, guilds=[GuildSpec(commands_scope=False)]) as unscoped:
        with unscoped.patch_discord():
            bot = ProbeClient(unscoped.guild_id, sync=False)
            await bot.login(TOKEN)
            try:
                with pytest.raises(discord.Forbidden) as forbidden:
                    await bot.tree.sync(guild=discord.Object(unscoped.guild_id))
            finally:
                await bot.close()
    assert (forbidden.value.status, forbidden.value.code, forbidden.value.text) == (403, 50001, "Missing Access")
    with pytest.raises(discord.NotFound) as not_found:
        await client.tree.sync(guild=discord.Object(server.guild_id + 1))
    assert (not_found.value.code, not_found.value.text) == (10004, "Unknown Guild")
    with pytest.raises(app_commands.CommandSyncFailure) as bad:
        await client.tree.sync(guild=discord.Object(2**63))
    assert bad.value.status == 400 and bad.value.code == 50035 and "guild_id" in bad.value.text
    assert len(server.guild_commands[server.guild_id]) == 3  # the setup_hook's sync, untouched


async def test_held_request_waits_for_release(server: DiscordTestServer, client: ProbeClient) -> None:
    hold = server.hold_next("POST", "/channels/{channel_id}/typing")
    channel = client.get_channel(server.channel_id)
    assert isinstance(channel, discord.TextChannel)
    typing = asyncio.create_task(channel.typing().wrapped_typer())
    await asyncio.wait_for(hold.arrived.wait(), 5)
    assert [r.path for r in hold.requests] == [f"/channels/{server.channel_id}/typing"]
    await asyncio.sleep(0.05)
    assert not typing.done() and server.typing_channels == []
    hold.release()
    await asyncio.wait_for(typing, 5)
    assert server.typing_channels == [server.channel_id]
    await channel.typing().wrapped_typer()  # the hold was for one request only
    assert server.typing_channels == [server.channel_id] * 2


async def test_multipart_upload_is_recorded(server: DiscordTestServer, client: ProbeClient) -> None:
    channel = client.get_channel(server.channel_id)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="Sources", description="[1] doc.txt")
    message = await channel.send(
        "see attached", embed=embed, file=discord.File(io.BytesIO(b"citation body"), filename="cite.txt")
    )
    request = await server.wait_for_request(method="POST", route=MESSAGES_ROUTE)
    assert request.json["content"] == "see attached"
    assert request.json["embeds"][0]["title"] == "Sources"
    assert [(f.field, f.filename, f.data) for f in request.files] == [("files[0]", "cite.txt", b"citation body")]
    assert message.attachments[0].filename == "cite.txt"
    assert await message.attachments[0].read() == b"citation body"
    assert message.embeds[0].title == "Sources"


async def test_typing_edit_delete_and_fetch(server: DiscordTestServer, client: ProbeClient) -> None:
    channel = client.get_channel(server.channel_id)
    assert isinstance(channel, discord.TextChannel)
    async with channel.typing():
        message = await channel.send("draft")
    assert server.typing_channels == [server.channel_id]
    edited = await message.edit(content="final")
    assert edited.content == "final" and server.message_edits[-1]["content"] == "final"
    fetched = await channel.fetch_message(message.id)
    assert fetched.content == "final"
    assert (await client.fetch_channel(server.channel_id)).id == server.channel_id
    member = await channel.guild.fetch_member(int(server.default_user["id"]))
    assert member.name == "alice"
    await message.delete()
    assert server.deleted_messages == [(server.channel_id, message.id)]
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(message.id)


async def test_wrong_token_is_rejected(server: DiscordTestServer) -> None:
    bot = ProbeClient(server.guild_id, sync=False)
    with pytest.raises(discord.LoginFailure):
        await bot.login("not-the-token")
    await bot.close()
    assert server.requests[-1].status == 401 and not server.requests[-1].authorized


async def test_unknown_routes_are_404_and_recorded(server: DiscordTestServer, client: ProbeClient) -> None:
    with pytest.raises(discord.NotFound) as excinfo:
        await client.http.request(discord.http.Route("GET", "/definitely/not/a/route"))
    assert excinfo.value.status == 404
    assert [r.path for r in server.unknown_requests] == ["/definitely/not/a/route"]
    assert server.unknown_requests[0].response == {"message": "404: Not Found", "code": 0}


async def test_slash_payload_member_permissions(server: DiscordTestServer) -> None:
    """Payload-only checks: permission strings and DM shape the tree relies on."""
    member_payload = server.slash_command_payload("ask", {"question": "q"})
    assert int(member_payload["member"]["permissions"]) & PermissionBits.SEND_MESSAGES
    assert not int(member_payload["member"]["permissions"]) & PermissionBits.ADMINISTRATOR
    owner_payload = server.slash_command_payload("ask", {"question": "q"}, user=server.owner_user)
    assert int(owner_payload["member"]["permissions"]) == PermissionBits.ALL
    custom = server.slash_command_payload("ask", {"question": "q"}, permissions=0)
    assert custom["member"]["permissions"] == "0"
    dm = server.slash_command_payload("ask", {"question": "q"}, guild_id=None)
    assert "member" not in dm and dm["user"]["id"] == server.default_user["id"]
    assert dm["channel"]["type"] == 1 and dm["context"] == 1
