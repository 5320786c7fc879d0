"""Talking to the product's bot on the loopback Discord server (a `BotEnv` from
tests.support.helpers.running_bot): a mention or a slash command in, what it sent checked for
Discord's limits and for pings (`assert_safe`, `pings_nobody`), and the texts the bot tests ask
about (`DEORBIT`, `NEW_ARTICLE`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from citebot.bot.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_VALUE_LIMIT,
)
from tests.support.helpers import BotEnv

DEORBIT = "When will the ISS be deorbited?"


def assert_safe(message: dict[str, Any]) -> None:
    """Within Discord's limits, and nobody pinged."""
    assert len(message.get("content") or "") <= CONTENT_LIMIT
    embeds = message.get("embeds") or []
    total = 0
    for embed in embeds:
        assert len(embed.get("description") or "") <= DESCRIPTION_LIMIT
        fields = embed.get("fields") or []
        assert len(fields) <= FIELD_COUNT_LIMIT
        assert all(len(f["value"]) <= FIELD_VALUE_LIMIT and len(f["name"]) <= 256 for f in fields)
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
    assert total <= EMBED_TOTAL_LIMIT
    assert message.get("mentions") == [] and message.get("mention_roles") in (None, [])
    assert not message.get("mention_everyone")


def pings_nobody(body: dict[str, Any]) -> bool:
    """Discord's reading of allowed_mentions: nothing parsed, no ids listed, no reply ping."""
    allowed = body["allowed_mentions"]
    return (
        allowed["parse"] == []
        and not allowed.get("users")
        and not allowed.get("roles")
        and not allowed.get("replied_user")
    )


async def ask_by_mention(env: BotEnv, text: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    incoming = env.server.bot_mention_payload(text, **kwargs)
    await env.server.dispatch_message(incoming)
    reply = await env.server.wait_for_message(channel_id=int(incoming["channel_id"]), timeout=10)
    return incoming, reply


async def slash(env: BotEnv, name: str, options: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    payload = env.server.slash_command_payload(name, options, **kwargs)
    await env.server.dispatch_interaction(payload)
    return payload


async def nothing_sent(env: BotEnv, seconds: float = 0.4) -> bool:
    with pytest.raises(asyncio.TimeoutError):
        await env.server.wait_for_message(timeout=seconds)
    return True


NEW_ARTICLE = """---
title: The Zorblax Lunar Greenhouse
author: Ada Quill
url: https://example.org/zorblax-greenhouse
---

The Zorblax Lunar Greenhouse

The Zorblax greenhouse grows purple potatoes in lunar regolith under inflatable domes near Shackleton crater.

Its builders say the greenhouse recycles every drop of water through a fungal filter designed by Ada Quill.
"""
