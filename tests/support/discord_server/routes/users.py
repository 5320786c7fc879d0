"""``/gateway``, ``/users`` and the application: what ``Client.login`` and ``setup_hook`` ask."""

from __future__ import annotations

import copy
from typing import Any

from ..payloads import Payloads
from ..protocol import ApiError
from ..rest import ApiRequest, Route
from ..state import ServerState


class UserRoutes:
    def __init__(self, state: ServerState, payloads: Payloads) -> None:
        self.state = state
        self.payloads = payloads

    def routes(self) -> list[Route]:
        return [
            ("GET", "/gateway", self.get_gateway, False),
            ("GET", "/gateway/bot", self.get_gateway_bot, True),
            ("GET", "/users/@me", self.get_me, True),
            ("POST", "/users/@me/channels", self.create_dm, True),
            ("GET", "/users/{user_id}", self.get_user, True),
            ("GET", "/oauth2/applications/@me", self.get_application, True),
            ("GET", "/applications/@me", self.get_application, True),
        ]

    async def get_gateway(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, {"url": self.state.config.gateway_url}

    async def get_gateway_bot(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, {
            "url": self.state.config.gateway_url,
            "shards": self.state.config.shards,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1},
        }

    async def get_me(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, copy.deepcopy(self.state.bot_user)

    async def get_user(self, req: ApiRequest) -> tuple[int, Any]:
        user = self.state.users.get(req.int_param("user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return 200, copy.deepcopy(user)

    async def create_dm(self, req: ApiRequest) -> tuple[int, Any]:
        try:
            uid = int((req.json or {})["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, 50035, "Invalid Form Body") from None
        if uid not in self.state.users:
            raise ApiError(404, 10013, "Unknown User")
        return 200, copy.deepcopy(self.state.dm_channel(uid))

    async def get_application(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, self.payloads.application_payload()
