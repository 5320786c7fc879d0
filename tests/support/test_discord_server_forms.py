"""The loopback server's checks of autocomplete results and modals (tests/support/discord_server/forms.py):
what Discord refuses is refused, what discord.py sends for a valid form passes."""

from __future__ import annotations

import discord

from citebot.bot.discord.cogs.feedback import ReasonModal
from tests.support.discord_server import interaction_response_problem


def choices(n: int, name: str = "c") -> dict:
    return {"choices": [{"name": f"{name}{i}", "value": f"v{i}"} for i in range(n)]}


def test_autocomplete_results_within_discords_limits_only() -> None:
    assert interaction_response_problem(8, choices(25)) is None
    assert "data.choices" in interaction_response_problem(8, choices(26))
    assert "data.choices.0.name" in interaction_response_problem(8, choices(1, "x" * 100))
    assert "data.choices.0.name" in interaction_response_problem(8, {"choices": [{"name": "", "value": "v"}]})
    assert "data.choices.0.value" in interaction_response_problem(8, {"choices": [{"name": "n", "value": None}]})
    assert "data.choices" in interaction_response_problem(8, {})
    assert interaction_response_problem(4, {"content": ""}) is None  # not a form: the server's own checks


def test_modals_discord_py_builds_pass_and_broken_ones_are_named() -> None:
    modal = ReasonModal(1, "Thanks! Your 👎 is recorded.").to_dict()
    assert interaction_response_problem(9, modal) is None
    legacy = discord.ui.Modal(title="Old style")
    legacy.add_item(discord.ui.TextInput(label="Reason", custom_id="r"))
    assert interaction_response_problem(9, legacy.to_dict()) is None  # a bare input, wrapped in an action row

    assert "data.title" in interaction_response_problem(9, {**modal, "title": "x" * 46})
    assert "data.components" in interaction_response_problem(9, {**modal, "components": []})
    text_input = {"type": 4, "custom_id": "a", "style": 1, "max_length": 10}
    rows = {"custom_id": "m", "title": "t", "components": [{"type": 1, "components": [text_input]}]}
    assert "data.components.0.components.0.label" in interaction_response_problem(9, rows)  # a row's input needs one
    labelled = {
        "custom_id": "m",
        "title": "t",
        "components": [
            {"type": 18, "label": "Why?", "component": {**text_input, "label": "twice"}},
            {"type": 18, "label": "And?", "component": {**text_input, "min_length": 11}},
        ],
    }
    problems = interaction_response_problem(9, labelled)
    assert set(problems) == {
        "data.components.0.component.label",
        "data.components.1.component.custom_id",
        "data.components.1.component.min_length",
    }
    assert "data.components.0.type" in interaction_response_problem(9, {**rows, "components": [{"type": 2}]})
