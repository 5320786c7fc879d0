"""The REST routes, one router per resource group; each holds the parts of the server it needs.

`route_table` lists every route in the order the server registers them (aiohttp matches in
registration order, so ``/users/@me`` must precede ``/users/{user_id}``).
"""

from __future__ import annotations

from ..bot_messages import BotMessages
from ..gateway import Gateway
from ..payloads import Payloads
from ..records import Recorder
from ..rest import Route
from ..state import ServerState
from ..threads import ThreadRoutes
from .commands import CommandRoutes
from .guilds import GuildRoutes
from .interactions import InteractionRoutes, WebhookRoutes
from .messages import MessageRoutes
from .users import UserRoutes

__all__ = [
    "CommandRoutes",
    "GuildRoutes",
    "InteractionRoutes",
    "MessageRoutes",
    "ThreadRoutes",
    "UserRoutes",
    "WebhookRoutes",
    "route_table",
]


def route_table(
    state: ServerState, payloads: Payloads, messages: BotMessages, recorder: Recorder, gateway: Gateway
) -> list[Route]:
    """Every REST route: (method, template relative to ``/api/v10``, handler, needs bot auth)."""
    routers = [
        UserRoutes(state, payloads),
        CommandRoutes(state),
        MessageRoutes(state, messages, recorder),
        GuildRoutes(state, payloads),
        InteractionRoutes(state, messages, recorder),
        WebhookRoutes(state, messages, recorder),
        ThreadRoutes(state, messages, gateway),
    ]
    return [route for router in routers for route in router.routes()]
