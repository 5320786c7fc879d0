"""Application commands, global and per guild, validated and stored as Discord does.

Sync failures as Discord answers them: a guild joined without the ``applications.commands``
scope (``GuildSpec(commands_scope=False)``) is **403** ``50001``; an unknown guild **404**
``10004``; a guild id above 2**63 - 1 (two ids pasted together) **400** ``50035`` under
``guild_id``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ..protocol import COMMAND_NAME_RE, JSON, SNOWFLAKE_MAX, ApiError, form_error
from ..rest import ApiRequest, Route
from ..state import ServerState

_COMMANDS = "/applications/{application_id}/commands"
_GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"


class CommandRoutes:
    def __init__(self, state: ServerState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        rows: list[Route] = []
        for base in (_COMMANDS, _GUILD_COMMANDS):
            one = base + "/{command_id}"
            rows += [
                ("GET", base, self.get_commands, True),
                ("PUT", base, self.put_commands, True),
                ("POST", base, self.post_command, True),
                ("GET", one, self.get_command, True),
                ("PATCH", one, self.patch_command, True),
                ("DELETE", one, self.delete_command, True),
            ]
        return rows

    def _check_app(self, req: ApiRequest) -> int | None:
        """The guild the route is about (None: global), after Discord's access checks."""
        if req.int_param("application_id") != self.state.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" in req.params:
            gid = req.int_param("guild_id")
            if gid > SNOWFLAKE_MAX:
                raise form_error(
                    "guild_id", "NUMBER_TYPE_MAX", f"snowflake value should be less than or equal to {SNOWFLAKE_MAX}."
                )
            if not self.state.guild_or_404(gid).commands_scope:
                raise ApiError(403, 50001, "Missing Access")
            return gid
        return None

    def _command_list(self, guild_id: int | None) -> list[JSON]:
        if guild_id is None:
            return self.state.global_commands
        return self.state.guild_commands.setdefault(guild_id, [])

    def _normalise_command(self, raw: Any, guild_id: int | None, existing: Sequence[JSON]) -> JSON:
        """Validate like Discord (name/description rules) and fill server-side fields."""
        if not isinstance(raw, dict) or "name" not in raw:
            raise form_error("name", "BASE_TYPE_REQUIRED")
        ctype = int(raw.get("type", 1))
        name = str(raw["name"])
        if ctype == 1:
            if not COMMAND_NAME_RE.match(name) or name != name.lower():
                raise form_error("name", "APPLICATION_COMMAND_INVALID_NAME")
            desc = str(raw.get("description", ""))
            if not 1 <= len(desc) <= 100:
                raise form_error("description", "BASE_TYPE_BAD_LENGTH")
        previous = next((c for c in existing if c["name"] == name and int(c.get("type", 1)) == ctype), None)
        cmd: JSON = copy.deepcopy(raw)
        cmd.update(
            {
                "id": previous["id"] if previous else str(self.state.snowflake()),
                "application_id": str(self.state.application_id),
                "type": ctype,
                "version": str(self.state.snowflake()),
                "description": raw.get("description", ""),
                "default_member_permissions": raw.get("default_member_permissions"),
                "nsfw": bool(raw.get("nsfw", False)),
                "options": copy.deepcopy(raw.get("options") or []),
            }
        )
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        else:
            cmd.setdefault("dm_permission", True)
            cmd.setdefault("contexts", None)
            cmd.setdefault("integration_types", [0])
        return cmd

    def _find_command(self, req: ApiRequest) -> tuple[list[JSON], JSON]:
        target = self._command_list(self._check_app(req))
        cid = str(req.int_param("command_id"))
        cmd = next((c for c in target if c["id"] == cid), None)
        if cmd is None:
            raise ApiError(404, 10063, "Unknown application command")
        return target, cmd

    async def get_commands(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._command_list(self._check_app(req)))

    async def put_commands(self, req: ApiRequest) -> tuple[int, Any]:
        gid = self._check_app(req)
        if not isinstance(req.json, list):
            raise ApiError(400, 50035, "Invalid Form Body")
        existing = list(self._command_list(gid))
        new = [self._normalise_command(raw, gid, existing) for raw in req.json]
        target = self._command_list(gid)
        target[:] = new
        return 200, copy.deepcopy(new)

    async def post_command(self, req: ApiRequest) -> tuple[int, Any]:
        gid = self._check_app(req)
        target = self._command_list(gid)
        cmd = self._normalise_command(req.json, gid, target)
        target[:] = [c for c in target if c["id"] != cmd["id"]] + [cmd]
        return 200, copy.deepcopy(cmd)

    async def get_command(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._find_command(req)[1])

    async def patch_command(self, req: ApiRequest) -> tuple[int, Any]:
        _, cmd = self._find_command(req)
        cmd.update(copy.deepcopy(req.json or {}))
        return 200, copy.deepcopy(cmd)

    async def delete_command(self, req: ApiRequest) -> tuple[int, Any]:
        target, cmd = self._find_command(req)
        target.remove(cmd)
        return 204, None
