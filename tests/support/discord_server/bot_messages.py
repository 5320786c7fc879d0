"""The bot's own messages: created from a create-message body (channel message, interaction
response, follow-up, forum post), echoed back over the gateway, edited, deleted.

Shared by the message, interaction and thread routes, which is why it is neither of them:
a deferred interaction response completed by a follow-up must edit exactly like a channel
message edit, and every creation must be echoed exactly like the others.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from .gateway import Gateway
from .payloads import Payloads, public_message
from .protocol import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_COMPONENT,
    JSON,
    MSG_DEFAULT,
    SETTABLE_MESSAGE_FLAGS,
    form_error,
    iso_now,
)
from .records import RecordedFile, Recorder
from .state import Interaction, ServerState, public_user


class BotMessages:
    """Creates, publishes, edits and deletes messages authored by the bot."""

    def __init__(self, state: ServerState, payloads: Payloads, gateway: Gateway, recorder: Recorder) -> None:
        self.state = state
        self.payloads = payloads
        self.gateway = gateway
        self.recorder = recorder

    def _echoes(self, flags: int) -> bool:
        """Discord echoes the bot's actions unless the message is ephemeral (or no one listens)."""
        return self.state.config.echo_bot_messages and not (flags & FLAG_EPHEMERAL) and self.gateway.session is not None

    def build_attachments(
        self, channel_id: int, body: JSON, files: list[RecordedFile], existing: Sequence[JSON] = ()
    ) -> list[JSON]:
        """Turn ``attachments`` + ``files[n]`` into attachment objects, like Discord does."""
        by_field = {f.field: f for f in files}
        existing_by_id = {str(a["id"]): a for a in existing}
        result: list[JSON] = []
        used_fields: set[str] = set()
        specs = body.get("attachments")
        if specs is None:
            specs = [{"id": i} for i in range(len(files))]
            result.extend(existing)  # edits without "attachments" keep the old ones
        for spec in specs:
            key = f"files[{spec.get('id')}]"
            upload = by_field.get(key)
            if upload is not None and key not in used_fields:
                used_fields.add(key)
                aid = self.state.snowflake()
                filename = spec.get("filename") or upload.filename
                url = f"{self.state.config.http_url}/attachments/{channel_id}/{aid}/{filename}"
                att: JSON = {
                    "id": str(aid),
                    "filename": filename,
                    "size": len(upload.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": upload.content_type,
                    "_data": upload.data,
                }
                if spec.get("description") is not None:
                    att["description"] = spec["description"]
                result.append(att)
            elif str(spec.get("id")) in existing_by_id:
                result.append(existing_by_id[str(spec.get("id"))])
        return result

    def new(
        self,
        channel_id: int,
        body: JSON,
        files: list[RecordedFile],
        *,
        interaction: Interaction | None = None,
        message_type: int = MSG_DEFAULT,
        extra_flags: int = 0,
    ) -> JSON:
        """Create and store a message authored by the bot from a create-message body."""
        state = self.state
        mid = state.snowflake()
        gid = state.guild_of_channel(channel_id)
        if interaction is not None and gid is None and interaction.payload.get("guild_id"):
            gid = int(interaction.payload["guild_id"])
        msg: JSON = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": copy.deepcopy(public_user(state.bot_user)),
            "content": body.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self.build_attachments(channel_id, body, files),
            "embeds": copy.deepcopy(body.get("embeds") or []),
            "components": copy.deepcopy(body.get("components") or []),
            "pinned": False,
            "type": message_type,
            "flags": (int(body.get("flags") or 0) & SETTABLE_MESSAGE_FLAGS) | extra_flags,
            "reactions": [],
        }
        if gid is not None:
            msg["guild_id"] = str(gid)
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        if body.get("sticker_ids"):
            msg["sticker_items"] = []
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            self._reply_to(msg, reference, body, channel_id, gid)
        if interaction is not None:
            msg["webhook_id"] = str(state.application_id)
            msg["application_id"] = str(state.application_id)
            msg["interaction_metadata"] = _interaction_metadata(interaction.payload)
        state.messages[mid] = msg
        return msg

    def _reply_to(self, msg: JSON, reference: JSON, body: JSON, channel_id: int, gid: int | None) -> None:
        ref_id = int(reference["message_id"])
        known = self.state.messages.get(ref_id)
        if known is None and reference.get("fail_if_not_exists", True):
            raise form_error("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
        self.payloads.attach_reference(msg, ref_id, channel_id, gid)
        # Discord pings the replied-to author unless allowed_mentions is given without
        # replied_user=true (discord.py omits the key when it is False).
        allowed = body.get("allowed_mentions")
        pings_author = allowed is None or bool(allowed.get("replied_user", False))
        if known is not None and pings_author:
            replied_to = self.state.users.get(int(known["author"]["id"])) or known["author"]
            msg["mentions"] = [public_user(replied_to)]

    async def publish(self, msg: JSON, *, visible: bool = True) -> None:
        """Record a new bot message and echo MESSAGE_CREATE (not for ephemeral ones)."""
        if visible:
            self.recorder.sent_messages.append(msg)
        channel = self.state.channels.get(int(msg["channel_id"]))
        if self._echoes(msg["flags"]):
            is_dm = channel is not None and channel.get("type") == 1
            await self.gateway.dispatch_if_allowed("MESSAGE_CREATE", self.echo_payload(msg), is_dm=is_dm)
        if channel is not None:
            channel["last_message_id"] = msg["id"]

    def echo_payload(self, msg: JSON) -> JSON:
        """The bot's message as its own MESSAGE_CREATE/UPDATE carries it (with ``member``)."""
        out = public_message(msg)
        gid = out.get("guild_id")
        if gid is not None and int(gid) in self.state.guilds and out.get("webhook_id") is None:
            out["member"] = self.payloads.member_payload(int(gid), self.state.bot_user_id, with_user=False)
        return out

    async def apply_edit(self, msg: JSON, body: JSON, files: list[RecordedFile]) -> JSON:
        """PATCH semantics shared by channel edits, @original edits and type 7 callbacks."""
        for key in ("content", "embeds", "components"):
            if key in body:
                value = body[key]
                msg[key] = ("" if value is None else value) if key == "content" else copy.deepcopy(value or [])
        if "flags" in body and body["flags"] is not None:
            keep = msg["flags"] & (FLAG_EPHEMERAL | FLAG_LOADING)
            msg["flags"] = (int(body["flags"]) & SETTABLE_MESSAGE_FLAGS & ~FLAG_EPHEMERAL) | keep
        if "attachments" in body or files:
            msg["attachments"] = self.build_attachments(int(msg["channel_id"]), body, files, msg.get("attachments", []))
        msg["edited_timestamp"] = iso_now()
        self.recorder.message_edits.append(copy.deepcopy(msg))
        if self._echoes(msg["flags"]):
            await self.gateway.dispatch("MESSAGE_UPDATE", self.echo_payload(msg))
        return msg

    async def delete(self, msg: JSON) -> None:
        """Forget a message and echo MESSAGE_DELETE (not for ephemeral ones)."""
        mid, cid = int(msg["id"]), int(msg["channel_id"])
        self.state.messages.pop(mid, None)
        self.recorder.deleted_messages.append((cid, mid))
        if self._echoes(msg.get("flags", 0)):
            data: JSON = {"id": str(mid), "channel_id": str(cid)}
            if msg.get("guild_id"):
                data["guild_id"] = msg["guild_id"]
            await self.gateway.dispatch("MESSAGE_DELETE", data)


def _interaction_metadata(ip: JSON) -> JSON:
    """``interaction_metadata`` of a message the bot sent in answer to interaction ``ip``."""
    invoker = (ip.get("member") or {}).get("user") or ip.get("user") or {}
    meta: JSON = {
        "id": ip["id"],
        "type": ip["type"],
        "user": copy.deepcopy(invoker),
        "authorizing_integration_owners": copy.deepcopy(ip.get("authorizing_integration_owners", {})),
    }
    if ip["type"] == INTERACTION_APPLICATION_COMMAND:
        meta["name"] = (ip.get("data") or {}).get("name", "")
    if ip["type"] == INTERACTION_COMPONENT and ip.get("message"):
        meta["interacted_message_id"] = ip["message"]["id"]
    return meta
