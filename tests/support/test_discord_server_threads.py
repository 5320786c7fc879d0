"""The loopback server's threads and forums (tests/support/discord_server/threads.py), driven by a plain
discord.Client: what discord.py sends and learns, apart from the product's bot."""

from __future__ import annotations

import asyncio

import discord

from tests.support.discord_server import (
    CREATE_PUBLIC_THREADS,
    DiscordTestServer,
    GuildSpec,
    PermissionBits,
    add_forum_channel,
    forum_post,
    running_client,
    threads_of,
)

TOKEN = "threads-test-token"


class ThreadClient(discord.Client):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.created: asyncio.Queue[discord.Thread] = asyncio.Queue()
        self.messages: asyncio.Queue[discord.Message] = asyncio.Queue()

    async def on_thread_create(self, thread: discord.Thread) -> None:
        await self.created.put(thread)

    async def on_message(self, message: discord.Message) -> None:
        if not message.author.bot:
            await self.messages.put(message)


async def test_threads_forum_posts_and_missing_permissions() -> None:
    allowed = GuildSpec(name="threads", bot_permissions=PermissionBits.BOT_DEFAULT | CREATE_PUBLIC_THREADS)
    async with DiscordTestServer([allowed, GuildSpec(name="plain")], token=TOKEN, heartbeat_interval_ms=500) as server:
        first, plain = list(server.guilds)
        forum_id = int(add_forum_channel(server, first)["id"])
        with server.patch_discord():
            client = ThreadClient()
            async with running_client(client, TOKEN):
                forum = client.get_channel(forum_id)
                assert isinstance(forum, discord.ForumChannel)

                # A user's forum post: THREAD_CREATE first, then its starter message inside it.
                thread_payload, starter = await forum_post(server, forum_id, "Where is the ISS?", "Asking for a friend")
                created = await asyncio.wait_for(client.created.get(), 5)
                message = await asyncio.wait_for(client.messages.get(), 5)
                assert created.id == int(thread_payload["id"]) == message.id and created.parent_id == forum_id
                assert isinstance(message.channel, discord.Thread) and message.content == "Asking for a friend"

                # A thread on a message: named, id of the message, the bot's own; once only.
                channel = client.get_guild(first).text_channels[0]
                said = server.message_payload("question?", channel_id=channel.id)
                await server.dispatch_message(said)
                msg = await asyncio.wait_for(client.messages.get(), 5)
                thread = await msg.create_thread(name="question?")
                assert thread.id == msg.id and thread.owner_id == client.user.id
                assert client.get_guild(first).get_thread(thread.id) is not None  # learnt from THREAD_CREATE
                sent = await thread.send("in the thread")
                assert server.messages[sent.id]["channel_id"] == str(thread.id)
                try:
                    await msg.create_thread(name="again")
                except discord.HTTPException as exc:
                    assert exc.status == 400 and exc.code == 160004
                else:
                    raise AssertionError("a second thread on one message was accepted")

                # The bot's own forum post: thread and starter message in one request.
                post = await forum.create_thread(name="Bot post", content="hello forum")
                assert post.thread.parent_id == forum_id and post.message.id == post.thread.id
                assert len(threads_of(server)) == 3

                # Without Create Public Threads: 403 Missing Permissions, nothing created.
                other = client.get_guild(plain).text_channels[0]
                said = server.message_payload("another?", channel_id=other.id)
                await server.dispatch_message(said)
                msg = await asyncio.wait_for(client.messages.get(), 5)
                try:
                    await msg.create_thread(name="another?")
                except discord.Forbidden as exc:
                    assert exc.code == 50013
                else:
                    raise AssertionError("a thread was started without the permission")
                assert len(threads_of(server)) == 3
