"""The loopback server shards as Discord does: ``GET /gateway/bot`` recommends a count, each
IDENTIFY with ``shard: [id, count]`` gets READY and GUILD_CREATE for its shard's guilds only,
and each guild's events (and the bot's echoed messages) go to that shard's session alone, DMs
to shard 0. Driven by discord.py's own ``AutoShardedClient``, never the product bot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from tests.support.discord_server import DiscordTestServer, discord_test_environment, running_client
from tests.support.shards import guilds_over_shards, shard_of

TOKEN = "shard-probe-token"


class ShardProbe(discord.AutoShardedClient):
    """Records each message it is sent with the shard it came in on; replies to "!ping"."""

    def __init__(self, shard_count: int | None, shard_ids: list[int] | None) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(intents=intents, guild_ready_timeout=0.05, shard_count=shard_count, shard_ids=shard_ids)
        self.seen: asyncio.Queue[tuple[int | None, discord.Message]] = asyncio.Queue()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s pause between this process's shards: the loopback server has no IDENTIFY limit."""

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        shard = message.guild.shard_id if message.guild is not None else None
        await self.seen.put((shard, message))
        if message.content.endswith("!ping"):
            await message.channel.send("pong")


@pytest.fixture
async def server() -> AsyncIterator[DiscordTestServer]:
    async with discord_test_environment(
        token=TOKEN, heartbeat_interval_ms=250, guilds=guilds_over_shards(2, 2), shards=2
    ) as srv:
        yield srv


@contextlib.asynccontextmanager
async def probes(*shard_sets: list[int]) -> AsyncIterator[list[ShardProbe]]:
    """One client per shard set, each started (on its own shards of 2) until ready."""
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for ids in shard_sets:
            client = ShardProbe(2, ids)
            await stack.enter_async_context(running_client(client, TOKEN, ready_timeout=20))
            clients.append(client)
        yield clients


async def test_gateway_bot_recommends_the_configured_shard_count(server: DiscordTestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base_url}/gateway/bot", headers={"Authorization": f"Bot {TOKEN}"}) as resp:
            body = await resp.json()
    assert resp.status == 200
    assert body["shards"] == 2 and body["url"] == server.gateway_url
    assert set(body["session_start_limit"]) == {"total", "remaining", "reset_after", "max_concurrency"}


async def test_each_shard_is_given_its_own_guilds_only(server: DiscordTestServer) -> None:
    async with probes([0], [1]) as (zero, one):
        await server.wait_for_shards(2)
        for client, shard in ((zero, 0), (one, 1)):
            expected = {gid for gid in server.guilds if shard_of(gid, 2) == shard}
            assert {g.id for g in client.guilds} == expected and len(expected) == 2
        identified = sorted(tuple(p["shard"]) for p in server.identify_payloads)
        assert identified == [(0, 2), (1, 2)]


async def test_a_guild_message_reaches_its_shard_alone_and_dms_go_to_shard_0(server: DiscordTestServer) -> None:
    async with probes([0], [1]) as clients:
        await server.wait_for_shards(2)
        for gid, guild in server.guilds.items():
            channel = guild.channel_ids[0]
            await server.dispatch_message(server.message_payload(f"hello {gid} !ping", channel_id=channel))
            shard = shard_of(gid, 2)
            got_shard, message = await asyncio.wait_for(clients[shard].seen.get(), 10)
            assert (got_shard, message.guild.id, message.content) == (shard, gid, f"hello {gid} !ping")
            reply = await server.wait_for_message(channel, timeout=10)
            assert reply["content"] == "pong"
        await server.dispatch_message(server.dm_message_payload("a direct message"))
        got_shard, message = await asyncio.wait_for(clients[0].seen.get(), 10)
        assert got_shard is None and message.guild is None and message.content == "a direct message"
        # Nothing reached the other client: every queue is empty now.
        assert clients[0].seen.empty() and clients[1].seen.empty()
        by_shard = {
            (shard, data.get("guild_id"))
            for shard, _, event, data in server.shard_dispatched
            if event == "MESSAGE_CREATE"
        }
        assert all(gid is None and shard == 0 or shard == shard_of(int(gid), 2) for shard, gid in by_shard)


async def test_auto_takes_the_recommended_count(server: DiscordTestServer) -> None:
    client = ShardProbe(None, None)
    async with running_client(client, TOKEN, ready_timeout=20):
        await server.wait_for_shards(2)
        assert client.shard_count == 2 and sorted(client.shards) == [0, 1]
        assert {g.id for g in client.guilds} == set(server.guilds)
        assert any(r.route == "/gateway/bot" for r in server.requests)


async def test_an_invalid_shard_is_refused_with_4010(server: DiscordTestServer) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{server.gateway_url}?v=10&encoding=json") as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}, "shard": [2, 2]}})
        closed = await ws.receive()
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 4010
