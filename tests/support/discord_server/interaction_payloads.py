"""INTERACTION_CREATE payloads as Discord sends them: slash commands, component clicks, and
the shared frame (member/user, permissions, channel, token) that forms.py builds on too.

How a ``CommandTree`` accepts an injected slash command: ``CommandTree._call`` looks commands
up **by name**, never by ``data["id"]``; with ``data["guild_id"]`` it searches that guild's
commands (then global ones), without it only global ones -- so `slash_command_payload` fills
``data.guild_id`` in from what the bot synced.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .payloads import Payloads
from .protocol import (
    ATTACHMENT_SIZE_LIMIT,
    AUTO,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_COMPONENT,
    JSON,
    OPT_BOOLEAN,
    OPT_CHANNEL,
    OPT_INTEGER,
    OPT_MENTIONABLE,
    OPT_NUMBER,
    OPT_ROLE,
    OPT_STRING,
    OPT_SUB_COMMAND,
    OPT_SUB_COMMAND_GROUP,
    OPT_USER,
    PermissionBits,
    as_id,
)
from .state import ServerState, public_user


class InteractionPayloads:
    """Builds interactions from the state: who invokes, where, with which permissions."""

    def __init__(self, state: ServerState, payloads: Payloads) -> None:
        self.state = state
        self.payloads = payloads

    def interaction_base(
        self,
        interaction_type: int,
        *,
        user: Any,
        guild_id: Any,
        channel_id: int | None,
        permissions: int | None,
        locale: str,
    ) -> JSON:
        """The keys every interaction has; guild ones carry ``member``, DM ones ``user``."""
        state = self.state
        uid = as_id(user if user is not None else state.default_user)
        if channel_id is None:
            if guild_id is None:
                channel_id = int(state.dm_channel(uid)["id"])
            else:
                gid_for_default = state.guild_id if guild_id is AUTO else int(guild_id)
                channel_id = state.guilds[gid_for_default].channel_ids[0]
        cid = int(channel_id)
        gid = state.guild_of_channel(cid) if guild_id is AUTO else (int(guild_id) if guild_id is not None else None)
        channel = copy.deepcopy(state.channels.get(cid) or {"id": str(cid), "type": 0 if gid else 1})
        iid = state.snowflake()
        payload: JSON = {
            "id": str(iid),
            "application_id": str(state.application_id),
            "type": interaction_type,
            "token": f"itok-{iid}-{secrets.token_urlsafe(24)}",
            "version": 1,
            "channel": channel,
            "channel_id": str(cid),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if gid is not None:
            member = self.payloads.member_payload(gid, uid)
            perms = permissions if permissions is not None else state.permissions_for(gid, uid)
            member["permissions"] = str(perms)
            payload.update(
                {
                    "guild_id": str(gid),
                    "guild": {"id": str(gid), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "member": member,
                    "app_permissions": str(state.permissions_for(gid, state.bot_user_id)),
                    "authorizing_integration_owners": {"0": str(gid)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": copy.deepcopy(public_user(state.users[uid])),
                    "app_permissions": str(PermissionBits.BOT_DEFAULT),
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        return payload

    def slash_command_payload(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None = None,
        *,
        user: Any = None,
        guild_id: Any = AUTO,
        channel_id: int | None = None,
        permissions: int | None = None,
        command_id: int | None = None,
        command_guild_id: Any = AUTO,
        resolved: JSON | None = None,
        locale: str = "en-US",
    ) -> JSON:
        """An APPLICATION_COMMAND (type 2) INTERACTION_CREATE ``d`` payload.

        ``name`` may contain spaces for sub-commands (``"tags add"``, ``"admin tags add"``).
        ``options`` is either raw Discord option dicts or ``{name: value}``; in the latter
        case types come from the synced command definition when the bot synced it, else
        from the Python type (bool/int/float/str); user/channel/role options get
        ``resolved`` entries.  ``guild_id=None`` makes a DM interaction (``user`` instead
        of ``member``).  ``permissions`` overrides the invoking member's permission bits
        (default: computed from roles).  ``command_guild_id``: see the module docstring --
        AUTO uses the guild the command was synced to, if any.
        """
        parts = name.split()
        base = self.interaction_base(
            INTERACTION_APPLICATION_COMMAND,
            user=user,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            locale=locale,
        )
        gid = int(base["guild_id"]) if "guild_id" in base else None
        synced, synced_guild = self.state.find_synced_command(parts[0], gid, 1)
        data: JSON = {
            "id": str(command_id or (synced["id"] if synced else self.state.snowflake())),
            "name": parts[0],
            "type": 1,
        }
        cmd_gid = synced_guild if command_guild_id is AUTO else command_guild_id
        if cmd_gid is not None:
            data["guild_id"] = str(cmd_gid)

        resolved_out: JSON = copy.deepcopy(resolved) if resolved else {}
        definition = synced.get("options", []) if synced else []
        for sub_name in parts[1:]:
            sub_def = next((o for o in definition if o.get("name") == sub_name), None)
            definition = (sub_def or {}).get("options", [])
        leaf_options = self._build_options(options, definition, gid, resolved_out)
        nested: list[JSON] = leaf_options
        for depth, sub_name in reversed(list(enumerate(parts[1:], start=1))):
            is_group = depth < len(parts) - 1
            nested = [
                {"name": sub_name, "type": OPT_SUB_COMMAND_GROUP if is_group else OPT_SUB_COMMAND, "options": nested}
            ]
        if nested:
            data["options"] = nested
        if resolved_out:
            data["resolved"] = resolved_out
        base["data"] = data
        return base

    def _build_options(
        self,
        options: Mapping[str, Any] | Sequence[JSON] | None,
        definition: Sequence[JSON],
        guild_id: int | None,
        resolved: JSON,
    ) -> list[JSON]:
        """``{name: value}`` -> typed option dicts, filling ``resolved`` for users/channels/roles."""
        if not options:
            return []
        if not isinstance(options, Mapping):
            return [dict(o) for o in options]
        state = self.state
        types = {o["name"]: int(o["type"]) for o in definition if "name" in o and "type" in o}
        out: list[JSON] = []
        for opt_name, value in options.items():
            opt_type = types.get(opt_name)
            if opt_type is None:
                opt_type = _python_option_type(value)
            if opt_type in (OPT_USER, OPT_MENTIONABLE) and as_id(value) in state.users:
                uid = as_id(value)
                resolved.setdefault("users", {})[str(uid)] = public_user(state.users[uid])
                if guild_id is not None and uid in state.guilds[guild_id].members:
                    member = self.payloads.member_payload(guild_id, uid, with_user=False)
                    member["permissions"] = str(state.permissions_for(guild_id, uid))
                    resolved.setdefault("members", {})[str(uid)] = member
                value = str(uid)
            elif opt_type == OPT_CHANNEL:
                cid = as_id(value)
                if cid in state.channels:
                    ch = copy.deepcopy(state.channels[cid])
                    ch["permissions"] = str(PermissionBits.ALL)
                    resolved.setdefault("channels", {})[str(cid)] = ch
                value = str(cid)
            elif opt_type == OPT_ROLE and guild_id is not None:
                rid = as_id(value)
                role = next((r for r in state.guilds[guild_id].roles if int(r["id"]) == rid), None)
                if role is not None:
                    resolved.setdefault("roles", {})[str(rid)] = copy.deepcopy(role)
                value = str(rid)
            out.append({"name": opt_name, "type": opt_type, "value": value})
        return out

    def component_payload(
        self,
        custom_id: str,
        message: Any,
        *,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        user: Any = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> JSON:
        """A MESSAGE_COMPONENT (type 3) INTERACTION_CREATE ``d`` for a click on ``message``.

        ``message`` is the message the component is on: a payload from ``sent_messages``
        (or its id).  discord.py routes the click to the ``View`` registered for that
        message id, so it must be the message the bot actually sent.  Use
        ``component_type=3`` and ``values`` for a string select.
        """
        mid = as_id(message)
        stored = self.state.messages.get(mid)
        msg = copy.deepcopy(stored if stored is not None else dict(message))
        cid = int(msg["channel_id"])
        gid = self.state.guild_of_channel(cid)
        base = self.interaction_base(
            INTERACTION_COMPONENT, user=user, guild_id=gid, channel_id=cid, permissions=permissions, locale=locale
        )
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        base["data"] = data
        base["message"] = msg
        return base


def _python_option_type(value: Any) -> int:
    """The option type Discord would have sent for a Python value (bool before int!)."""
    if isinstance(value, bool):
        return OPT_BOOLEAN
    if isinstance(value, int):
        return OPT_INTEGER
    if isinstance(value, float):
        return OPT_NUMBER
    return OPT_STRING
