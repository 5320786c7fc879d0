"""``/channels/{channel_id}`` and its messages: read, send, edit, delete, react, type."""

from __future__ import annotations

import copy
from typing import Any

from ..bot_messages import BotMessages
from ..payloads import public_message
from ..protocol import MSG_DEFAULT, MSG_REPLY, ApiError, form_error
from ..records import Recorder
from ..rest import ApiRequest, Route
from ..state import ServerState

_MESSAGE = "/channels/{channel_id}/messages/{message_id}"
_OWN_REACTION = _MESSAGE + "/reactions/{emoji}/@me"
MAX_CONTENT = 2000


class MessageRoutes:
    def __init__(self, state: ServerState, messages: BotMessages, recorder: Recorder) -> None:
        self.state = state
        self.messages = messages
        self.recorder = recorder

    def routes(self) -> list[Route]:
        return [
            ("GET", "/channels/{channel_id}", self.get_channel, True),
            ("GET", "/channels/{channel_id}/messages", self.get_messages, True),
            ("POST", "/channels/{channel_id}/messages", self.create_message, True),
            ("POST", "/channels/{channel_id}/typing", self.typing, True),
            ("GET", _MESSAGE, self.get_message, True),
            ("PATCH", _MESSAGE, self.edit_message, True),
            ("DELETE", _MESSAGE, self.delete_message, True),
            ("PUT", _OWN_REACTION, self.add_reaction, True),
            ("DELETE", _OWN_REACTION, self.remove_reaction, True),
        ]

    async def get_channel(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self.state.channel_or_404(req.int_param("channel_id")))

    async def get_messages(self, req: ApiRequest) -> tuple[int, Any]:
        cid = req.int_param("channel_id")
        self.state.channel_or_404(cid)
        query = req.record.query
        limit = int(query.get("limit", "50"))
        msgs = sorted(
            (m for m in self.state.messages.values() if int(m["channel_id"]) == cid),
            key=lambda m: int(m["id"]),
            reverse=True,
        )
        if "before" in query:
            msgs = [m for m in msgs if int(m["id"]) < int(query["before"])]
        if "after" in query:
            msgs = [m for m in msgs if int(m["id"]) > int(query["after"])]
        return 200, [public_message(m) for m in msgs[:limit]]

    async def get_message(self, req: ApiRequest) -> tuple[int, Any]:
        msg = self.state.message_or_404(req.int_param("channel_id"), req.int_param("message_id"))
        return 200, public_message(msg)

    async def create_message(self, req: ApiRequest) -> tuple[int, Any]:
        cid = req.int_param("channel_id")
        self.state.channel_or_404(cid)
        body = req.body
        if not (
            body.get("content")
            or body.get("embeds")
            or req.files
            or body.get("sticker_ids")
            or body.get("components")
            or body.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if len(body.get("content") or "") > MAX_CONTENT:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
        msg_type = MSG_REPLY if body.get("message_reference") else MSG_DEFAULT
        msg = self.messages.new(cid, body, req.files, message_type=msg_type)
        await self.messages.publish(msg)
        return 200, public_message(msg)

    async def typing(self, req: ApiRequest) -> tuple[int, Any]:
        cid = req.int_param("channel_id")
        self.state.channel_or_404(cid)
        self.recorder.typing_channels.append(cid)
        return 204, None

    async def edit_message(self, req: ApiRequest) -> tuple[int, Any]:
        msg = self.state.message_or_404(req.int_param("channel_id"), req.int_param("message_id"))
        body = req.body
        if str(msg["author"]["id"]) != self.state.bot_user["id"] and set(body) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        await self.messages.apply_edit(msg, body, req.files)
        return 200, public_message(msg)

    async def delete_message(self, req: ApiRequest) -> tuple[int, Any]:
        msg = self.state.message_or_404(req.int_param("channel_id"), req.int_param("message_id"))
        await self.messages.delete(msg)
        return 204, None

    async def add_reaction(self, req: ApiRequest) -> tuple[int, Any]:
        cid, mid = req.int_param("channel_id"), req.int_param("message_id")
        self.state.message_or_404(cid, mid)
        self.recorder.reactions_added.append((cid, mid, req.params["emoji"]))
        return 204, None

    async def remove_reaction(self, req: ApiRequest) -> tuple[int, Any]:
        cid, mid = req.int_param("channel_id"), req.int_param("message_id")
        self.state.message_or_404(cid, mid)
        return 204, None
