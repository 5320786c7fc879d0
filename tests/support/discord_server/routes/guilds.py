"""``/guilds/{guild_id}``: the guild, its channels, roles and members."""

from __future__ import annotations

import copy
from typing import Any

from ..payloads import Payloads
from ..protocol import ApiError
from ..rest import ApiRequest, Route
from ..state import ServerState, copy_channels


class GuildRoutes:
    def __init__(self, state: ServerState, payloads: Payloads) -> None:
        self.state = state
        self.payloads = payloads

    def routes(self) -> list[Route]:
        return [
            ("GET", "/guilds/{guild_id}", self.get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", self.get_channels, True),
            ("GET", "/guilds/{guild_id}/roles", self.get_roles, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member, True),
        ]

    async def get_guild(self, req: ApiRequest) -> tuple[int, Any]:
        gid = req.int_param("guild_id")
        self.state.guild_or_404(gid)
        return 200, self.payloads.guild_payload(gid, for_gateway=False)

    async def get_channels(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self.state.guild_or_404(req.int_param("guild_id"))
        return 200, copy_channels(self.state, guild.channel_ids)

    async def get_roles(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self.state.guild_or_404(req.int_param("guild_id")).roles)

    async def get_member(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self.state.guild_or_404(req.int_param("guild_id"))
        uid = req.int_param("user_id")
        if uid not in guild.members:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, self.payloads.member_payload(guild.id, uid)
