"""Building the JSON objects Discord sends: members, guilds, the application, READY, and the
messages and reactions of human users that tests inject.

Builders read `ServerState` and never change it, except that an injected message is stored
(so REST lookups, reactions and replies to it work, as on Discord).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Sequence
from typing import Any

from .protocol import (
    API_VERSION,
    AUTO,
    JSON,
    MSG_DEFAULT,
    MSG_REPLY,
    TRACE,
    IntentBits,
    as_id,
    iso_now,
)
from .state import ServerState, copy_channels, member_stub, public_user


def public_message(msg: JSON) -> JSON:
    """Message as returned on the wire (drops the server's private ``_data`` blobs)."""
    out = copy.deepcopy(msg)
    for att in out.get("attachments", []):
        att.pop("_data", None)
    return out


class Payloads:
    """Discord's objects, built from the state they describe."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    # ------------------------------------------------------------------ entities -----

    def member_payload(self, guild_id: int, user: Any, *, with_user: bool = True) -> JSON:
        """Full member object (with ``permissions`` when useful) for a user in a guild."""
        guild = self.state.guilds[int(guild_id)]
        uid = as_id(user)
        stub = guild.members.get(uid) or member_stub([])
        member = copy.deepcopy(stub)
        if with_user:
            member["user"] = public_user(self.state.users[uid])
        return member

    def guild_payload(self, guild_id: int, *, for_gateway: bool = True, intents: int | None = None) -> JSON:
        """The guild as sent in GUILD_CREATE (``for_gateway``) or by ``GET /guilds/{id}``."""
        state = self.state
        guild = state.guilds[int(guild_id)]
        payload: JSON = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": copy.deepcopy(guild.roles),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(guild.channel_ids[0]) if guild.channel_ids else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
        }
        if not for_gateway:
            payload["approximate_member_count"] = len(guild.members)
            payload["approximate_presence_count"] = 0
            return payload
        # Discord only includes the full member list in GUILD_CREATE with GUILD_PRESENCES;
        # otherwise the bot itself (members intent => the client chunks via op 8).
        include_all = (not state.config.enforce_intents) or bool((intents or 0) & IntentBits.GUILD_PRESENCES)
        member_ids = list(guild.members) if include_all else [state.bot_user_id]
        payload.update(
            {
                "joined_at": guild.joined_at,
                "large": False,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [self.member_payload(guild.id, uid) for uid in member_ids],
                "channels": copy_channels(state, guild.channel_ids),
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "lazy": True,
            }
        )
        return payload

    def application_payload(self) -> JSON:
        """``GET /oauth2/applications/@me`` body (all keys discord.py's AppInfo requires)."""
        state = self.state
        return {
            "id": str(state.application_id),
            "name": state.bot_user["username"],
            "icon": None,
            "description": "Test application",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": public_user(state.owner_user),
            "team": None,
            "bot": public_user(state.bot_user),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "install_params": None,
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(state.guilds),
        }

    def ready_payload(self, session_id: str, identify: JSON, guild_ids: Sequence[int] | None = None) -> JSON:
        """READY ``d`` for a new session; every guild (of ``guild_ids``: a shard's) starts
        unavailable (GUILD_CREATEs follow)."""
        state = self.state
        guild_ids = list(state.guilds) if guild_ids is None else guild_ids
        ready: JSON = {
            "v": API_VERSION,
            "user": copy.deepcopy(state.bot_user),
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": state.config.gateway_url,
            "application": {"id": str(state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["test"],
            "auth": {},
            "_trace": list(TRACE),
        }
        if "shard" in identify:
            ready["shard"] = identify["shard"]
        return ready

    # ----------------------------------------------------- what users send -----------

    def message_payload(
        self,
        content: str = "",
        *,
        author: Any = None,
        channel_id: int | None = None,
        guild_id: Any = AUTO,
        mentions: Sequence[Any] = (),
        mention_bot: bool = False,
        mention_everyone: bool = False,
        mention_roles: Sequence[int] = (),
        message_reference: Any = None,
        embeds: Sequence[JSON] = (),
        attachments: Sequence[JSON] = (),
        components: Sequence[JSON] = (),
        message_id: int | None = None,
        webhook_id: int | None = None,
        **extra: Any,
    ) -> JSON:
        """A realistic MESSAGE_CREATE ``d`` payload from a (human) user.

        ``author``/``mentions`` accept user payloads or ids (default author:
        ``default_user``).  ``mention_bot=True`` prefixes ``<@botid>`` and adds the bot to
        ``mentions``.  ``channel_id`` defaults to the default guild channel; pass a DM
        channel id (``dm_channel(user)["id"]``) for DMs -- ``guild_id`` is derived from the
        channel.  ``message_reference`` takes a message payload or id and, like Discord,
        adds ``referenced_message`` when the server knows that message.  The message is
        stored so that REST lookups (``GET``, reactions, replies) work.
        """
        state = self.state
        cid = int(channel_id) if channel_id is not None else state.channel_id
        gid = state.guild_of_channel(cid) if guild_id is AUTO else (int(guild_id) if guild_id is not None else None)
        author_user = state.users[as_id(author if author is not None else state.default_user)]
        mention_ids = [as_id(m) for m in mentions]
        if mention_bot:
            bot_id = state.bot_user_id
            content = f"<@{bot_id}> {content}".rstrip() if content else f"<@{bot_id}>"
            if bot_id not in mention_ids:
                mention_ids.insert(0, bot_id)
        mention_payloads: list[JSON] = []
        for uid in mention_ids:
            user = copy.deepcopy(public_user(state.users[uid]))
            if gid is not None and uid in state.guilds[gid].members:
                user["member"] = self.member_payload(gid, uid, with_user=False)
            mention_payloads.append(user)

        mid = message_id or state.snowflake()
        payload: JSON = {
            "id": str(mid),
            "channel_id": str(cid),
            "author": copy.deepcopy(author_user),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": mention_everyone,
            "mentions": mention_payloads,
            "mention_roles": [str(r) for r in mention_roles],
            "attachments": list(attachments),
            "embeds": list(embeds),
            "pinned": False,
            "type": MSG_DEFAULT,
            "flags": 0,
            "components": list(components),
            "nonce": str(secrets.randbits(60)),
        }
        if gid is not None:
            payload["guild_id"] = str(gid)
            if int(author_user["id"]) in state.guilds[gid].members:
                payload["member"] = self.member_payload(gid, author_user["id"], with_user=False)
        if webhook_id is not None:
            payload["webhook_id"] = str(webhook_id)
        if message_reference is not None:
            self.attach_reference(payload, message_reference, cid, gid)
        payload.update(extra)
        state.messages[mid] = payload
        return payload

    def bot_mention_payload(self, content: str = "", **kwargs: Any) -> JSON:
        """``message_payload`` with ``<@botid>`` in content and the bot in ``mentions``."""
        return self.message_payload(content, mention_bot=True, **kwargs)

    def dm_message_payload(self, content: str = "", *, author: Any = None, **kwargs: Any) -> JSON:
        """A message in the DM channel between ``author`` (default user) and the bot."""
        author = author if author is not None else self.state.default_user
        channel = self.state.dm_channel(author)
        return self.message_payload(content, author=author, channel_id=int(channel["id"]), **kwargs)

    def attach_reference(self, payload: JSON, reference: Any, channel_id: int, guild_id: int | None) -> None:
        """Make ``payload`` a reply (type 19) to ``reference``, quoting it when it is known."""
        ref_id = as_id(reference)
        ref_msg = self.state.messages.get(ref_id)
        ref_channel = int(ref_msg["channel_id"]) if ref_msg else channel_id
        ref: JSON = {"type": 0, "message_id": str(ref_id), "channel_id": str(ref_channel)}
        if guild_id is not None:
            ref["guild_id"] = str(guild_id)
        payload["message_reference"] = ref
        payload["type"] = MSG_REPLY
        if ref_msg is not None:
            referenced = copy.deepcopy(ref_msg)
            referenced.pop("referenced_message", None)
            payload["referenced_message"] = referenced

    def reaction_add_payload(
        self,
        message: Any,
        emoji: str | JSON = "\N{THUMBS UP SIGN}",
        *,
        user: Any = None,
        channel_id: int | None = None,
    ) -> JSON:
        """MESSAGE_REACTION_ADD ``d`` for ``message`` (payload or id) by ``user``."""
        state = self.state
        mid = as_id(message)
        known = state.messages.get(mid)
        cid = int(channel_id) if channel_id is not None else (int(known["channel_id"]) if known else state.channel_id)
        gid = state.guild_of_channel(cid)
        uid = as_id(user if user is not None else state.default_user)
        emoji_payload = {"id": None, "name": emoji} if isinstance(emoji, str) else dict(emoji)
        payload: JSON = {
            "user_id": str(uid),
            "channel_id": str(cid),
            "message_id": str(mid),
            "emoji": emoji_payload,
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if known is not None and "author" in known:
            payload["message_author_id"] = known["author"]["id"]
        if gid is not None:
            payload["guild_id"] = str(gid)
            if uid in state.guilds[gid].members:
                payload["member"] = self.member_payload(gid, uid)
        return payload
