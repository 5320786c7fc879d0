"""Modals and autocomplete for the loopback Discord server (tests/discord_server/).

Why a module of its own: what modals and autocomplete need is small and self-contained, and
the interaction callback route only asks it whether a type 8/9 body is valid.

* ``interaction_response_problem(rtype, data)`` checks the body of a callback of type 8
  (``APPLICATION_COMMAND_AUTOCOMPLETE_RESULT``) and type 9 (``MODAL``) as Discord does; the
  server answers 400 ``50035 Invalid Form Body`` with the errors it returns, so a bot that
  offers 26 choices or a 46-character modal title fails in the test as it would in production.
* ``autocomplete_payload(server, "ask", {"question": "hi", "collection": "ga"}, focused="collection")``
  is the ``INTERACTION_CREATE`` (type 4) Discord sends while someone types into an option
  declared with ``autocomplete``: the options typed so far, the focused one marked
  ``focused: true`` and carrying the partial text. It refuses an option the synced command
  does not declare for autocomplete (Discord would never send it).
* ``modal_submit_payload(server, opened_by, {"custom-id": "text"})`` is the
  ``MODAL_SUBMIT`` (type 5) for the modal the bot sent in answer to the interaction
  ``opened_by``, filled in by the person who opened it. Like Discord's client it refuses what
  cannot be submitted: an empty required input, text outside an input's min/max length, a
  custom_id the modal does not have. Inputs wrapped in an action row (type 1) and in a label
  (type 18) are both understood, and echoed back in the same shape, as Discord does.
* ``autocomplete_choices(server, payload)`` dispatches an autocomplete payload and returns the
  choices the bot answered with.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .protocol import INTERACTION_AUTOCOMPLETE as _INTERACTION_AUTOCOMPLETE
from .protocol import INTERACTION_MODAL_SUBMIT as _INTERACTION_MODAL_SUBMIT
from .protocol import JSON

if TYPE_CHECKING:
    from .server import DiscordTestServer

_RESPONSE_AUTOCOMPLETE_RESULT = 8
_RESPONSE_MODAL = 9
_ACTION_ROW, _TEXT_INPUT, _LABEL = 1, 4, 18

MAX_CHOICES = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
MODAL_TITLE_MAX = 45
MODAL_COMPONENTS_MAX = 5
CUSTOM_ID_MAX = 100
LABEL_MAX = 45
LABEL_DESCRIPTION_MAX = 100
PLACEHOLDER_MAX = 100
TEXT_MAX = 4000


def _error(errors: JSON, path: str, code: str, message: str) -> None:
    errors.setdefault(path, {"_errors": []})["_errors"].append({"code": code, "message": message})


def _length_problem(errors: JSON, path: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        shown = len(value) if isinstance(value, str) else type(value).__name__
        _error(errors, path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length (got {shown}).")


def interaction_response_problem(rtype: Any, data: JSON | None) -> JSON | None:
    """Discord's form errors for an autocomplete result or a modal, or None when it is valid
    (other response types are the server's own business)."""
    if rtype == _RESPONSE_AUTOCOMPLETE_RESULT:
        return _autocomplete_problem(data)
    if rtype == _RESPONSE_MODAL:
        return _modal_problem(data)
    return None


def _autocomplete_problem(data: JSON | None) -> JSON | None:
    errors: JSON = {}
    choices = (data or {}).get("choices")
    if not isinstance(choices, list):
        _error(errors, "data.choices", "BASE_TYPE_REQUIRED", "This field is required")
        return errors
    if len(choices) > MAX_CHOICES:
        _error(errors, "data.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length.")
    for n, choice in enumerate(choices):
        if not isinstance(choice, dict):
            _error(errors, f"data.choices.{n}", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        _length_problem(errors, f"data.choices.{n}.name", choice.get("name"), 1, CHOICE_NAME_MAX)
        value = choice.get("value")
        if isinstance(value, str):
            _length_problem(errors, f"data.choices.{n}.value", value, 0, CHOICE_VALUE_MAX)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            _error(errors, f"data.choices.{n}.value", "BASE_TYPE_REQUIRED", "This field is required")
    return errors or None


def _modal_problem(data: JSON | None) -> JSON | None:
    errors: JSON = {}
    data = data or {}
    _length_problem(errors, "data.custom_id", data.get("custom_id"), 1, CUSTOM_ID_MAX)
    _length_problem(errors, "data.title", data.get("title"), 1, MODAL_TITLE_MAX)
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= MODAL_COMPONENTS_MAX:
        _error(
            errors,
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {MODAL_COMPONENTS_MAX} in length.",
        )
        return errors
    seen: set[str] = set()
    for n, component in enumerate(components):
        path = f"data.components.{n}"
        kind = component.get("type") if isinstance(component, dict) else None
        if kind == _ACTION_ROW:
            inner = component.get("components")
            if not isinstance(inner, list) or len(inner) != 1:
                _error(errors, f"{path}.components", "BASE_TYPE_BAD_LENGTH", "Must be 1 in length.")
                continue
            _text_input_problem(errors, f"{path}.components.0", inner[0], labelled=False, seen=seen)
        elif kind == _LABEL:
            _length_problem(errors, f"{path}.label", component.get("label"), 1, LABEL_MAX)
            if component.get("description") is not None:
                _length_problem(errors, f"{path}.description", component["description"], 1, LABEL_DESCRIPTION_MAX)
            _text_input_problem(errors, f"{path}.component", component.get("component"), labelled=True, seen=seen)
        else:
            _error(
                errors,
                f"{path}.type",
                "COMPONENT_TYPE_INVALID",
                f"Component type {kind!r} is not valid here (this server knows action rows and labels "
                f"holding text inputs)",
            )
    return errors or None


def _text_input_problem(errors: JSON, path: str, text_input: Any, *, labelled: bool, seen: set[str]) -> None:
    if not isinstance(text_input, dict) or text_input.get("type") != _TEXT_INPUT:
        _error(errors, f"{path}.type", "COMPONENT_TYPE_INVALID", "Expected a text input (type 4)")
        return
    custom_id = text_input.get("custom_id")
    _length_problem(errors, f"{path}.custom_id", custom_id, 1, CUSTOM_ID_MAX)
    if isinstance(custom_id, str):
        if custom_id in seen:
            _error(
                errors,
                f"{path}.custom_id",
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen.add(custom_id)
    if text_input.get("style") not in (1, 2):
        _error(errors, f"{path}.style", "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
    if labelled:
        if text_input.get("label") is not None:
            _error(
                errors,
                f"{path}.label",
                "COMPONENT_LABEL_NOT_ALLOWED",
                "A text input in a label has no label of its own",
            )
    else:
        _length_problem(errors, f"{path}.label", text_input.get("label"), 1, LABEL_MAX)
    low, high = text_input.get("min_length", 0), text_input.get("max_length", TEXT_MAX)
    if not isinstance(low, int) or not 0 <= low <= TEXT_MAX:
        _error(errors, f"{path}.min_length", "NUMBER_TYPE_MAX", f"Must be between 0 and {TEXT_MAX}.")
    if not isinstance(high, int) or not 1 <= high <= TEXT_MAX:
        _error(errors, f"{path}.max_length", "NUMBER_TYPE_MAX", f"Must be between 1 and {TEXT_MAX}.")
    elif isinstance(low, int) and low > high:
        _error(errors, f"{path}.min_length", "BASE_TYPE_BAD_LENGTH", "min_length must not exceed max_length")
    if text_input.get("placeholder") is not None:
        _length_problem(errors, f"{path}.placeholder", text_input["placeholder"], 0, PLACEHOLDER_MAX)
    if text_input.get("value") is not None:
        _length_problem(errors, f"{path}.value", text_input["value"], 0, TEXT_MAX)


# --------------------------------------------------------------------------------------
# Payloads


def autocomplete_payload(
    server: DiscordTestServer, name: str, options: Mapping[str, Any], *, focused: str, **kwargs: Any
) -> JSON:
    """An APPLICATION_COMMAND_AUTOCOMPLETE (type 4) ``INTERACTION_CREATE`` ``d`` payload: the
    options typed so far, `focused` marked and holding its partial text (see the module docstring)."""
    if focused not in options:
        raise ValueError(f"the focused option {focused!r} must be among the options typed so far")
    payload = server.slash_command_payload(name, dict(options), **kwargs)
    gid = int(payload["guild_id"]) if "guild_id" in payload else None
    synced, _ = server.state.find_synced_command(name.split()[0], gid, 1)
    declared = {o["name"]: o for o in (synced or {}).get("options", []) if isinstance(o, dict)}
    if synced is not None and not declared.get(focused, {}).get("autocomplete"):
        raise ValueError(f"/{name} does not declare {focused!r} with autocomplete; Discord would not send this")
    payload["type"] = _INTERACTION_AUTOCOMPLETE
    for option in payload["data"].get("options", []):
        if option["name"] == focused:
            option["focused"] = True
            option["value"] = str(options[focused])  # what has been typed so far, always text
    return payload


async def autocomplete_choices(server: DiscordTestServer, payload: JSON, timeout: float = 5.0) -> list[JSON]:
    """Dispatch an autocomplete payload; the choices the bot answered with (type 8)."""
    await server.dispatch_interaction(payload)
    response = await server.wait_for_interaction_response(payload["id"], timeout=timeout)
    if response.type != _RESPONSE_AUTOCOMPLETE_RESULT:
        raise AssertionError(f"an autocomplete was answered with response type {response.type}, not 8")
    return list((response.data or {}).get("choices", []))


def modal_sent_for(server: DiscordTestServer, opened_by: Any) -> JSON:
    """The modal (type 9 response body) the bot sent in answer to the interaction `opened_by`
    (its payload or id)."""
    iid = int(opened_by["id"]) if isinstance(opened_by, Mapping) else int(opened_by)
    for record in server.interaction_responses:
        if record.interaction_id == iid and record.type == _RESPONSE_MODAL:
            return copy.deepcopy(record.data or {})
    raise LookupError(f"interaction {iid} was not answered with a modal")


def modal_submit_payload(
    server: DiscordTestServer, opened_by: Any, values: Mapping[str, str], *, user: Any = None
) -> JSON:
    """A MODAL_SUBMIT (type 5) ``INTERACTION_CREATE`` ``d`` payload for the modal the bot sent in
    answer to `opened_by`, with `values` by text input custom_id (unset inputs submit empty).

    Submitted by the person who opened it unless `user` says otherwise, from the same channel;
    a modal opened from a button carries that button's message, as Discord's does."""
    modal = modal_sent_for(server, opened_by)
    opener = opened_by if isinstance(opened_by, Mapping) else server.state.interactions[int(opened_by)].payload
    inputs = _inputs(modal)
    unknown = set(values) - set(inputs)
    if unknown:
        raise ValueError(f"the modal has no text input {sorted(unknown)[0]!r} (it has {sorted(inputs)})")
    for custom_id, text_input in inputs.items():
        value = values.get(custom_id, "")
        if text_input.get("required", True) and not value:
            raise ValueError(f"text input {custom_id!r} is required: Discord does not submit the modal without it")
        if value and not text_input.get("min_length", 0) <= len(value) <= text_input.get("max_length", TEXT_MAX):
            raise ValueError(
                f"{len(value)} characters do not fit text input {custom_id!r} "
                f"({text_input.get('min_length', 0)}-{text_input.get('max_length', TEXT_MAX)})"
            )
    submitter = user if user is not None else _user_of(opener)
    channel_id = int(opener["channel_id"])
    guild_id = int(opener["guild_id"]) if "guild_id" in opener else None
    base = server.interaction_payloads.interaction_base(
        _INTERACTION_MODAL_SUBMIT,
        user=submitter,
        guild_id=guild_id,
        channel_id=channel_id,
        permissions=None,
        locale=opener.get("locale", "en-US"),
    )
    echoed = []
    for n, component in enumerate(modal["components"]):
        if component["type"] == _LABEL:
            inner = component["component"]
            echoed.append(
                {
                    "type": _LABEL,
                    "id": 2 * n + 1,
                    "component": {
                        "type": _TEXT_INPUT,
                        "id": 2 * n + 2,
                        "custom_id": inner["custom_id"],
                        "value": values.get(inner["custom_id"], ""),
                    },
                }
            )
        else:
            inner = component["components"][0]
            echoed.append(
                {
                    "type": _ACTION_ROW,
                    "id": 2 * n + 1,
                    "components": [
                        {
                            "type": _TEXT_INPUT,
                            "id": 2 * n + 2,
                            "custom_id": inner["custom_id"],
                            "value": values.get(inner["custom_id"], ""),
                        }
                    ],
                }
            )
    base["data"] = {"custom_id": modal["custom_id"], "components": echoed}
    if "message" in opener:
        base["message"] = copy.deepcopy(opener["message"])
    return base


def _inputs(modal: JSON) -> dict[str, JSON]:
    inputs: dict[str, JSON] = {}
    for component in modal.get("components", []):
        inner = component["component"] if component.get("type") == _LABEL else component["components"][0]
        inputs[inner["custom_id"]] = inner
    return inputs


def _user_of(payload: Mapping[str, Any]) -> int:
    who = (payload.get("member") or {}).get("user") or payload.get("user") or {}
    return int(who["id"])
