"""`citebot run`: read the token, point discord.py at the configured server, own the resources.

main-owns-resources: the index reader and the question log are opened here, handed to the bot,
and closed here when the bot stops, whatever the reason. The token comes from DISCORD_TOKEN
only and is never logged or shown.

SIGTERM (what systemd, Docker and `kill` send) stops the bot as gracefully as Ctrl-C: no new
questions are taken, those in flight finish (bounded by the bot's close), both databases are
closed, and the exit code is 0, since being asked to stop is no failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from ..live_index import LiveIndex
from ..settings import DiscordSettings, Settings, discord_token
from ..state.backends import open_state
from .client import build_bot
from .live_collections import LiveCollections

log = logging.getLogger(__name__)


def point_discord_at(discord_settings: DiscordSettings) -> None:
    """Send REST calls and the gateway connection to the configured (Discord-compatible) server.

    discord.py reads both class attributes when it builds a request or connects, so this must
    run before the bot starts. DEFAULT_GATEWAY must be a yarl.URL (discord.py calls
    `.with_query()` on it) with a path, as the default 'wss://gateway.discord.gg/' has.
    """
    discord.http.Route.BASE = discord_settings.api_base.rstrip("/")
    gateway = yarl.URL(discord_settings.gateway_url)
    if not gateway.path:
        gateway = gateway.with_path("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


def configure_logging(level: str) -> None:
    """The entry point's job: our level from settings; discord.py's chatter only from WARNING
    unless we debug."""
    logging.getLogger().setLevel(level)
    logging.getLogger("discord").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_bot(settings: Settings, sync_global: bool = False) -> int:
    """Run the bot until it is stopped; returns the process exit code.

    `sync_global` publishes the slash commands to every guild (an explicit owner action, from
    `citebot run --sync-global`); otherwise they are synced to discord.dev_guild only.
    """
    token = discord_token()  # ConfigError naming DISCORD_TOKEN when unset
    configure_logging(settings.log.level)
    point_discord_at(settings.discord)
    return asyncio.run(_serve(settings, token, sync_global))


class StopOnSigterm:
    """Turns SIGTERM into a call of `stop` (the bot's close), once.

    A SIGTERM before `stop` is given (while the index opens) is remembered in `requested`,
    so the caller can skip starting the bot at all.
    """

    def __init__(self) -> None:
        self.requested = False
        self._stop: Callable[[], Coroutine[Any, Any, None]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def then(self, stop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `stop()` on the next SIGTERM (the runner passes the bot's close)."""
        self._stop = stop

    def on_sigterm(self) -> None:
        if self.requested:
            log.info("SIGTERM again: already stopping")
            return
        self.requested = True
        log.info("SIGTERM: stopping")
        if self._stop is not None:
            task = asyncio.get_running_loop().create_task(self._stop(), name="citebot-sigterm-stop")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


@contextlib.contextmanager
def sigterm_stops() -> Iterator[StopOnSigterm]:
    """SIGTERM handled by the running loop while inside; its default action again after."""
    stopper = StopOnSigterm()
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, stopper.on_sigterm)
        installed = True
    except (NotImplementedError, RuntimeError):  # no loop signal handlers here (Windows, not the main thread)
        installed = False
    try:
        yield stopper
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)


async def _serve(settings: Settings, token: str, sync_global: bool) -> int:
    with sigterm_stops() as sigterm:
        code = await _serve_until_stopped(settings, token, sync_global, sigterm)
    if code == 0:
        log.info("stopped: index and question log closed")
    return code


async def _serve_until_stopped(settings: Settings, token: str, sync_global: bool, sigterm: StopOnSigterm) -> int:
    from ..building import open_index

    reader = await open_index(settings)
    live = LiveIndex(reader, settings.answer)
    try:
        collections = await LiveCollections.open(settings, live)
    except BaseException:
        await live.close()
        raise
    try:
        qlog = await open_state(settings)  # SQLite file, or PostgreSQL at log.state_url
        try:
            bot = build_bot(settings, live, qlog, sync_global=sync_global, collections=collections)
            sigterm.then(bot.close)
            if sigterm.requested:  # asked to stop while the index was opening
                return 0
            log.info(
                "starting: index generation %d (%d passages) at %s",
                reader.info.generation,
                reader.info.passages,
                settings.db_path,
            )
            for name in collections.names[1:]:
                info = collections.live(name).reader.info
                log.info(
                    "collection %s: index generation %d (%d passages) at %s",
                    name,
                    info.generation,
                    info.passages,
                    info.path,
                )
            try:
                try:
                    async with bot:
                        await bot.start(token)
                except Exception as exc:
                    if not sigterm.requested:
                        raise
                    # Stopped while logging in or connecting: the close cut that short.
                    log.info("stopped while starting (%s)", type(exc).__name__)
            except discord.LoginFailure:
                print("citebot: error: Discord rejected the token in DISCORD_TOKEN", file=sys.stderr)
                return 2
            except discord.PrivilegedIntentsRequired:
                print(
                    "citebot: error: discord.answer_channels needs the Message Content intent; enable it for "
                    "the bot in the Discord developer portal, or leave answer_channels empty",
                    file=sys.stderr,
                )
                return 2
            except (aiohttp.ClientConnectionError, OSError) as exc:
                print(
                    f"citebot: error: cannot reach Discord at {settings.discord.api_base} "
                    f"({type(exc).__name__}); check discord.api_base and your network",
                    file=sys.stderr,
                )
                return 2
        finally:
            await qlog.close()
    finally:
        await collections.close()
        await live.close()
    return 0
