"""The world the server holds: configuration, users, guilds, channels, messages, commands,
interactions -- and the rules that read it (permissions, lookups that 404 like Discord).

Every other part of the server (gateway, routes, payload builders) holds a reference to one
`ServerState`; none keeps world state of its own, so what a REST call changes is what the
next GUILD_CREATE or ``GET`` shows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .protocol import (
    API_VERSION,
    JSON,
    ApiError,
    PermissionBits,
    SnowflakeFactory,
    as_id,
    iso_now,
)

_PUBLIC_USER_KEYS = ("id", "username", "discriminator", "global_name", "avatar", "bot", "system", "public_flags")


def public_user(user: JSON) -> JSON:
    """The user object other people see (no email, locale, mfa ...)."""
    return {k: user[k] for k in _PUBLIC_USER_KEYS if k in user}


def member_stub(roles: list[int]) -> JSON:
    """A guild member as stored: the member object *without* ``user``."""
    return {
        "roles": [str(r) for r in roles],
        "nick": None,
        "avatar": None,
        "joined_at": iso_now(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }


@dataclass
class GuildSpec:
    """Declarative description of a guild the bot is in.

    Channels are created as text channels in order; the first one is the guild's default
    channel.  Ids are assigned by the server unless given.
    """

    name: str = "Test Guild"
    channels: Sequence[str] = ("general", "random")
    id: int | None = None
    bot_permissions: int = PermissionBits.BOT_DEFAULT
    everyone_permissions: int = PermissionBits.EVERYONE_DEFAULT
    commands_scope: bool = True  # False: invited without `applications.commands` (command routes 403)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: list[JSON]
    channel_ids: list[int]
    members: dict[int, JSON]  # user id -> member payload *without* "user"
    joined_at: str
    admin_role_id: int
    bot_role_id: int
    commands_scope: bool = True


@dataclass
class Interaction:
    """An interaction the server dispatched, and how far the bot got answering it."""

    payload: JSON
    responded_type: int | None = None
    original_message_id: int | None = None
    original_loading: bool = False
    followup_ids: list[int] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def type(self) -> int:
        return int(self.payload["type"])


@dataclass
class ServerConfig:
    """How the server behaves (see `DiscordTestServer` for each knob) and where it listens."""

    token: str = "test-bot-token"
    heartbeat_interval_ms: int = 41250
    echo_bot_messages: bool = True
    enforce_intents: bool = True
    ack_heartbeats: bool = True
    transport_compression: bool = True
    host: str = "127.0.0.1"
    shards: int = 1  # what GET /gateway/bot recommends
    bound_port: int | None = None

    @property
    def port(self) -> int:
        if self.bound_port is None:
            raise RuntimeError("server not started")
        return self.bound_port

    @property
    def http_url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:1234`` (attachments are served under it)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``discord.http.Route.BASE``: ``http://127.0.0.1:<port>/api/v10``."""
        return f"{self.http_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        """Gateway URL without query; wrap in ``yarl.URL`` for ``DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"


@dataclass
class ServerState:
    """Everything the fake Discord knows; built by `ServerState.create`."""

    config: ServerConfig
    snowflake: SnowflakeFactory
    application_id: int
    bot_user: JSON
    users: dict[int, JSON] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    channels: dict[int, JSON] = field(default_factory=dict)
    messages: dict[int, JSON] = field(default_factory=dict)
    global_commands: list[JSON] = field(default_factory=list)
    guild_commands: dict[int, list[JSON]] = field(default_factory=dict)
    owner_user: JSON = field(default_factory=dict)
    default_user: JSON = field(default_factory=dict)
    threads: list[JSON] = field(default_factory=list)  # every thread created, in order (threads.py)
    interactions: dict[int, Interaction] = field(default_factory=dict)
    interactions_by_token: dict[str, Interaction] = field(default_factory=dict)
    dm_channels_by_user: dict[int, int] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        config: ServerConfig,
        guilds: Sequence[GuildSpec | str] | None,
        *,
        bot_name: str,
        application_id: int | None,
        bot_user_id: int | None,
    ) -> ServerState:
        """The bot, a guild owner, a default user ("alice") and the guilds (default: one)."""
        snowflake = SnowflakeFactory()
        app_id = application_id or snowflake()
        bot_id = bot_user_id or app_id
        bot_user: JSON = {
            "id": str(bot_id),
            "username": bot_name,
            "discriminator": "0001",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
        }
        state = cls(config=config, snowflake=snowflake, application_id=app_id, bot_user=bot_user)
        state.users[bot_id] = public_user(bot_user)
        state.owner_user = state.make_user("guild-owner", join_guilds=False)
        state.default_user = state.make_user("alice", join_guilds=False)
        for spec in list(guilds) if guilds is not None else [GuildSpec()]:
            state.create_guild(GuildSpec(name=spec) if isinstance(spec, str) else spec)
        return state

    # ------------------------------------------------------------------- identity ----

    @property
    def bot_user_id(self) -> int:
        return int(self.bot_user["id"])

    @property
    def guild_id(self) -> int:
        """Id of the first configured guild."""
        return next(iter(self.guilds))

    @property
    def channel_id(self) -> int:
        """Id of the first text channel of the first guild."""
        return self.guilds[self.guild_id].channel_ids[0]

    # ------------------------------------------------------------- world builders ----

    def make_user(
        self,
        username: str,
        *,
        bot: bool = False,
        global_name: str | None = None,
        join_guilds: bool = True,
        roles: Sequence[int] = (),
    ) -> JSON:
        """Create a user (and, by default, a member of every guild); returns the user payload.

        If a bot session is live and intents allow it, ``GUILD_MEMBER_ADD`` is *not* sent --
        call ``dispatch`` yourself if the bot must observe the join.
        """
        uid = self.snowflake()
        user: JSON = {
            "id": str(uid),
            "username": username,
            "discriminator": "0",
            "global_name": global_name if global_name is not None else username.title(),
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        self.users[uid] = user
        if join_guilds:
            for guild in self.guilds.values():
                guild.members[uid] = member_stub(list(roles))
        return user

    def create_guild(self, spec: GuildSpec) -> Guild:
        """A guild with @everyone, the bot's managed role and an Admin role; the bot, the
        owner and every existing human user are members."""
        gid = spec.id or self.snowflake()
        admin_role_id = self.snowflake()
        bot_role_id = self.snowflake()
        roles = [
            _role(gid, "@everyone", spec.everyone_permissions, 0),
            _role(
                bot_role_id,
                self.bot_user["username"],
                spec.bot_permissions,
                1,
                managed=True,
                tags={"bot_id": self.bot_user["id"]},
            ),
            _role(admin_role_id, "Admin", PermissionBits.ADMINISTRATOR, 2),
        ]
        guild = Guild(
            id=gid,
            name=spec.name,
            owner_id=int(self.owner_user["id"]),
            roles=roles,
            channel_ids=[],
            members={},
            joined_at=iso_now(),
            admin_role_id=admin_role_id,
            bot_role_id=bot_role_id,
            commands_scope=spec.commands_scope,
        )
        self.guilds[gid] = guild
        for position, name in enumerate(spec.channels):
            self.add_text_channel(gid, name, position=position)
        guild.members[self.bot_user_id] = member_stub([bot_role_id])
        guild.members[int(self.owner_user["id"])] = member_stub([admin_role_id])
        for uid, user in self.users.items():
            if uid not in guild.members and not user.get("bot"):
                guild.members[uid] = member_stub([])
        return guild

    def add_text_channel(self, guild_id: int, name: str, *, position: int | None = None) -> JSON:
        """Add a text channel to a guild (before IDENTIFY to have it in GUILD_CREATE)."""
        guild = self.guilds[guild_id]
        cid = self.snowflake()
        channel: JSON = {
            "id": str(cid),
            "type": 0,
            "guild_id": str(guild_id),
            "name": name,
            "position": position if position is not None else len(guild.channel_ids),
            "permission_overwrites": [],
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }
        self.channels[cid] = channel
        guild.channel_ids.append(cid)
        return channel

    def dm_channel(self, user: Any = None) -> JSON:
        """The DM channel between the bot and ``user`` (created on first use).

        discord.py does not need to know the channel beforehand: a ``MESSAGE_CREATE``
        without ``guild_id`` becomes a ``DMChannel`` built from the message.
        """
        uid = as_id(user if user is not None else self.default_user)
        cid = self.dm_channels_by_user.get(uid)
        if cid is None:
            cid = self.snowflake()
            self.dm_channels_by_user[uid] = cid
            self.channels[cid] = {
                "id": str(cid),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [public_user(self.users[uid])],
            }
        return self.channels[cid]

    def register_interaction(self, payload: JSON) -> Interaction:
        """Remember a dispatched interaction so its callback and webhook routes accept it."""
        state = Interaction(payload=payload)
        self.interactions[state.id] = state
        self.interactions_by_token[state.token] = state
        return state

    def store_message(self, payload: JSON) -> None:
        """Keep an injected message for REST lookups; garbage payloads are simply not kept."""
        try:
            self.messages[int(payload["id"])] = payload
        except (KeyError, TypeError, ValueError):
            pass

    # ------------------------------------------------------------------- queries -----

    def guild_of_channel(self, channel_id: int) -> int | None:
        channel = self.channels.get(int(channel_id))
        if channel is None or "guild_id" not in channel:
            return None
        return int(channel["guild_id"])

    def permissions_for(self, guild_id: int, user: Any) -> int:
        """Guild-level permissions (roles OR-ed, owner/admin = all), like Discord computes."""
        guild = self.guilds[int(guild_id)]
        uid = as_id(user)
        if uid == guild.owner_id:
            return PermissionBits.ALL
        member = guild.members.get(uid) or member_stub([])
        role_ids = {str(guild.id), *member["roles"]}
        perms = 0
        for r in guild.roles:
            if r["id"] in role_ids:
                perms |= int(r["permissions"])
        if perms & PermissionBits.ADMINISTRATOR:
            return PermissionBits.ALL
        return perms

    def find_synced_command(self, name: str, guild_id: int | None, command_type: int) -> tuple[JSON | None, int | None]:
        """The command the bot synced under ``name`` (guild first, then global) and its guild."""
        if guild_id is not None:
            for cmd in self.guild_commands.get(guild_id, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == command_type:
                    return cmd, guild_id
        for cmd in self.global_commands:
            if cmd["name"] == name and int(cmd.get("type", 1)) == command_type:
                return cmd, None
        return None, None

    def interaction_messages(self, interaction_id: Any) -> list[JSON]:
        """Original response + follow-ups the bot produced for an interaction, in order."""
        state = self.interactions.get(as_id(interaction_id))
        if state is None:
            return []
        ids = ([state.original_message_id] if state.original_message_id else []) + state.followup_ids
        return [self.messages[i] for i in ids if i in self.messages]

    # ------------------------------------------------------- lookups that 404 --------

    def channel_or_404(self, channel_id: int) -> JSON:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def message_or_404(self, channel_id: int, message_id: int) -> JSON:
        msg = self.messages.get(message_id)
        if msg is None or int(msg["channel_id"]) != channel_id:
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    def guild_or_404(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild


def _role(rid: int, name: str, perms: int, position: int, **extra: Any) -> JSON:
    payload = {
        "id": str(rid),
        "name": name,
        "permissions": str(perms),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    payload.update(extra)
    return payload


def copy_channels(state: ServerState, channel_ids: Sequence[int]) -> list[JSON]:
    """Deep copies of channels, in order (what GUILD_CREATE and ``GET .../channels`` send)."""
    return [copy.deepcopy(state.channels[cid]) for cid in channel_ids]
