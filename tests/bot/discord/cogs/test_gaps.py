"""Knowledge gaps in Discord: a 👎 opens the reason modal, `/gaps` reports declined and 👎 questions.

The real discord.py client against the loopback server (modals and autocomplete from
tests/support/discord_server/forms.py), on the bundled article.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.support.discord_server import modal_sent_for, modal_submit_payload
from tests.support.helpers import BotEnv, running_bot

DEORBIT = "When will the ISS be deorbited?"
MONA = "Who painted the Mona Lisa?"
MONA_AGAIN = "Where is the Mona Lisa painted by Leonardo?"
REASON = "It gives the plan, not the date"


async def ask(env: BotEnv, text: str) -> dict[str, Any]:
    await env.server.dispatch_message(env.server.bot_mention_payload(text))
    return await env.server.wait_for_message(channel_id=env.server.channel_id, timeout=10)


async def gaps(env: BotEnv, user: Any, days: int | None = None) -> Any:
    payload = env.server.slash_command_payload("gaps", {"days": days} if days else None, user=user)
    await env.server.dispatch_interaction(payload)
    return payload


def reason_input(modal: dict[str, Any]) -> str:
    [label] = modal["components"]
    assert label["type"] == 18 and label["label"] == "What was wrong or missing? (optional)"
    assert label["component"]["required"] is False and label["component"]["max_length"] == 200
    return label["component"]["custom_id"]


async def test_downvote_opens_reason_modal_and_gaps_reports_it(env: BotEnv) -> None:
    server = env.server
    for question in (MONA, MONA_AGAIN):
        assert not (await ask(env, question))["content"].startswith("**Answer:**")
    answer = await ask(env, DEORBIT)
    assert answer["content"].startswith("**Answer:**")

    click = server.component_payload("citebot:vote:down", answer)
    await server.dispatch_interaction(click)
    opened = await server.wait_for_interaction_response(click["id"])
    assert opened.type == 9 and opened.data["title"] == "Thanks! Your 👎 is recorded."
    assert (await env.qlog.stats()).thumbs_down == 1  # counted at the click, whatever the modal becomes

    modal = modal_sent_for(server, click)
    with pytest.raises(ValueError, match="do not fit"):  # longer than the input takes: Discord would not submit
        modal_submit_payload(server, click, {reason_input(modal): "x" * 201})
    submit = modal_submit_payload(server, click, {reason_input(modal): REASON})
    await server.dispatch_interaction(submit)
    thanks = await server.wait_for_interaction_response(submit["id"])
    assert thanks.type == 4 and thanks.data["flags"] & 64
    assert thanks.data["content"] == "Thanks, your reason is recorded with your 👎."
    with sqlite3.connect(env.settings.state_db_path) as conn:
        assert conn.execute("SELECT vote, reason FROM feedback").fetchall() == [(-1, REASON)]

    refused = await gaps(env, server.default_user)  # no Manage Server
    response = await server.wait_for_interaction_response(refused["id"])
    assert response.data["flags"] & 64 and "Manage Server" in response.data["content"]

    payload = await gaps(env, server.owner_user, days=3)
    deferred = await server.wait_for_interaction_response(payload["id"])
    assert deferred.type == 5 and deferred.data["flags"] & 64  # ephemeral from the start
    report = await server.wait_for_message(interaction_id=int(payload["id"]), timeout=10)
    assert report["flags"] & 64
    [embed] = report["embeds"]
    assert embed["title"] == "Knowledge gaps · last 3 days"
    assert embed["description"].startswith("3 questions declined or voted 👎, in 2 groups")
    first, second = embed["fields"]
    assert first["name"] == "2× lisa, mona, painted"
    assert first["value"].startswith("2 declined · 0 👎")
    assert f"• {MONA_AGAIN}\n• {MONA}" in first["value"]  # the most recent first
    assert second["name"].startswith("1× ") and "deorbited" in second["name"]
    assert "0 declined · 1 👎" in second["value"] and f"Reasons: “{REASON}”" in second["value"]
    assert 'Closest passage: "NASA and Roscosmos' in second["value"] and "id `" in second["value"]


async def test_no_reason_modal_when_question_logging_is_off(tmp_path: Path, built_index: Path) -> None:
    """A reason is text people write; with log.questions off it is never asked for."""
    async with running_bot(tmp_path, built_index, log_questions=False) as env:
        answer = await ask(env, DEORBIT)
        click = env.server.component_payload("citebot:vote:down", answer)
        await env.server.dispatch_interaction(click)
        response = await env.server.wait_for_interaction_response(click["id"])
        assert response.type == 4 and response.data["content"] == "Thanks! Your 👎 is recorded."
        payload = await gaps(env, env.server.owner_user)
        report = await env.server.wait_for_message(interaction_id=int(payload["id"]), timeout=10)
        assert "Question logging is off" in report["embeds"][0]["description"]
