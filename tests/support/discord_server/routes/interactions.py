"""Interaction responses (``/interactions/{id}/{token}/callback``) and what follows them on
the interaction's webhook: follow-ups and the ``@original`` message.

Neither kind of request carries ``Authorization``: the interaction token authenticates it.
Callbacks come with ``?with_response=1`` and discord.py parses the answer
(``{"interaction": {...}, "resource": {"type": .., "message": {...}}}``); the
``response_message_id`` is what a ``View`` sent with ``response.send_message`` is registered
under, so a later click must carry that message.
"""

from __future__ import annotations

import copy
from typing import Any

from ..bot_messages import BotMessages
from ..forms import interaction_response_problem
from ..payloads import public_message
from ..protocol import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_AUTOCOMPLETE,
    INTERACTION_COMPONENT,
    INTERACTION_MODAL_SUBMIT,
    INTERACTION_PING,
    JSON,
    MSG_CHAT_INPUT_COMMAND,
    MSG_DEFAULT,
    ApiError,
    form_error,
)
from ..records import InteractionResponseRecord, Recorder
from ..rest import ApiRequest, Route
from ..state import Interaction, ServerState

# Which callback types Discord accepts for which interaction type.
_ALLOWED_RESPONSES = {
    INTERACTION_PING: {1},
    INTERACTION_APPLICATION_COMMAND: {4, 5, 9, 10, 12},
    INTERACTION_COMPONENT: {4, 5, 6, 7, 9, 10, 12},
    INTERACTION_AUTOCOMPLETE: {8},
    INTERACTION_MODAL_SUBMIT: {4, 5, 6, 7},
}
_WEBHOOK = "/webhooks/{application_id}/{token}"
_WEBHOOK_MESSAGE = _WEBHOOK + "/messages/{message_id}"


def _has_message_content(data: JSON, req: ApiRequest) -> bool:
    return bool(data.get("content") or data.get("embeds") or req.files or data.get("components") or data.get("poll"))


class InteractionRoutes:
    """The interaction callback: one response per interaction, of a type that fits it."""

    def __init__(self, state: ServerState, messages: BotMessages, recorder: Recorder) -> None:
        self.state = state
        self.messages = messages
        self.recorder = recorder

    def routes(self) -> list[Route]:
        return [("POST", "/interactions/{interaction_id}/{token}/callback", self.callback, False)]

    def _interaction(self, req: ApiRequest) -> Interaction:
        state = self.state.interactions.get(req.int_param("interaction_id"))
        if state is None or state.token != req.params.get("token"):
            raise ApiError(404, 10062, "Unknown interaction")
        return state

    def _check(self, state: Interaction, rtype: Any, data: JSON | None, req: ApiRequest) -> None:
        """Discord's refusals, in its order: already answered, wrong type, empty, bad form."""
        if state.responded_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if rtype not in _ALLOWED_RESPONSES.get(state.type, set()):
            raise form_error(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Response type {rtype} not valid for interaction type {state.type}",
            )
        if rtype == 4 and not (data and _has_message_content(data, req)):
            raise ApiError(400, 50006, "Cannot send an empty message")
        form_errors = interaction_response_problem(rtype, data)  # autocomplete results, modals
        if form_errors:
            raise ApiError(400, 50035, "Invalid Form Body", form_errors)

    async def callback(self, req: ApiRequest) -> tuple[int, Any]:
        state = self._interaction(req)
        body = req.body
        rtype = body.get("type")
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        self._check(state, rtype, data, req)

        channel_id = int(state.payload["channel_id"])
        message: JSON | None = None
        interaction_info: JSON = {"id": str(state.id), "type": state.type}
        mtype = MSG_CHAT_INPUT_COMMAND if state.type == INTERACTION_APPLICATION_COMMAND else MSG_DEFAULT
        if rtype == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            message = self.messages.new(channel_id, data or {}, req.files, interaction=state, message_type=mtype)
            state.original_message_id = int(message["id"])
            await self.messages.publish(message)
        elif rtype == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: a "thinking..." message
            message = self.messages.new(
                channel_id, data or {}, [], interaction=state, message_type=mtype, extra_flags=FLAG_LOADING
            )
            state.original_message_id = int(message["id"])
            state.original_loading = True
            await self.messages.publish(message, visible=False)
            interaction_info["response_message_loading"] = True
        elif rtype == 7:  # UPDATE_MESSAGE: the message the component is on
            target = state.payload.get("message") or {}
            stored = self.state.messages.get(int(target.get("id", 0) or 0))
            if stored is None:
                raise ApiError(404, 10008, "Unknown Message")
            message = await self.messages.apply_edit(stored, data or {}, req.files)

        state.responded_type = int(rtype)
        if message is not None:
            interaction_info["response_message_id"] = message["id"]
            interaction_info["response_message_ephemeral"] = bool(message["flags"] & FLAG_EPHEMERAL)
        self.recorder.interaction_responses.append(
            InteractionResponseRecord(
                state.id,
                state.type,
                state.token,
                int(rtype),
                copy.deepcopy(data),
                list(req.files),
                copy.deepcopy(message) if message else None,
                req.record,
            )
        )
        response: JSON = {"interaction": interaction_info}
        if message is not None:
            response["resource"] = {"type": rtype, "message": public_message(message)}
        elif rtype in (6, 8, 9):
            response["resource"] = {"type": rtype}
        return 200, response


class WebhookRoutes:
    """The interaction's webhook: follow-ups, and reading/editing/deleting its messages.

    The first follow-up after a deferred (type 5) response completes the loading message
    instead of creating one, as on Discord.
    """

    def __init__(self, state: ServerState, messages: BotMessages, recorder: Recorder) -> None:
        self.state = state
        self.messages = messages
        self.recorder = recorder

    def routes(self) -> list[Route]:
        return [
            ("GET", _WEBHOOK, self.get_webhook, False),
            ("POST", _WEBHOOK, self.followup, False),
            ("GET", _WEBHOOK_MESSAGE, self.get_message, False),
            ("PATCH", _WEBHOOK_MESSAGE, self.edit_message, False),
            ("DELETE", _WEBHOOK_MESSAGE, self.delete_message, False),
        ]

    def _interaction(self, req: ApiRequest) -> Interaction:
        if req.int_param("application_id") != self.state.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        state = self.state.interactions_by_token.get(req.params.get("token", ""))
        if state is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        return state

    def _message(self, req: ApiRequest) -> tuple[Interaction, JSON]:
        """The interaction and the message ``{message_id}`` (or ``@original``) names."""
        state = self._interaction(req)
        raw_id = req.params.get("message_id", "")
        if raw_id == "@original":
            if state.original_message_id is None:
                raise ApiError(404, 10008, "Unknown Message")
            mid = state.original_message_id
        else:
            mid = req.int_param("message_id")
            if mid != state.original_message_id and mid not in state.followup_ids:
                raise ApiError(404, 10008, "Unknown Message")
        msg = self.state.messages.get(mid)
        if msg is None:
            raise ApiError(404, 10008, "Unknown Message")
        return state, msg

    async def get_webhook(self, req: ApiRequest) -> tuple[int, Any]:
        self._interaction(req)
        app_id = str(self.state.application_id)
        return 200, {
            "id": app_id,
            "type": 3,
            "name": self.state.bot_user["username"],
            "avatar": None,
            "application_id": app_id,
            "token": req.params["token"],
        }

    async def followup(self, req: ApiRequest) -> tuple[int, Any]:
        state = self._interaction(req)
        if state.responded_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        body = req.body
        if not _has_message_content(body, req):
            raise ApiError(400, 50006, "Cannot send an empty message")
        original_id = state.original_message_id
        if state.original_loading and original_id is not None and original_id in self.state.messages:
            msg = self.state.messages[original_id]
            msg["flags"] &= ~FLAG_LOADING
            await self.messages.apply_edit(msg, {**body, "flags": None}, req.files)
            state.original_loading = False
            self.recorder.sent_messages.append(msg)
        else:
            msg = self.messages.new(int(state.payload["channel_id"]), body, req.files, interaction=state)
            state.followup_ids.append(int(msg["id"]))
            await self.messages.publish(msg)
        wait = req.record.query.get("wait", "false").lower() in ("1", "true")
        return (200, public_message(msg)) if wait else (204, None)

    async def get_message(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, public_message(self._message(req)[1])

    async def edit_message(self, req: ApiRequest) -> tuple[int, Any]:
        state, msg = self._message(req)
        completing = state.original_loading and int(msg["id"]) == state.original_message_id
        if completing:
            msg["flags"] &= ~FLAG_LOADING
            state.original_loading = False
        await self.messages.apply_edit(msg, req.body, req.files)
        if completing:
            self.recorder.sent_messages.append(msg)
        return 200, public_message(msg)

    async def delete_message(self, req: ApiRequest) -> tuple[int, Any]:
        state, msg = self._message(req)
        if int(msg["id"]) == state.original_message_id:
            state.original_loading = False
        await self.messages.delete(msg)
        return 204, None
