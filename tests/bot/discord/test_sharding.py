"""Two `citebot run` processes, one shard each of two, against the loopback Discord server and
one PostgreSQL: the way a sharded bot is deployed.

Why real processes: what sharding promises is about processes -- each guild is answered by
exactly one of them, /stats in either counts what both answered (through the shared state),
a `citebot index` is picked up by each on its own, and one dying (SIGKILL, no goodbye) leaves
the other answering its guilds. Which process sent a reply is read from the reply's TCP
connection (tests/support/shards.py), never from the bots' own word.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.discord_server import DiscordTestServer, RecordedRequest
from tests.support.helpers import BUNDLED_ARTICLE, TOKEN, citebot_command
from tests.support.shards import guilds_over_shards, pid_of_port, shard_of

pytest.importorskip("asyncpg", reason="the sharding test shares its state in PostgreSQL: pip install -e '.[test]'")

SHARDS = 2
PER_SHARD = 2
QUESTION = "Until when will the ISS operate?"
NEW_FACT = "Water balcony tomatoes every morning before the sun reaches the pots."
NEW_QUESTION = "When should balcony tomatoes be watered?"
START_TIMEOUT = 180.0  # two processes importing discord.py and opening the index on a busy machine
ANSWER_TIMEOUT = 60.0


@dataclass
class Deployment:
    """The server, the two processes (by shard id) and where their config and corpus are."""

    server: DiscordTestServer
    procs: dict[int, subprocess.Popen[bytes]]
    folder: Path
    config: Path
    env: dict[str, str]
    answers: dict[int, int]  # guild id -> its answer channel

    def pid_of(self, request: RecordedRequest) -> int | None:
        assert request.peer is not None
        return pid_of_port(request.peer[1], [p.pid for p in self.procs.values()])

    def log_of(self, shard: int) -> str:
        return (self.folder / f"shard{shard}.log").read_text(errors="replace")


def _write_config(folder: Path, server: DiscordTestServer, answers: dict[int, int]) -> Path:
    config = folder / "config.toml"
    config.write_text(
        "[corpus]\n"
        'paths = ["corpus"]\n'
        "[index]\n"
        'db = "index.sqlite3"\n'
        "[discord]\n"
        f"api_base = {json.dumps(server.base_url)}\n"
        f"gateway_url = {json.dumps(server.gateway_url)}\n"
        f"answer_channels = {sorted(answers.values())}\n"
        "cooldown_questions = 1000\n"
        "reload_check_seconds = 0.2\n"
        "[log]\n"
        'level = "INFO"\n',
        encoding="utf-8",
    )
    return config


@contextlib.asynccontextmanager
async def deployment(tmp_path: Path, built_index: Path, state_url: str) -> AsyncIterator[Deployment]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(BUNDLED_ARTICLE, corpus / BUNDLED_ARTICLE.name)
    shutil.copy(built_index, tmp_path / "index.sqlite3")
    guilds = guilds_over_shards(SHARDS, PER_SHARD)
    async with DiscordTestServer(guilds=guilds, token=TOKEN, heartbeat_interval_ms=1000, shards=SHARDS) as server:
        answers = {gid: guild.channel_ids[1] for gid, guild in server.guilds.items()}
        config = _write_config(tmp_path, server, answers)
        env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "CITEBOT_STATE_URL")}
        env.update(
            DISCORD_TOKEN=TOKEN,
            CITEBOT_STATE_URL=state_url,
            HOME=str(tmp_path / "home"),
            XDG_DATA_HOME=str(tmp_path / "xdg"),
            PGPASSFILE=str(tmp_path / "no-pgpass"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        procs: dict[int, subprocess.Popen[bytes]] = {}
        try:
            for shard in range(SHARDS):
                log = open(tmp_path / f"shard{shard}.log", "wb")  # noqa: SIM115 (closed with the process)
                procs[shard] = subprocess.Popen(
                    [
                        *citebot_command(),
                        "run",
                        "--config",
                        str(config),
                        "--shard-count",
                        str(SHARDS),
                        "--shard-ids",
                        str(shard),
                    ],
                    cwd=tmp_path,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                log.close()
            deploy = Deployment(server, procs, tmp_path, config, env, answers)
            try:
                await server.wait_for_shards(SHARDS, timeout=START_TIMEOUT)
            except TimeoutError:
                logs = "\n".join(f"--- shard {s}:\n{deploy.log_of(s)[-3000:]}" for s in procs)
                raise AssertionError(f"the shards did not connect:\n{logs}") from None
            yield deploy
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs.values():
                try:
                    await asyncio.to_thread(proc.wait, 30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    await asyncio.to_thread(proc.wait, 30)


async def ask(deploy: Deployment, gid: int, text: str) -> tuple[dict[str, Any], RecordedRequest]:
    """Send `text` in the guild's answer channel; the bot's reply and the request that made it."""
    server = deploy.server
    channel = deploy.answers[gid]
    await server.dispatch_message(server.message_payload(text, channel_id=channel))
    reply = await server.wait_for_message(channel, timeout=ANSWER_TIMEOUT)
    return reply, _request_that_sent(server, reply)


def _request_that_sent(server: DiscordTestServer, message: dict[str, Any]) -> RecordedRequest:
    for request in server.requests:
        response = request.response
        if isinstance(response, dict) and response.get("id") == message["id"]:
            return request
        resource = response.get("resource") if isinstance(response, dict) else None
        if isinstance(resource, dict) and (resource.get("message") or {}).get("id") == message["id"]:
            return request
    raise AssertionError(f"no request made message {message['id']}")


def bot_messages_in(server: DiscordTestServer, channel: int) -> list[dict[str, Any]]:
    bot_id = server.bot_user["id"]
    return [
        m
        for m in server.messages.values()
        if int(m["channel_id"]) == channel and str((m.get("author") or {}).get("id")) == bot_id
    ]


async def stats_in(deploy: Deployment, gid: int) -> tuple[dict[str, str], RecordedRequest]:
    """/stats used in guild `gid`'s first channel (not its answer channel, whose bot messages
    are counted): its fields, and the request that answered."""
    server = deploy.server
    payload = server.slash_command_payload("stats", guild_id=gid, channel_id=server.guilds[gid].channel_ids[0])
    await server.dispatch_interaction(payload)
    reply = await server.wait_for_message(interaction_id=int(payload["id"]), timeout=ANSWER_TIMEOUT)
    fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
    return fields, _request_that_sent(server, reply)


async def wait_for_log(deploy: Deployment, shard: int, text: str, timeout: float = ANSWER_TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in deploy.log_of(shard):
        if loop.time() > deadline:
            raise AssertionError(f"shard {shard} never logged {text!r}:\n{deploy.log_of(shard)[-3000:]}")
        await asyncio.sleep(0.1)


async def test_two_processes_share_the_guilds_the_stats_and_the_index(
    tmp_path: Path, built_index: Path, postgres: Any
) -> None:
    state_url = postgres.url(await asyncio.to_thread(postgres.new_database))
    async with deployment(tmp_path, built_index, state_url) as deploy:
        server, procs = deploy.server, deploy.procs
        by_shard = {s: [g for g in deploy.answers if shard_of(g, SHARDS) == s] for s in range(SHARDS)}
        assert all(len(g) == PER_SHARD for g in by_shard.values())

        # Every guild's question is answered, by the process running its shard.
        for gid in deploy.answers:
            reply, request = await ask(deploy, gid, QUESTION)
            assert reply["content"].startswith("**Answer:**") and "2028" in reply["content"]
            assert deploy.pid_of(request) == procs[shard_of(gid, SHARDS)].pid, gid

        # /stats in a guild of each shard, each answered by that shard's process, shows both
        # shards' counts (from the shared question log).
        for shard, guilds in by_shard.items():
            fields, request = await stats_in(deploy, guilds[0])
            assert deploy.pid_of(request) == procs[shard].pid
            assert fields["Shards"] == (
                f"this process: shard #{shard} of {SHARDS} · {PER_SHARD} questions\n"
                f"all shards: #0 {PER_SHARD} · #1 {PER_SHARD}"
            )
            assert f"{SHARDS * PER_SHARD} asked" in fields["Questions"]
        # ... and each question was answered exactly once (the other process never saw it).
        for gid, channel in deploy.answers.items():
            assert len(bot_messages_in(server, channel)) == 1, gid

        # A reindex from the command line is picked up by both processes.
        (deploy.folder / "corpus" / "tomatoes.md").write_text(
            f"# Growing Tomatoes on a Balcony\n\n{NEW_FACT}\n", encoding="utf-8"
        )
        index = await asyncio.create_subprocess_exec(
            *citebot_command(),
            "index",
            "--config",
            str(deploy.config),
            cwd=deploy.folder,
            env=deploy.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(index.communicate(), 300)
        assert index.returncode == 0, out.decode(errors="replace")
        for shard in range(SHARDS):
            await wait_for_log(deploy, shard, "reloaded index: generation 2")
        for shard, guilds in by_shard.items():
            reply, request = await ask(deploy, guilds[0], NEW_QUESTION)
            assert "before the sun reaches the pots" in reply["content"], reply["content"]
            assert deploy.pid_of(request) == procs[shard].pid

        # Shard 1's process is killed outright; shard 0's keeps answering its guilds.
        procs[1].send_signal(signal.SIGKILL)
        await asyncio.to_thread(procs[1].wait, 30)
        dead = server.shard_sessions[1]
        await server.recorder.wait_until(
            lambda: True if dead.connection is None else None, ANSWER_TIMEOUT, "shard 1's connection closed"
        )
        for gid in by_shard[0]:
            reply, request = await ask(deploy, gid, QUESTION)
            assert reply["content"].startswith("**Answer:**")
            assert deploy.pid_of(request) == procs[0].pid
        assert procs[0].poll() is None
