"""The Discord bot: a thin commands.Bot that owns nothing it did not create.

`build_bot` takes the settings, the live index and the question log as arguments; whoever
calls it (the runner, or a test) opens and closes them. The Bot adds what discord.py leaves to
us: safe defaults (no pings, no prefix commands), a guard so a malformed gateway event cannot
kill the connection, one error funnel, command sync (whose failure costs the slash commands,
never the bot), a stop that lets the answers in flight finish, and the hot-reload poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import Callable, Iterator
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from ..collections_config import DEFAULT_COLLECTION
from ..live_index import LiveIndex
from ..settings import DiscordSettings, Settings
from ..state.store import StateStore
from .cooldown import cooldown_for
from .live_collections import LiveCollections
from .refresh import RefreshLoop
from .render import APOLOGY
from .sharding import is_sharded

log = logging.getLogger(__name__)

EXTENSIONS = (
    "citebot.bot.discord.cogs.questions",
    "citebot.bot.discord.cogs.admin",
    "citebot.bot.discord.cogs.feedback",
    "citebot.bot.discord.cogs.gaps",
)
NO_MENTIONS = discord.AllowedMentions.none()
# The gateway events that carry new questions (mentions, answer-channel messages, DMs, slash
# commands, button clicks): while the bot stops they are dropped before discord.py parses them.
QUESTION_EVENTS = ("MESSAGE_CREATE", "INTERACTION_CREATE")
STOP_GRACE_SECONDS = 10.0


def bot_intents(settings: Settings) -> discord.Intents:
    """Only what we use. Message content is privileged: asked for only when answer channels
    are configured, since mentions and DMs carry their content without it."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = settings.discord.answer_dms
    # Follow-ups in threads and forum posts are read without a mention, too.
    intents.message_content = bool(
        settings.discord.answer_channels or settings.discord.answer_forums or settings.discord.reply_in_thread
    )
    return intents


class CitebotBot(commands.Bot):
    """commands.Bot with citebot's resources attached (`settings`, `live`, `qlog`, `cooldown`,
    `collections`: every collection's live index, `live` being the default's)."""

    def __init__(
        self,
        settings: Settings,
        live: LiveIndex,
        qlog: StateStore,
        *,
        sync_global: bool = False,
        guild_ready_timeout: float = 2.0,
        collections: LiveCollections | None = None,
        **client_options: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=bot_intents(settings),
            allowed_mentions=NO_MENTIONS,
            owner_ids=set(settings.discord.owner_ids) or None,
            guild_ready_timeout=guild_ready_timeout,
            **client_options,
        )
        self.settings = settings
        self.live = live
        self.collections = collections or LiveCollections.single(settings, live)
        self.qlog = qlog
        self.sync_global = sync_global
        self.cooldown = cooldown_for(qlog, settings.discord.cooldown_questions, settings.discord.cooldown_seconds)
        self._reload_task: asyncio.Task[None] | None = None
        # One per collection, held by /reindex and by that collection's refresh: never two
        # rebuilds of one index from this bot at once (collections rebuild on their own).
        self._reindex_locks: dict[str, asyncio.Lock] = {}
        # corpus.refresh_minutes > 0: one refresh loop per collection (bot/refresh.py).
        self.refreshers: dict[str, RefreshLoop] = {}
        self._refresh_tasks: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[object]] = set()
        self._stopping = False
        self.tree.error(self.on_app_command_error)  # (the tree's error handler, as @tree.error sets it)
        self._guard_gateway_parsers()

    # ------------------------------------------------------------------ start-up -------

    async def setup_hook(self) -> None:
        for name in EXTENSIONS:
            await self.load_extension(name)
        await self.sync_commands()
        self._reload_task = asyncio.create_task(self._watch_index(), name="citebot-reload")
        if self.settings.refresh_minutes > 0:
            for name in self.collections.names:
                loop = RefreshLoop(
                    self.collections.settings_for(name),
                    self.collections.live(name),
                    self.reindex_lock_for(name),
                    self.settings.refresh_minutes * 60,
                )
                self.refreshers[name] = loop
                self._refresh_tasks.append(asyncio.create_task(loop.run_forever(), name=f"citebot-refresh-{name}"))
        # Everything loaded so far (modules, the index's arrays, discord.py's state) lives as long
        # as the process: moving it out of the collector's reach keeps full collections from
        # pausing the event loop for tens of milliseconds while questions wait.
        gc.collect()
        gc.freeze()

    async def sync_commands(self) -> None:
        """Sync to the dev guild when configured (instant); globally only when asked to.

        Slash commands are optional: when Discord refuses a sync (a bot invited without the
        `applications.commands` scope, a wrong discord.dev_guild, definitions it rejects), this
        says once what to do and returns, so mentions and answer channels are still answered."""
        guild_id = self.settings.discord.dev_guild
        if guild_id:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.HTTPException as exc:
                log.warning("%s", sync_failure_advice(exc, guild_id))
            else:
                log.info("synced %d commands to guild %d", len(synced), guild_id)
        if self.sync_global:
            try:
                synced = await self.tree.sync()
            except discord.HTTPException as exc:
                log.warning("%s", sync_failure_advice(exc, None))
            else:
                log.info("synced %d commands globally", len(synced))
        if not guild_id and not self.sync_global:
            log.info("slash commands not synced (no discord.dev_guild; run with --sync-global to publish them)")

    def shards_run(self) -> tuple[tuple[int, ...], int | None]:
        """This process's shard ids and the count of all shards: none when unsharded."""
        return (), None

    def reindex_lock_for(self, collection: str) -> asyncio.Lock:
        """The lock /reindex and the scheduled refresh of `collection` share."""
        return self._reindex_locks.setdefault(collection, asyncio.Lock())

    @property
    def reindex_lock(self) -> asyncio.Lock:
        """The default collection's reindex lock."""
        return self.reindex_lock_for(DEFAULT_COLLECTION)

    @property
    def refresher(self) -> RefreshLoop | None:
        """The default collection's refresh loop (None: corpus.refresh_minutes is 0)."""
        return self.refreshers.get(DEFAULT_COLLECTION)

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Mark the current task as answering, so `close()` lets it finish first."""
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._busy.discard(task)

    async def close(self) -> None:
        """Stop taking new questions, let those being answered finish (up to
        STOP_GRACE_SECONDS), then disconnect. Safe to call more than once."""
        loop = asyncio.get_running_loop()
        if not self._stopping:
            self._stopping = True
            log.info("stopping: no new questions are taken; %d being answered", len(self._in_flight()))
        deadline = loop.time() + STOP_GRACE_SECONDS
        while pending := self._in_flight():
            left = deadline - loop.time()
            if left <= 0:
                log.warning("stopping with %d answer(s) unfinished after %g s", len(pending), STOP_GRACE_SECONDS)
                break
            await asyncio.wait(pending, timeout=left)
        for task in (self._reload_task, *self._refresh_tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        await super().close()

    def _in_flight(self) -> list[asyncio.Task[object]]:
        current = asyncio.current_task()
        return [t for t in self._busy if t is not current and not t.done()]

    # ------------------------------------------------------------------ hot reload -----

    async def _watch_index(self) -> None:
        """Poll the index file; swap in a new one within `reload_check_seconds` of a reindex."""
        every = self.settings.discord.reload_check_seconds
        while True:
            await asyncio.sleep(every)
            try:
                await self.collections.reload_if_changed()
            except Exception:
                log.exception("checking the index for changes failed; will try again")

    # ------------------------------------------------------------------ safety ---------

    def _guard_gateway_parsers(self) -> None:
        """discord.py's gateway parsers are unguarded: one event missing a key raises out of
        the connection and stops the bot. Wrap each so a bad event is logged and skipped."""
        parsers: dict[str, Callable[[Any], None]] = self._connection.parsers
        for event, parser in list(parsers.items()):
            if event in QUESTION_EVENTS:
                parser = self._unless_stopping(event, parser)
            parsers[event] = _guarded(event, parser)

    def _unless_stopping(self, event: str, parser: Callable[[Any], None]) -> Callable[[Any], None]:
        """While stopping, a new question is dropped at the door: an answer begun now would be
        cut off when the connection closes, and the question log is about to close."""

        @functools.wraps(parser)
        def parse(data: Any) -> None:
            if self._stopping:
                if not _written_by(data, self.user):  # its own echoed replies are ignored anyway
                    log.info("stopping: a %s event was not handled (no new questions are taken)", event)
                return
            parser(data)

        return parse

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions are handled by the questions cog's listener."""

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """The funnel for event handlers: traceback to the log, an apology to the asker."""
        log.exception("unhandled error in %s", event_method)
        message = next((a for a in args if isinstance(a, discord.Message)), None)
        if message is not None and not message.author.bot:
            with contextlib.suppress(discord.HTTPException):
                await message.reply(APOLOGY, allowed_mentions=NO_MENTIONS, mention_author=False)

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """The funnel for slash commands: checks answer politely, anything else apologises."""
        if isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You cannot use this command here."
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("error in /%s", command, exc_info=error)
            text = APOLOGY
        await send_interaction(interaction, text, ephemeral=True)


class ShardedCitebotBot(CitebotBot, commands.AutoShardedBot):
    """CitebotBot on discord.py's AutoShardedBot: one gateway connection per shard this process
    runs (discord.shard_ids of discord.shard_count, or every shard Discord recommends for
    "auto"). Discord sends each guild's events to one shard only, so several processes, each with
    its own shard ids and one shared log.state_url, answer every guild exactly once."""

    def shards_run(self) -> tuple[tuple[int, ...], int | None]:
        """This process's shard ids and the count of all shards (None until "auto" learns it)."""
        count = self.shard_count
        ids = tuple(self.shard_ids) if self.shard_ids is not None else tuple(range(count or 0))
        return ids, count


def shard_options(discord_settings: DiscordSettings) -> dict[str, Any]:
    """AutoShardedBot's shard_count and shard_ids for the settings ("auto": None, which makes
    discord.py ask /gateway/bot; no ids: every shard of the count)."""
    count = discord_settings.shard_count
    if not isinstance(count, int):  # "auto"
        return {"shard_count": None, "shard_ids": None}
    return {"shard_count": count, "shard_ids": list(discord_settings.shard_ids) or None}


async def send_interaction(interaction: discord.Interaction, content: str, *, ephemeral: bool = False) -> None:
    """Reply or follow up, whichever the interaction still allows; never raises."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(content, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.warning("could not send a reply to an interaction", exc_info=True)


def sync_failure_advice(exc: discord.HTTPException, guild_id: int | None) -> str:
    """One log line for a refused command sync: what Discord said, what to do, what it costs."""
    # Built from the parts, not str(exc): CommandSyncFailure's text spans lines and loses
    # Discord's own wording for errors outside the command definitions (a bad guild id).
    reason = getattr(exc.response, "reason", None) or ""
    text = " / ".join(line.strip() for line in exc.text.splitlines() if line.strip())
    said = f"{exc.status} {reason} (error code: {exc.code}): {text}".replace("  ", " ")
    scope = "`applications.commands` scope (OAuth2 URL with scopes `bot` and `applications.commands`)"
    if guild_id is None:
        where, lost = "globally (--sync-global)", "the global /-commands are unavailable"
    else:
        where, lost = f"to guild {guild_id} (discord.dev_guild)", "/-commands are unavailable in that server"
    if exc.status == 403:
        fix = f"re-invite the bot with the {scope}"
        if guild_id is not None:
            fix += " to that server, and check that discord.dev_guild is the id of a server the bot is in"
    elif exc.status == 404 and guild_id is not None:
        fix = "check discord.dev_guild: it must be the id of a server the bot is in (Copy Server ID)"
    elif exc.status == 400 and guild_id is not None:
        fix = f"check discord.dev_guild is your server's id (Copy Server ID), and that the bot has the {scope}"
    elif exc.status >= 500:
        fix = "Discord had a server error; try again later"
    else:
        fix = f"check that the bot was invited with the {scope}"
    return (
        f"could not sync slash commands {where}: {said}; {fix}, and restart the bot. "
        f"Until then {lost}; the bot still answers mentions and answer channels"
    )


def _written_by(data: Any, user: discord.ClientUser | None) -> bool:
    author = data.get("author") if isinstance(data, dict) else None
    return user is not None and isinstance(author, dict) and author.get("id") == str(user.id)


def _guarded(event: str, parser: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(parser)
    def parse(data: Any) -> None:
        try:
            parser(data)
        except Exception:
            log.exception("ignored a malformed %s event from the gateway", event)

    return parse


def build_bot(
    settings: Settings,
    live: LiveIndex,
    qlog: StateStore,
    *,
    sync_global: bool = False,
    guild_ready_timeout: float = 2.0,
    collections: LiveCollections | None = None,
) -> CitebotBot:
    """The bot, ready for `start(token)`; the caller owns `live`, `qlog` and `collections`
    (default: the default collection alone) and closes them. With discord.shard_count set it is
    a `ShardedCitebotBot`, else the plain one (one connection, as before sharding)."""
    options: dict[str, Any] = {
        "sync_global": sync_global,
        "guild_ready_timeout": guild_ready_timeout,
        "collections": collections,
    }
    if is_sharded(settings.discord.shard_count):
        return ShardedCitebotBot(settings, live, qlog, **options, **shard_options(settings.discord))
    return CitebotBot(settings, live, qlog, **options)
