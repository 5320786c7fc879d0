"""How many questions per second one bot process sustains, with each state backend.

    python benchmarks/capacity.py [--steps 5,10,20,40,80,160,320] [--per-step 200] [--json FILE]
                                  [--backends sqlite,postgres] [--cooldown-off]

Why through the real client: the answer time a user sees is the gateway event, discord.py's
dispatch, the cog, the answer, the state writes and the reply's REST request, not `Answerer.ask`
alone. So a real `citebot run` process (one shard, the bundled corpus's index) connects to the
loopback Discord server (tests/support/discord_server/) in this process, which sends questions
from many users at increasing offered rates, a fixed number per step. A question's answer time
is from its MESSAGE_CREATE being dispatched to the reply's POST reaching the server.

Per step: offered q/s, sent q/s (what this process managed), achieved q/s (replies over the
step's span), p50/p99 ms and lost replies. The sustained rate is the highest step with p99 under
500 ms and achieved at least 95% of offered; the steps stop after the first that misses.

Backends: the SQLite state file, and PostgreSQL (tests/support/pg_server.start_server(), a
real server on this machine). The per-user cooldown never binds (a million questions per 10 s)
but is checked, so with PostgreSQL each question pays the shared cooldown's round trip as it
does in production; `--cooldown-off` sets `discord.cooldown_seconds = 0`, which skips that check.

The figures depend on the machine: the bot, this load generator, the loopback server and the
database share its cores (2 here, with other work), so absolute figures move from run to run;
the ratio of the backends moves less. docs/deploy.md quotes a run and derives the sizing rule.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import pg_server  # noqa: E402
from tests.support.discord_server import DiscordTestServer, GuildSpec  # noqa: E402
from tests.support.helpers import BUNDLED_ARTICLE  # noqa: E402

TOKEN = "capacity-bench-token"
MESSAGES = "/channels/{channel_id}/messages"
P99_LIMIT_MS = 500.0
ACHIEVED_MIN = 0.95
USERS = 200
START_TIMEOUT = 120.0
DRAIN_TIMEOUT = 30.0  # after the last question of a step, how long its replies may take
QUESTIONS = [  # answered and declined ones, as real traffic mixes them
    "When will the ISS be deorbited?",
    "Who is the head of Roscosmos?",
    "How long will the ISS keep operating?",
    "What is the ROS?",
    "Who painted the Mona Lisa?",
    "what engines did US rockets use?",
    "when did NASA and Roscosmos meet?",
    "What is the cross-flight program?",
]


@dataclass
class Step:
    """One offered rate and what came of it."""

    offered_qps: float
    questions: int
    sent_qps: float
    achieved_qps: float
    replies: int
    lost: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def sustained(self) -> bool:
        return self.lost == 0 and self.p99_ms < P99_LIMIT_MS and self.achieved_qps >= ACHIEVED_MIN * self.offered_qps


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (the one the load test quotes)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def citebot_command() -> list[str]:
    script = Path(sys.executable).with_name("citebot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "citebot.bot.cli.main"]


def build_index(folder: Path) -> None:
    """The bundled corpus's index, built by the real command (as a deployment builds it)."""
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(BUNDLED_ARTICLE, corpus / BUNDLED_ARTICLE.name)
    subprocess.run(
        [*citebot_command(), "index", "--config", str(folder / "config.toml")],
        cwd=folder,
        env=bot_env(folder, None),
        check=True,
        capture_output=True,
    )


def write_config(folder: Path, server: DiscordTestServer | None, channel: int, cooldown_off: bool) -> None:
    """The bot's config.toml: the loopback server, one answer channel, a cooldown that never binds."""
    discord = (
        f"api_base = {json.dumps(server.base_url)}\ngateway_url = {json.dumps(server.gateway_url)}\n"
        if server is not None
        else ""
    )
    (folder / "config.toml").write_text(
        '[corpus]\npaths = ["corpus"]\n[index]\ndb = "index.sqlite3"\n'
        f"[discord]\n{discord}answer_channels = [{channel}]\n"
        f"cooldown_seconds = {0 if cooldown_off else 10}\ncooldown_questions = 1000000\n"
        '[log]\nstate_db = "state/state.sqlite3"\n',
        encoding="utf-8",
    )


def bot_env(folder: Path, state_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CITEBOT_CONFIG", "CITEBOT_STATE_URL")}
    env.update(
        DISCORD_TOKEN=TOKEN,
        HOME=str(folder / "home"),
        XDG_DATA_HOME=str(folder / "xdg"),
        PGPASSFILE=str(folder / "no-pgpass"),
    )
    if state_url:
        env["CITEBOT_STATE_URL"] = state_url
    return env


@contextlib.asynccontextmanager
async def running_bot(folder: Path, state_url: str | None, cooldown_off: bool) -> AsyncIterator[tuple[Any, int]]:
    """The loopback server and one `citebot run` process connected to it; yields (server, channel)."""
    async with DiscordTestServer(
        guilds=[GuildSpec(name="capacity", channels=("general", "answers"))], token=TOKEN, heartbeat_interval_ms=5000
    ) as server:
        channel = next(iter(server.guilds.values())).channel_ids[1]
        write_config(folder, server, channel, cooldown_off)
        (folder / "state").mkdir(exist_ok=True)
        with open(folder / "bot.log", "wb") as log:
            proc = subprocess.Popen(
                [*citebot_command(), "run", "--config", str(folder / "config.toml")],
                cwd=folder,
                env=bot_env(folder, state_url),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            try:
                await server.wait_for_identify(timeout=START_TIMEOUT)
            except TimeoutError:
                tail = (folder / "bot.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"the bot did not connect:\n{tail}") from None
            yield server, channel
        finally:
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 30)


def replies_since(server: Any, start: int, sent_at: dict[str, float]) -> dict[str, float]:
    """Question id -> when its (first, successful) reply reached the server."""
    got: dict[str, float] = {}
    for request in server.requests[start:]:
        if request.method != "POST" or request.route != MESSAGES or request.fault or not isinstance(request.json, dict):
            continue
        ref = str((request.json.get("message_reference") or {}).get("message_id"))
        if ref in sent_at and ref not in got:
            got[ref] = request.time
    return got


async def offer(server: Any, channel: int, users: list[Any], rate: float, count: int, first: int) -> Step:
    """Send `count` questions at `rate` per second, wait for their replies, and measure."""
    start = server.request_count
    sent_at: dict[str, float] = {}
    began = time.monotonic()
    for i in range(count):
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        n = first + i
        payload = server.message_payload(
            QUESTIONS[n % len(QUESTIONS)], author=users[n % len(users)], channel_id=channel
        )
        sent_at[payload["id"]] = time.monotonic()
        await server.dispatch_message(payload)
    sending = time.monotonic() - began
    deadline = time.monotonic() + DRAIN_TIMEOUT
    got = replies_since(server, start, sent_at)
    while len(got) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        got = replies_since(server, start, sent_at)
    latencies = [1000 * (got[mid] - sent_at[mid]) for mid in got]
    span = (max(got.values()) - began + 1 / rate) if got else float("inf")
    return Step(
        offered_qps=rate,
        questions=count,
        sent_qps=round(count / (sending + 1 / rate), 2),
        achieved_qps=round(len(got) / span, 2),
        replies=len(got),
        lost=count - len(got),
        p50_ms=round(statistics.median(latencies), 1) if latencies else float("inf"),
        p99_ms=round(percentile(latencies, 0.99), 1) if latencies else float("inf"),
        max_ms=round(max(latencies), 1) if latencies else float("inf"),
    )


async def measure(backend: str, steps: list[float], per_step: int, cooldown_off: bool) -> dict[str, Any]:
    """All steps against one fresh bot process with the given state backend."""
    folder = Path(tempfile.mkdtemp(prefix=f"citebot-capacity-{backend}-"))
    pg = None
    try:
        write_config(folder, None, 1, cooldown_off)
        build_index(folder)
        state_url = None
        if backend == "postgres":
            pg = pg_server.start_server()
            state_url = pg.url(pg.new_database())
        async with running_bot(folder, state_url, cooldown_off) as (server, channel):
            users = [server.make_user(f"asker{i}") for i in range(USERS)]
            warm = await offer(server, channel, users, 5.0, 20, 0)  # imports, first queries, the pool
            if warm.lost:
                raise SystemExit(f"{backend}: warm-up questions got no reply; see {folder / 'bot.log'}")
            results: list[Step] = []
            for i, rate in enumerate(steps):
                step = await offer(server, channel, users, rate, per_step, 1000 * (i + 1))
                results.append(step)
                print(f"  {backend:8} {_row(step)}", flush=True)
                if not step.sustained:
                    break
                await asyncio.sleep(1.0)  # let the state writes of this step settle
        good = [s for s in results if s.sustained]
        return {
            "backend": backend,
            "steps": [asdict(s) | {"sustained": s.sustained} for s in results],
            "sustained_qps": max((s.offered_qps for s in good), default=0.0),
            "sustained_achieved_qps": max((s.achieved_qps for s in good), default=0.0),
        }
    finally:
        if pg is not None:
            pg.stop()
            shutil.rmtree(pg.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def _row(step: Step) -> str:
    mark = "ok" if step.sustained else "MISSED"
    return (
        f"offered {step.offered_qps:6.1f} q/s  sent {step.sent_qps:6.1f}  achieved {step.achieved_qps:6.1f}  "
        f"p50 {step.p50_ms:7.1f} ms  p99 {step.p99_ms:7.1f} ms  max {step.max_ms:7.1f} ms  "
        f"lost {step.lost:3d}  {mark}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="5,10,20,40,80,160,320", help="offered rates, q/s, comma-separated")
    parser.add_argument("--per-step", type=int, default=200, help="questions per step")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--cooldown-off", action="store_true", help="cooldown_seconds = 0 (no cooldown check)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    steps = [float(s) for s in args.steps.split(",")]
    print(
        f"capacity of one citebot process, {os.cpu_count()} cores ({platform.machine()}), "
        f"{args.per_step} questions per step from {USERS} users.\n"
        "Note: the bot, this load generator, the loopback Discord server and PostgreSQL share "
        "this machine's cores (and other work may run), so absolute figures move between runs; "
        "compare the backends' ratio.",
        flush=True,
    )
    results = []
    for backend in args.backends.split(","):
        started = time.monotonic()
        result = asyncio.run(measure(backend, steps, args.per_step, args.cooldown_off))
        result["seconds"] = round(time.monotonic() - started, 1)
        results.append(result)
        print(
            f"  {backend}: sustained {result['sustained_qps']:g} q/s (p99 < {P99_LIMIT_MS:g} ms), "
            f"{result['seconds']} s",
            flush=True,
        )
    by = {r["backend"]: r for r in results}
    summary: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "cores": os.cpu_count(),
        "per_step": args.per_step,
        "users": USERS,
        "cooldown_checked": not args.cooldown_off,
        "results": results,
    }
    if "sqlite" in by and "postgres" in by and by["sqlite"]["sustained_qps"]:
        summary["postgres_over_sqlite"] = round(by["postgres"]["sustained_qps"] / by["sqlite"]["sustained_qps"], 2)
        print(f"PostgreSQL / SQLite sustained rate: {summary['postgres_over_sqlite']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
