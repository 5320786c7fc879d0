"""One corpus per channel: the product's bot with `[[collections]]`, end to end.

The real discord.py client against the loopback server: two channels mapped to two collections
answer from their own documents; `/ask collection:` offers (autocomplete) and accepts only the
collections served where it is used; `/source`, `/reindex` and `/stats` are about the channel's
collection; a reindex of one collection by `citebot index --collection` is hot-reloaded alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.discord_server import autocomplete_choices, autocomplete_payload
from tests.support.helpers import BUNDLED_ARTICLE, TOKEN, assert_no_server_paths

CITEBOT = Path(sys.executable).with_name("citebot")
DEORBIT = "When will the ISS be deorbited?"
TOMATOES = "How often should I water balcony tomatoes?"
BADGES = "When do I get my visitor badge?"

GARDEN_ARTICLE = """---
title: Growing Tomatoes on a Balcony
author: Rosa Verde
---

Growing Tomatoes on a Balcony

Cherry tomatoes grow well in twenty-litre pots on a sunny balcony. Water balcony tomatoes every morning in July and feed them with a potash fertiliser every two weeks.

Pinch out the side shoots of cordon varieties so the plant puts its strength into the fruit.
"""

HANDBOOK_ARTICLE = """---
title: Office Handbook
author: Facilities Team
---

Office Handbook

Visitors get their visitor badge at the front desk on arrival, after signing the visitor book.

The office kitchen is cleaned every Friday afternoon by the facilities team.
"""

SECOND_GARDEN_ARTICLE = """---
title: Balcony Strawberries
author: Rosa Verde
---

Balcony Strawberries

Strawberries in hanging baskets fruit from June when the runners are cut back in spring.
"""


@dataclass
class CollectionsEnv:
    server: Any
    bot: Any
    settings: Any
    qlog: Any
    general: int  # the default collection's channel (mapped to none)
    garden: int  # mapped to the "garden" collection
    folders: dict[str, Path]
    config: Path


def _write_config(path: Path, folders: dict[str, Path], dbs: dict[str, Path], garden_channel: int, state: Path) -> None:
    """The config a person would write for this set-up (for `citebot index --collection`)."""
    path.write_text(
        f'[corpus]\npaths = ["{folders["default"]}"]\n[index]\ndb = "{dbs["default"]}"\n'
        f'[log]\nstate_db = "{state}"\n\n'
        f'[[collections]]\nname = "garden"\npaths = ["{folders["garden"]}"]\nchannels = [{garden_channel}]\n\n'
        f'[[collections]]\nname = "handbook"\npaths = ["{folders["handbook"]}"]\n',
        encoding="utf-8",
    )


@contextlib.asynccontextmanager
async def collections_bot(tmp_path: Path, built_index: Path) -> AsyncIterator[CollectionsEnv]:
    """The bot with three collections: the default (the bundled article, channel #general),
    "garden" (mapped to #garden) and "handbook" (mapped nowhere: open to all). Each index is
    built with `index.reindex`, the settings come from a real config file."""
    from citebot.bot.discord.client import build_bot
    from citebot.bot.discord.live_collections import LiveCollections
    from citebot.bot.live_index import LiveIndex
    from citebot.bot.settings import load_settings
    from citebot.bot.state.questionlog import QuestionLog
    from citebot.index.build.reindex import rebuild_sync
    from citebot.index.indexfile import IndexReader
    from tests.support.discord_server import GuildSpec, discord_test_environment, running_client

    folders = {name: tmp_path / f"{name}-corpus" for name in ("default", "garden", "handbook")}
    for folder in folders.values():
        folder.mkdir()
    shutil.copy(BUNDLED_ARTICLE, folders["default"] / BUNDLED_ARTICLE.name)
    (folders["garden"] / "tomatoes.md").write_text(GARDEN_ARTICLE, encoding="utf-8")
    (folders["handbook"] / "handbook.md").write_text(HANDBOOK_ARTICLE, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    dbs = {"default": data / "index.sqlite3"}
    shutil.copy(built_index, dbs["default"])
    async with discord_test_environment(
        token=TOKEN, heartbeat_interval_ms=500, guilds=[GuildSpec(channels=("general", "garden"))]
    ) as server:
        general, garden = server.guilds[server.guild_id].channel_ids
        config = tmp_path / "config.toml"
        _write_config(config, folders, dbs, garden, data / "state.sqlite3")
        settings = load_settings(config)
        from dataclasses import replace

        from citebot.bot.settings import DiscordSettings

        settings = replace(
            settings,
            discord=DiscordSettings(
                api_base=server.base_url,
                gateway_url=server.gateway_url,
                dev_guild=server.guild_id,
                cooldown_seconds=0.0,
                reload_check_seconds=0.2,
            ),
        )
        for collection in settings.collections:
            rebuild_sync(list(collection.corpus_paths), collection.db_path, settings.index)
        live = LiveIndex(await IndexReader.open(settings.db_path), settings.answer)
        collections = await LiveCollections.open(settings, live)
        qlog = await QuestionLog.open(settings.state_db_path)
        try:
            bot = build_bot(settings, live, qlog, guild_ready_timeout=0.05, collections=collections)
            async with running_client(bot, TOKEN):
                yield CollectionsEnv(server, bot, settings, qlog, general, garden, folders, config)
            assert_no_server_paths(server.requests, (tmp_path,))
        finally:
            await qlog.close()
            await collections.close()
            await live.close()


@pytest.fixture
async def cenv(tmp_path: Path, built_index: Path) -> AsyncIterator[CollectionsEnv]:
    async with collections_bot(tmp_path, built_index) as env:
        yield env


async def mention(env: CollectionsEnv, text: str, channel: int, **kwargs: Any) -> dict[str, Any]:
    await env.server.dispatch_message(env.server.bot_mention_payload(text, channel_id=channel, **kwargs))
    return await env.server.wait_for_message(channel_id=channel, timeout=10)


async def slash(env: CollectionsEnv, name: str, options: dict[str, Any] | None = None, **kwargs: Any) -> dict:
    payload = env.server.slash_command_payload(name, options, **kwargs)
    await env.server.dispatch_interaction(payload)
    return payload


def answered(reply: dict[str, Any]) -> bool:
    return reply["content"].startswith("**Answer:**")


async def test_two_channels_answer_from_their_own_documents(cenv: CollectionsEnv) -> None:
    reply = await mention(cenv, TOMATOES, cenv.garden)
    assert answered(reply) and "Water balcony tomatoes every morning" in reply["content"]
    assert reply["embeds"][0]["fields"][0]["name"].startswith("[1] Growing Tomatoes on a Balcony")
    assert reply["embeds"][0]["footer"]["text"].startswith("collection garden · index generation 1")
    buttons = [c["custom_id"] for row in reply["components"] for c in row["components"]]
    assert buttons == ["citebot:vote:up:garden", "citebot:vote:down:garden"]

    reply = await mention(cenv, DEORBIT, cenv.general)
    assert answered(reply) and "deorbit" in reply["content"]
    assert reply["embeds"][0]["footer"]["text"].startswith("collection default · ")
    buttons = [c["custom_id"] for row in reply["components"] for c in row["components"]]
    assert buttons == ["citebot:vote:up", "citebot:vote:down"]

    # Each channel knows only its own documents.
    assert not answered(await mention(cenv, TOMATOES, cenv.general))
    assert not answered(await mention(cenv, DEORBIT, cenv.garden))

    rows = {(r[4], r[5]) for r in await cenv.qlog.recent()}
    assert rows == {(TOMATOES, 1), (DEORBIT, 1), (TOMATOES, 0), (DEORBIT, 0)}
    import sqlite3

    with sqlite3.connect(cenv.settings.state_db_path) as conn:
        logged = dict(conn.execute("SELECT question || '@' || channel_id, collection FROM questions"))
    assert logged[f"{TOMATOES}@{cenv.garden}"] == "garden" and logged[f"{DEORBIT}@{cenv.general}"] is None


async def test_ask_collection_autocomplete_offers_what_serves_here(cenv: CollectionsEnv) -> None:
    server = cenv.server
    # In #garden: its own collection first, then the default and the open-to-all one.
    payload = autocomplete_payload(
        server, "ask", {"question": "x", "collection": ""}, focused="collection", channel_id=cenv.garden
    )
    choices = await autocomplete_choices(server, payload)
    assert [c["value"] for c in choices] == ["garden", "default", "handbook"]
    assert all(c["name"] == c["value"] for c in choices)
    payload = autocomplete_payload(
        server, "ask", {"question": "x", "collection": "GA"}, focused="collection", channel_id=cenv.garden
    )
    assert [c["value"] for c in await autocomplete_choices(server, payload)] == ["garden"]
    # In #general, garden (mapped to #garden only) is not offered...
    payload = autocomplete_payload(
        server, "ask", {"question": "x", "collection": ""}, focused="collection", channel_id=cenv.general
    )
    assert [c["value"] for c in await autocomplete_choices(server, payload)] == ["default", "handbook"]
    # ...nor accepted when typed anyway; nothing is answered or logged.
    refused = await slash(cenv, "ask", {"question": TOMATOES, "collection": "garden"}, channel_id=cenv.general)
    response = await server.wait_for_interaction_response(refused["id"])
    assert response.type == 4 and response.data["flags"] & 64
    assert response.data["content"] == "No collection named garden here. Collections here: default, handbook."
    unknown = await slash(cenv, "ask", {"question": TOMATOES, "collection": "@everyone"}, channel_id=cenv.general)
    response = await server.wait_for_interaction_response(unknown["id"])
    assert "No collection named" in response.data["content"] and "@everyone" not in response.data["content"]
    assert await cenv.qlog.recent() == []

    # Chosen explicitly, a collection open to all answers in #general.
    chosen = await slash(cenv, "ask", {"question": BADGES, "collection": "handbook"}, channel_id=cenv.general)
    reply = await server.wait_for_message(interaction_id=int(chosen["id"]), timeout=10)
    assert answered(reply) and "front desk" in reply["content"]
    assert reply["embeds"][0]["footer"]["text"].startswith("collection handbook · ")
    # Without the option, #general answers from the default collection, which has no badges.
    plain = await slash(cenv, "ask", {"question": BADGES}, channel_id=cenv.general)
    assert not answered(await server.wait_for_message(interaction_id=int(plain["id"]), timeout=10))


async def test_source_reindex_and_stats_are_about_the_channels_collection(cenv: CollectionsEnv) -> None:
    server = cenv.server
    reply = await mention(cenv, TOMATOES, cenv.garden)
    passage_id = reply["embeds"][0]["fields"][0]["value"].split("id `", 1)[1].split("`", 1)[0]
    found = await slash(cenv, "source", {"id": passage_id}, channel_id=cenv.garden)
    shown = await server.wait_for_message(interaction_id=int(found["id"]), timeout=5)
    assert "potash" in shown["embeds"][0]["description"]
    assert shown["embeds"][0]["footer"]["text"] == "collection garden"
    missing = await slash(cenv, "source", {"id": passage_id}, channel_id=cenv.general)  # garden is not served there
    assert "No passage" in (await server.wait_for_interaction_response(missing["id"])).data["content"]

    (cenv.folders["garden"] / "strawberries.md").write_text(SECOND_GARDEN_ARTICLE, encoding="utf-8")
    default_generation = cenv.bot.live.reader.info.generation
    payload = await slash(cenv, "reindex", user=server.owner_user, channel_id=cenv.garden)
    done = await server.wait_for_message(interaction_id=int(payload["id"]), timeout=20)
    assert done["content"].startswith("Reindexed 2 documents of collection garden into ")
    assert cenv.bot.collections.live("garden").reader.info.documents == 2
    assert cenv.bot.live.reader.info.generation == default_generation  # the default was not rebuilt

    stats = await slash(cenv, "stats", channel_id=cenv.garden)
    embed = (await server.wait_for_message(interaction_id=int(stats["id"]), timeout=5))["embeds"][0]
    assert embed["title"] == "Citebot statistics · collection garden"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Index"].startswith("2 documents") and "generation 2" in fields["Index"]
    assert fields["Questions"].startswith("1 asked, 1 answered")
    stats = await slash(cenv, "stats", {"collection": "handbook"}, channel_id=cenv.general)
    embed = (await server.wait_for_message(interaction_id=int(stats["id"]), timeout=5))["embeds"][0]
    assert embed["title"].endswith("collection handbook")
    assert {f["name"]: f["value"] for f in embed["fields"]}["Questions"].startswith("0 asked")


async def test_command_line_reindex_of_one_collection_is_hot_reloaded(cenv: CollectionsEnv) -> None:
    question = "When do strawberries in hanging baskets fruit?"
    assert not answered(await mention(cenv, question, cenv.garden))
    (cenv.folders["garden"] / "strawberries.md").write_text(SECOND_GARDEN_ARTICLE, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CITEBOT_CONFIG")}
    proc = await asyncio.create_subprocess_exec(
        str(CITEBOT),
        "index",
        "--collection",
        "garden",
        "--config",
        str(cenv.config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
        cwd=cenv.config.parent,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert b"Indexed 2 documents" in out and b"index-garden.sqlite3" in out
    deadline = time.monotonic() + 10
    while not answered(reply := await mention(cenv, question, cenv.garden, author=cenv.server.make_user("eve"))):
        assert time.monotonic() < deadline, "the garden collection did not pick up its new index"
        await asyncio.sleep(0.25)
    assert "June" in reply["content"]
    assert cenv.bot.collections.live("garden").reader.info.generation == 2
    assert (
        cenv.bot.live.reader.info.generation == 1 and cenv.bot.collections.live("handbook").reader.info.generation == 1
    )
