"""The scheduled refresh in the running bot (corpus.refresh_minutes), end to end: the real
discord.py client against the loopback server, a real corpus folder edited between cycles.

Cycles run on the bot's own schedule (a fraction of a second here); a test waits for the next
whole cycle (`RefreshLoop.next_cycle`), never for a wall-clock time.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.support.bot_chat import DEORBIT, NEW_ARTICLE, ask_by_mention, slash
from tests.support.helpers import BUNDLED_ARTICLE, BotEnv, running_bot

ZORBLAX = "What does the Zorblax greenhouse grow?"
EVERY_MINUTES = 0.003  # 0.18 s between cycles


async def settled(env: BotEnv) -> int:
    """After the first cycle (the copied index was built from another folder, so it rebuilds
    once for this one), the generation the bot answers from."""
    assert env.bot.refresher is not None
    await asyncio.wait_for(env.bot.refresher.next_cycle(), 30)
    return env.live.reader.info.generation


async def ask(env: BotEnv, question: str, who: str) -> dict:
    _, reply = await ask_by_mention(env, question, author=env.server.make_user(who))
    return reply


async def test_refresh_picks_up_a_new_and_an_edited_file(tmp_path: Path, built_index: Path) -> None:
    async with running_bot(tmp_path, built_index, refresh_minutes=EVERY_MINUTES) as env:
        generation = await settled(env)
        before = await ask(env, ZORBLAX, "ann")
        assert not before["content"].startswith("**Answer:**")

        (env.corpus / "zorblax.md").write_text(NEW_ARTICLE, encoding="utf-8")
        await asyncio.wait_for(env.bot.refresher.next_cycle(), 30)
        added = await ask(env, ZORBLAX, "bob")
        assert added["content"].startswith("**Answer:**") and "purple potatoes" in added["content"]
        assert env.live.reader.info.generation > generation
        assert env.live.reader.info.documents == 2
        assert env.bot.refresher.last.outcome == "reindexed 1 changed source"

        (env.corpus / "zorblax.md").write_text(
            NEW_ARTICLE.replace("purple potatoes", "golden turnips"), encoding="utf-8"
        )
        await asyncio.wait_for(env.bot.refresher.next_cycle(), 30)
        edited = await ask(env, ZORBLAX, "cat")
        assert "golden turnips" in edited["content"] and "purple" not in edited["content"]

        # Nothing changed since: the next cycle swaps nothing in.
        generation = env.live.reader.info.generation
        await asyncio.wait_for(env.bot.refresher.next_cycle(), 30)
        assert env.live.reader.info.generation == generation
        assert env.bot.refresher.last.outcome == "no change"


async def test_a_failed_refresh_keeps_the_old_answers_and_logs_one_line(
    tmp_path: Path, built_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="citebot.bot.discord.refresh")
    async with running_bot(tmp_path, built_index, refresh_minutes=EVERY_MINUTES) as env:
        generation = await settled(env)
        article = env.corpus / BUNDLED_ARTICLE.name
        article.unlink()  # the whole corpus gone (an unmounted share): nothing to index
        caplog.clear()
        await asyncio.wait_for(env.bot.refresher.next_cycle(), 30)
        failures = [
            r for r in caplog.records if r.name == "citebot.bot.discord.refresh" and r.levelno >= logging.WARNING
        ]
        assert len(failures) == 1
        assert failures[0].getMessage().startswith(f"refresh failed, still answering from generation {generation}: ")
        assert env.live.reader.info.generation == generation
        reply = await ask(env, DEORBIT, "dan")
        assert reply["content"].startswith("**Answer:**") and "deorbit" in reply["content"]
        assert not env.bot.refresher.last.ok

        # The corpus comes back (edited): the next cycle takes it in.
        article.write_text(
            BUNDLED_ARTICLE.read_text(encoding="utf-8") + "\n\nThe Zorblax dome grows purple potatoes in regolith.\n",
            encoding="utf-8",
        )
        await asyncio.wait_for(env.bot.refresher.next_cycle(), 30)
        assert env.live.reader.info.generation == generation + 1
        reply = await ask(env, ZORBLAX, "eve")
        assert "purple potatoes" in reply["content"]


async def test_refresh_waits_out_a_reindex_and_stats_show_the_sources(tmp_path: Path, built_index: Path) -> None:
    async with running_bot(tmp_path, built_index, refresh_minutes=EVERY_MINUTES) as env:
        generation = await settled(env)
        refresher = env.bot.refresher
        (env.corpus / "zorblax.md").write_text(NEW_ARTICLE, encoding="utf-8")
        async with env.bot.reindex_lock:  # as /reindex holds it
            await asyncio.wait_for(refresher.next_cycle(), 30)
            assert refresher.last.outcome.startswith("skipped")
            assert env.live.reader.info.generation == generation
            payload = await slash(env, "reindex", user=env.server.owner_user)
            response = await env.server.wait_for_interaction_response(payload["id"])
            assert "already running" in response.data["content"]
        await asyncio.wait_for(refresher.next_cycle(), 30)
        assert env.live.reader.info.generation == generation + 1

        payload = await slash(env, "stats")
        stats = await env.server.wait_for_message(interaction_id=int(payload["id"]))
        fields = {f["name"]: f["value"] for f in stats["embeds"][0]["fields"]}
        sources = fields["Sources"]
        assert sources.startswith("md 1 · txt 1; oldest check ")
        assert "\nrefreshed every 0 s; last " in sources and "ago: reindexed 1 changed source" in sources
        assert "• corpus/zorblax.md: changed " in sources and "• corpus/nasa-roscosmos-2025.txt: changed " in sources


async def test_stats_say_the_refresh_is_off_by_default(env: BotEnv) -> None:
    assert env.bot.refresher is None
    payload = await slash(env, "stats")
    stats = await env.server.wait_for_message(interaction_id=int(payload["id"]))
    fields = {f["name"]: f["value"] for f in stats["embeds"][0]["fields"]}
    assert "refresh off (corpus.refresh_minutes = 0)" in fields["Sources"]
    assert fields["Sources"].startswith("txt 1; oldest check ")
