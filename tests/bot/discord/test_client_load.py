"""Reliability, part 4: load through the real client (issue 5).

500 questions from 50 users in under 10 seconds, sent as real gateway events to the product's
bot (discord.py against tests/support/discord_server/), while the server answers some replies with
429 (`retry_after`) and 500, and drops the gateway connection once. Every question must get
exactly one reply (counted by message_reference): an answer, or a polite rate-limit notice;
none lost, none answered twice, no apology. A sampler task in the bot's event loop measures
lag and the loop thread's CPU time; only the latter has a tight bound, since wall-clock lag on
a busy machine counts waiting for a core (tests/support/loop_lag.py). The figures (answered, limited,
lost, p50/p99 reply time, loop lag) are printed with -s and quoted in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from tests.support.bot_chat import assert_safe, pings_nobody
from tests.support.helpers import running_bot
from tests.support.loop_lag import LagSampler

MESSAGES = "/channels/{channel_id}/messages"
USERS = 50
QUESTIONS_TOTAL = 500
WINDOW_SECONDS = 9.0  # all questions are sent within this
QUESTIONS = [
    "When will the ISS be deorbited?",
    "Who is the head of Roscosmos?",
    "How long will the ISS keep operating?",
    "What is the ROS?",
    "Who wrote this?",
    "Who painted the Mona Lisa?",
    "what engines did US rockets use?",
    "@everyone when did NASA and Roscosmos meet?",
    "**cross-flight** program?",
    "",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def test_500_questions_from_50_users_with_faults(tmp_path: Path, built_index: Path) -> None:
    async with running_bot(tmp_path, built_index) as env:  # default cooldown: 3 questions per 10 s
        server = env.server
        users = [server.make_user(f"user{i}") for i in range(USERS)]
        start_requests = server.request_count
        sent_at: dict[str, float] = {}
        dropped_at = None
        with LagSampler() as sampler:
            started = time.monotonic()
            for i in range(QUESTIONS_TOTAL):
                if i == 120:
                    server.rate_limit_next("POST", MESSAGES, count=3, retry_after=0.3)
                if i == 200:
                    server.fail_next("POST", MESSAGES, status=500, count=2)
                if i == 300:
                    dropped_at = time.monotonic()
                    await server.drop_connection()
                # Each user asks a different mix (including an empty mention now and then).
                question = QUESTIONS[(i + i // USERS) % len(QUESTIONS)]
                incoming = server.bot_mention_payload(question, author=users[i % USERS])
                sent_at[incoming["id"]] = time.monotonic()
                await server.dispatch_message(incoming)
                await asyncio.sleep(max(0.0, started + (i + 1) * WINDOW_SECONDS / QUESTIONS_TOTAL - time.monotonic()))
            sending = time.monotonic() - started
            # Wait until every question has its reply (or 20 s pass).
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if len(_replies(server, sent_at)) >= len(sent_at):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # anything extra (a double reply) would show up now
        assert sending < 10.0

        replies = _replies(server, sent_at)
        counts = {mid: len(rs) for mid, rs in replies.items()}
        lost = [mid for mid in sent_at if mid not in replies]
        doubled = [mid for mid, n in counts.items() if n > 1]
        kinds = {"answered": 0, "declined": 0, "limited": 0, "refused": 0, "apology": 0}
        for [reply] in (r for r in replies.values() if len(r) == 1):
            kinds[_kind(reply["content"])] += 1
            assert_safe(reply)
        # The faults really happened, and were survived.
        faults = [r for r in server.requests[start_requests:] if r.fault]
        assert sum(r.fault == "429" for r in faults) == 3 and sum(r.fault == "500" for r in faults) == 2
        assert server.resume_count >= 1
        posts = [
            r.json
            for r in server.requests[start_requests:]
            if r.method == "POST" and r.route == MESSAGES and isinstance(r.json, dict)
        ]
        assert all(pings_nobody(b) for b in posts)

        # Reply time: from sending the question to the reply's (successful) request reaching Discord.
        reply_times, answer_times = [], []
        for r in server.requests[start_requests:]:
            if r.method == "POST" and r.route == MESSAGES and not r.fault and isinstance(r.json, dict):
                ref = (r.json.get("message_reference") or {}).get("message_id")
                if str(ref) in sent_at:
                    reply_times.append(r.time - sent_at[str(ref)])
                    if _kind(r.json.get("content") or "") in ("answered", "declined"):
                        answer_times.append(r.time - sent_at[str(ref)])
        lags = sampler.lags
        figures = {
            "questions": len(sent_at),
            "users": USERS,
            "sent_in_s": round(sending, 2),
            "answered": kinds["answered"] + kinds["declined"],
            "of_which_not_in_sources": kinds["declined"],
            "limited": kinds["limited"],
            "refused_empty": kinds["refused"],
            "apologies": kinds["apology"],
            "lost": len(lost),
            "doubled": len(doubled),
            "answer_p50_ms": round(1000 * statistics.median(answer_times), 1),
            "answer_p99_ms": round(1000 * percentile(answer_times, 0.99), 1),
            "reply_p50_ms": round(1000 * statistics.median(reply_times), 1),
            "reply_p99_ms": round(1000 * percentile(reply_times, 0.99), 1),
            "reply_max_ms": round(1000 * max(reply_times), 1),
            "loop_lag_max_ms": round(1000 * max(lags), 1),
            "loop_lag_p99_ms": round(1000 * percentile(lags, 0.99), 1),
            "loop_busy_max_ms": round(1000 * max(sampler.busy), 1),
            "resumes": server.resume_count,
        }
        print(f"\nload figures: {figures}")
        assert not lost and not doubled, figures
        assert kinds["apology"] == 0, figures
        assert figures["answered"] + kinds["limited"] + kinds["refused"] == QUESTIONS_TOTAL
        assert figures["answered"] >= USERS * 3 * 0.9  # each user's first three (the cooldown allows 3 per 10 s)
        sampler.assert_no_stall()  # a bound that holds with the machine's other core busy (loop_lag.py)
        # Logged questions are exactly the ones answered: nothing lost on the way to the log.
        assert (await env.qlog.stats()).questions == figures["answered"]

        # After the disconnect the bot resumed; the next question is answered.
        assert dropped_at is not None
        fresh = server.make_user("after-resume")
        incoming = server.bot_mention_payload(QUESTIONS[0], author=fresh)
        await server.dispatch_message(incoming)
        reply = await server.wait_for_message(
            predicate=lambda m: (m.get("message_reference") or {}).get("message_id") == incoming["id"], timeout=10
        )
        assert reply["content"].startswith("**Answer:**")


def _replies(server: Any, sent_at: dict[str, float]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in server.sent_messages:
        ref = (m.get("message_reference") or {}).get("message_id")
        if ref is not None and str(ref) in sent_at:
            out.setdefault(str(ref), []).append(m)
    return out


def _kind(content: str) -> str:
    if content.startswith("**Answer:**"):
        return "answered"
    if content.startswith("My sources do not answer"):
        return "declined"
    if "asking faster than I can keep up" in content:
        return "limited"
    if content.startswith("Ask me a question"):
        return "refused"
    return "apology"
