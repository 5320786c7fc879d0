"""Reliability, part 5: security (issue 5).

- The token appears in no log line (DEBUG, discord.py included), error, REST payload or reply,
  in-process and from `citebot run` (a good token at DEBUG, and a rejected one).
- `/reindex` refuses everyone but owners and Manage Server members, in guilds and DMs.
- Nothing typed in Discord reaches the file system or a SQL string: hostile `/source` ids and
  questions are only ever SQL parameters (checked with a Python audit hook that records every
  file the process opens and every SQL statement it runs while they are handled).
- Stored user ids are keyed hashes; the raw id is nowhere in the state file.
- Index, lock and state files are created mode 0600 (see also tests/reliability/test_faults.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.bot_chat import DEORBIT, ask_by_mention, slash
from tests.support.helpers import BUNDLED_ARTICLE, TOKEN, BotEnv, running_bot

CITEBOT = Path(sys.executable).with_name("citebot")
HOSTILE_IDS = [
    "'; DROP TABLE passages; --",
    "../../etc/passwd",
    "/etc/passwd",
    "1 OR 1=1",
    'x" OR "1"="1',
    "%",
    "_",
    "*",
    "\\",
    "..",
    "file:///etc/passwd",
    "\x00",
    "a" * 100,
]

# ------------------------------------------------------------------------ audit hook ----

_AUDIT: dict[str, Any] = {"on": False, "events": []}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _AUDIT["on"] and event in (
        "open",
        "os.listdir",
        "os.scandir",
        "sqlite3.connect",
        "shutil.copyfile",
        "os.remove",
        "os.rename",
        "os.unlink",
    ):
        _AUDIT["events"].append((event, repr(args)[:300]))


sys.addaudithook(_audit)  # cannot be removed; inert unless _AUDIT["on"]


class SqlTrace:
    """Every SQL statement run on the index's and the log's connections while active."""

    def __init__(self, env: BotEnv) -> None:
        self.statements: list[str] = []
        self.conns = [env.live.reader._db, env.qlog._db]

    async def __aenter__(self) -> SqlTrace:
        for conn in self.conns:
            await conn.set_trace_callback(self.statements.append)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for conn in self.conns:
            await conn.set_trace_callback(None)


# ------------------------------------------------------------------------ the token -----


def _everything_said(env: BotEnv, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines (with tracebacks), REST payloads (bodies, forms, files, queries, headers) and replies."""
    out = [r.getMessage() for r in caplog.records]
    out += [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    for r in env.server.requests:
        out += [repr(r.json), repr(r.form), repr(r.query), repr(r.headers), r.path]
        out += [f.data.decode("utf-8", "replace") for f in r.files]
    out += [repr(m) for m in env.server.sent_messages]
    return out


async def test_token_is_in_no_log_line_payload_or_reply(
    tmp_path: Path, built_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("discord").setLevel(logging.DEBUG)
    try:
        async with running_bot(tmp_path, built_index) as env:
            await ask_by_mention(env, DEORBIT)
            await ask_by_mention(env, f"what is {TOKEN}?")  # even when a user types it... see below
            env.server.fail_next(
                "POST",
                "/channels/{channel_id}/messages",
                status=400,
                body={"code": 50035, "message": "Invalid Form Body"},
            )
            await ask_by_mention(env, DEORBIT)  # an error: traceback in the log, apology in Discord
            payload = await slash(env, "reindex", user=env.server.owner_user)
            await env.server.wait_for_message(interaction_id=int(payload["id"]), timeout=20)
            await env.server.drop_connection()
            await env.server.wait_for_resume()
            said = _everything_said(env, caplog)
    finally:
        logging.getLogger("discord").setLevel(logging.NOTSET)
    assert any(r.levelno == logging.DEBUG and r.name.startswith("discord") for r in caplog.records)
    assert any(r.exc_info for r in caplog.records)
    # The only place the token may appear is where a user typed it themselves.
    leaks = [s for s in said if TOKEN in s and "what is" not in s]
    assert not leaks, leaks[:3]


async def _run_citebot(
    tmp_path: Path, built_index: Path, server: Any, token: str, *, ask: bool
) -> tuple[int | None, str, str]:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[corpus]\npaths = ["{BUNDLED_ARTICLE.parent}"]\n[index]\ndb = "{built_index}"\n'
        f'[log]\nstate_db = "{tmp_path / "state.sqlite3"}"\nlevel = "DEBUG"\n'
        f'[discord]\napi_base = "{server.base_url}"\ngateway_url = "{server.gateway_url}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CITEBOT_CONFIG"}
    env["DISCORD_TOKEN"] = token
    # Output goes to files, not pipes: at DEBUG the bot writes more than a pipe buffer holds
    # before the test reads it, and a full pipe would block the bot mid-log.
    out_path, err_path = tmp_path / f"run-{ask}.out", tmp_path / f"run-{ask}.err"
    with out_path.open("wb") as out_file, err_path.open("wb") as err_file:
        proc = await asyncio.create_subprocess_exec(
            str(CITEBOT), "run", "--config", str(config), env=env, cwd=tmp_path, stdout=out_file, stderr=err_file
        )
    try:
        if ask:
            exited = asyncio.create_task(proc.wait())
            identified = asyncio.create_task(server.wait_until_identified(timeout=60))
            await asyncio.wait({exited, identified}, return_when=asyncio.FIRST_COMPLETED)
            if not identified.done():  # the bot stopped before connecting: show why
                identified.cancel()
                err = err_path.read_text(encoding="utf-8", errors="replace")
                pytest.fail(f"citebot run exited with {proc.returncode}: {err[-2000:]}")
            identified.result()
            incoming = server.bot_mention_payload(DEORBIT)
            await server.dispatch_message(incoming)
            reply = await server.wait_for_message(timeout=20)
            assert reply["content"].startswith("**Answer:**")
            proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    read = lambda p: p.read_text(encoding="utf-8", errors="replace")  # noqa: E731
    return proc.returncode, read(out_path), read(err_path)


async def test_citebot_run_never_prints_the_token(tmp_path: Path, built_index: Path) -> None:
    """`citebot run` at log level DEBUG, with the right token (connects, answers, is stopped)
    and with a rejected one: the token is in neither stdout nor stderr."""
    from tests.support.discord_server import DiscordTestServer

    secret = "Mz.secret-token-value.for-citebot-tests-0123456789"
    async with DiscordTestServer(token=secret, heartbeat_interval_ms=500) as server:
        code, out, err = await _run_citebot(tmp_path, built_index, server, secret, ask=True)
        assert "DEBUG" in err, err[-2000:]  # discord.py's debug chatter really was on
        assert secret not in out and secret not in err
        code, out, err = await _run_citebot(tmp_path, built_index, server, secret[::-1], ask=False)
        assert code == 2 and "Discord rejected the token in DISCORD_TOKEN" in err
        assert secret[::-1] not in out and secret[::-1] not in err and "Traceback" not in err


# ------------------------------------------------------------------------ permissions ---


async def test_reindex_refuses_everyone_but_owners_and_managers(tmp_path: Path, built_index: Path) -> None:
    owner_id = 4242  # listed in discord.owner_ids before the bot starts; the user is made below
    async with running_bot(tmp_path, built_index, owner_ids=(owner_id,)) as env:
        server = env.server
        owner = server.make_user("bot-owner")
        server.users[owner_id] = {**owner, "id": str(owner_id)}
        for guild in server.guilds.values():
            guild.members[owner_id] = guild.members.pop(int(owner["id"]))
        generation = env.live.reader.info.generation
        nobody = server.make_user("mallory")
        attempts = {
            "member without Manage Server": dict(user=nobody),
            "member claiming permissions=0": dict(user=nobody, permissions=0),
            "DM from a non-owner": dict(user=nobody, guild_id=None, command_guild_id=None),
        }
        for what, kwargs in attempts.items():
            payload = await slash(env, "reindex", **kwargs)
            response = await server.wait_for_interaction_response(payload["id"])
            assert response.type == 4 and response.data["flags"] & 64, what
            assert response.data["content"].startswith("Only"), (what, response.data["content"])
        assert env.live.reader.info.generation == generation
        # An owner listed in discord.owner_ids may, even in a DM.
        payload = await slash(env, "reindex", user=owner_id, guild_id=None, command_guild_id=None)
        reply = await server.wait_for_message(interaction_id=int(payload["id"]), timeout=20)
        assert reply["content"].startswith("Reindexed"), reply["content"]
        assert env.live.reader.info.generation == generation + 1


# ------------------------------------------------------------------------ injection -----


async def test_hostile_source_ids_and_questions_are_only_parameters(env: BotEnv) -> None:
    db = env.settings.db_path
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with sqlite3.connect(db) as conn:
        passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    _AUDIT["events"] = []
    async with SqlTrace(env) as trace:
        _AUDIT["on"] = True
        try:
            for hostile in HOSTILE_IDS:
                payload = await slash(env, "source", {"id": hostile})
                response = await env.server.wait_for_interaction_response(payload["id"])
                assert response.data["content"].startswith("No passage has the id"), (hostile, response.data)
                assert "@everyone" not in response.data["content"]
            for hostile in HOSTILE_IDS[:4]:
                incoming = env.server.bot_mention_payload(
                    f"{hostile} when will the ISS be deorbited?", author=env.server.make_user("eve")
                )
                await env.server.dispatch_message(incoming)
                reply = await env.server.wait_for_message(
                    predicate=lambda m, sent=incoming: (
                        (m.get("message_reference") or {}).get("message_id") == sent["id"]
                    ),
                    timeout=10,
                )
                assert reply["content"].startswith(("**Answer:**", "My sources")), reply["content"]
        finally:
            _AUDIT["on"] = False
    opened = [e for e in _AUDIT["events"] if "passwd" in e[1] or "DROP" in e[1]]
    assert not opened, opened
    # SQLite's trace shows statements with the bound values filled in as quoted literals. With
    # every literal taken out, what is left must be a handful of fixed shapes with no user text.
    literal = re.compile(r"'(?:[^']|'')*'|x'[0-9a-fA-F]*'|(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])|NULL")
    shapes = {literal.sub("?", s).strip() for s in trace.statements}
    assert trace.statements and len(shapes) <= 10, shapes
    for hostile in HOSTILE_IDS:
        if len(hostile) > 2:
            assert not any(hostile in shape for shape in shapes), (hostile, shapes)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == passages
    # The questions were stored verbatim, as data.
    rows = await env.qlog.recent(limit=10)
    assert any(r[4].startswith("'; DROP TABLE passages; --") for r in rows)


# ------------------------------------------------------------------------ privacy -------


async def test_user_ids_are_stored_as_keyed_hashes(tmp_path: Path, built_index: Path) -> None:
    async with running_bot(tmp_path, built_index) as env:
        user = env.server.make_user("privacy")
        uid = int(user["id"])
        _, answer = await ask_by_mention(env, DEORBIT, author=user)
        click = env.server.component_payload("citebot:vote:up", answer, user=user)
        await env.server.dispatch_interaction(click)
        await env.server.wait_for_interaction_response(click["id"])
        state = env.settings.state_db_path
        with sqlite3.connect(state) as conn:
            key = conn.execute("SELECT value FROM secret").fetchone()[0]
            hashes = {
                r[0] for r in conn.execute("SELECT user_hash FROM questions UNION SELECT user_hash FROM feedback")
            }
    expected = hmac.new(key, str(uid).encode(), hashlib.sha256).hexdigest()
    assert hashes == {expected}
    assert expected != hashlib.sha256(str(uid).encode()).hexdigest()  # keyed, not a plain hash
    raw = state.read_bytes() + b"".join(p.read_bytes() for p in state.parent.glob(state.name + "-*"))
    assert str(uid).encode() not in raw and uid.to_bytes(8, "big") not in raw and uid.to_bytes(8, "little") not in raw
    assert state.stat().st_mode & 0o777 == 0o600
