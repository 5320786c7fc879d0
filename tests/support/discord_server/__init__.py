"""A fake Discord (REST + gateway) server for tests, driven by the *real* discord.py client.

Why this exists
===============
Mocking discord.py objects tests our assumptions about discord.py, not the bot.  This
package instead speaks enough of Discord's wire protocol (API v10, JSON gateway) that an
unmodified ``discord.Client`` / ``commands.Bot`` logs in, connects, receives events and
sends REST requests exactly as it would in production.  Tests then assert on what the bot
actually put on the wire (``server.sent_messages``, ``server.requests`` ...).

Quick start
===========
::

    async with DiscordTestServer(heartbeat_interval_ms=250) as server:
        with server.patch_discord():              # Route.BASE + DEFAULT_GATEWAY -> us
            async with running_client(MyBot(), server.token):
                await server.dispatch_message(server.message_payload("hello", mention_bot=True))
                reply = await server.wait_for_message(channel_id=server.channel_id)
                assert "hello" in reply["content"]

Pointing discord.py at the server (what the product does, too)::

    discord.http.Route.BASE = server.base_url                    # "http://127.0.0.1:<port>/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)

``DEFAULT_GATEWAY`` must be a ``yarl.URL`` (discord.py calls ``.with_query()`` on it), not
a ``str``.  A non-sharded ``Client.start(token)`` does ``GET /users/@me`` (login), then
``GET /oauth2/applications/@me`` (``application_info()``, to learn the application id),
runs ``setup_hook`` and connects straight to ``DEFAULT_GATEWAY`` -- it never asks
``/gateway/bot``.  It appends ``?v=10&encoding=json&compress=zlib-stream`` (or
``zstd-stream`` when the ``zstandard`` package is installed).  The server honours
``zlib-stream`` (one shared ``zlib.compressobj`` per connection, each frame flushed with
``Z_SYNC_FLUSH`` so it ends in ``00 00 ff ff``) and falls back to plain text frames for
``zstd-stream`` (discord.py accepts text frames whatever it asked for).

Things discord.py 2.7 needs that are easy to get wrong (all handled here)
=======================================================================
* JSON responses must carry ``Content-Type: application/json`` *exactly* (discord.py does
  a string equality check; aiohttp's default ``application/json; charset=utf-8`` makes it
  treat the body as text).
* A 429 is only retried if the response has a ``Via`` header; otherwise discord.py assumes
  a Cloudflare ban and raises ``HTTPException``.  Retries sleep ``retry_after`` from the
  JSON body.  500/502/504/524 are retried after 1 s, 3 s, 5 s ...; 503 is not retried.
* ``on_ready`` fires ``guild_ready_timeout`` seconds (default **2.0**) after the last
  ``GUILD_CREATE``.  Pass ``guild_ready_timeout=0.05`` (a ``discord.Client`` kwarg) in
  tests to keep them fast.
* After an ``INVALID_SESSION`` (op 9) the client re-IDENTIFYs, but
  ``Client.before_identify_hook`` first sleeps **5 s** for every non-initial IDENTIFY.
  Override it (``async def before_identify_hook(self, shard_id, *, initial=False): pass``)
  in test clients.  RESUME (after ``drop_connection``/op 7) has no such delay.
* ``INTERACTION_CREATE`` must contain ``attachment_size_limit``, ``version``, ``token``,
  ``application_id``; guild interactions need ``member`` (with ``permissions``, ``roles``,
  ``flags``), DM ones ``user``.
* Interaction callbacks are sent with ``?with_response=1`` and discord.py parses the reply
  (``{"interaction": {...}, "resource": {"type": .., "message": {...}}}``); the
  ``response_message_id`` is what a ``View`` sent with ``response.send_message`` gets
  registered under, so a later button click must carry that message.
* Interaction callbacks and webhook (follow-up) requests carry **no** ``Authorization``
  header; only the interaction token authenticates them.
* Gateway parsers are not exception-guarded in discord.py: a ``MESSAGE_CREATE`` missing a
  required key (``id``, ``channel_id``, ``type``, ``content``) raises ``KeyError`` out of
  ``Client.connect()`` and ``Client.start()`` returns with that error, i.e. the bot dies.
  Missing *optional* keys (``author``, ``member``, ``mentions`` ...), unknown event names
  and unknown opcodes are survived.  ``send_raw`` / ``dispatch`` let tests inject both.

How a ``CommandTree`` accepts an injected slash command
=======================================================
``CommandTree._call`` looks commands up **by name**, never by ``data["id"]``; syncing is
not required for dispatch.  Which table it searches depends on ``data["guild_id"]``: if the
interaction data carries ``guild_id`` the guild-specific commands registered for that
guild are searched (falling back to global ones only with ``fallback_to_global=True``,
the default); without it only *global* commands are searched.  So a command added with
``guild=...`` / ``tree.copy_global_to(guild=...)`` needs ``data.guild_id`` and a global one
must not rely on it.  ``slash_command_payload`` fills this in automatically from what the
bot synced (``PUT .../guilds/{gid}/commands`` -> guild command, ``PUT .../commands`` ->
global); pass ``command_guild_id=`` to force it when the bot never synced.

Recording semantics
===================
* ``server.requests`` -- every HTTP request (including 401/404/429 ones), in order.
* ``server.sent_messages`` -- every message the bot made visible: channel messages,
  interaction responses (type 4), follow-ups, completed deferred responses.
* ``wait_for_message`` *consumes*: each call returns the oldest matching sent message that
  no earlier ``wait_for_message`` call returned.  ``wait_for_request`` does not consume;
  pass ``after=server.request_count`` to only look at requests made from now on.
* Real Discord echoes the bot's own messages back as ``MESSAGE_CREATE``; so does this
  server (``echo_bot_messages=True``), which catches reply loops.  Bots must ignore their
  own messages, as in production.
* With ``enforce_intents=True`` events are filtered like Discord does: no guild
  ``MESSAGE_CREATE`` without ``GUILD_MESSAGES``, empty ``content``/``embeds``/
  ``attachments``/``components`` without ``MESSAGE_CONTENT`` unless the bot is mentioned,
  the message is a DM or the bot wrote it.

Command sync failures (as Discord answers them)
===============================================
* A guild whose ``GuildSpec(commands_scope=False)`` was joined without the
  ``applications.commands`` scope: its ``/applications/{id}/guilds/{gid}/commands`` routes
  answer **403** ``50001 Missing Access`` (``discord.Forbidden``).
* A guild id the server does not know: **404** ``10004 Unknown Guild`` (``discord.NotFound``).
* A guild id that is no snowflake (above 2**63 - 1, e.g. two ids pasted together): **400**
  ``50035 Invalid Form Body`` with the error under ``guild_id``; ``CommandTree.sync`` raises
  it as ``CommandSyncFailure``.
* Anything else: ``fail_next("PUT", "/applications/{application_id}/guilds/{guild_id}/commands",
  status=..., body=...)``.

Modals and autocomplete
=======================
``forms.py`` (this package) builds the ``APPLICATION_COMMAND_AUTOCOMPLETE`` (type 4) and
``MODAL_SUBMIT`` (type 5) interactions, and the server checks autocomplete results (type 8)
and modals (type 9) as Discord does (400 ``50035`` with the fields at fault).

Slow requests
=============
``hold = server.hold_next(method, route)`` makes the next matching request wait, recorded on
arrival (``await hold.arrived.wait()``), until ``hold.release()``: a slow Discord, under the
test's control, e.g. to have an answer in flight while the bot is being stopped.

Only one bot session at a time is modelled (the most recently identified one receives
dispatches).  Everything runs in the test's event loop; no threads besides discord.py's
own heartbeat thread.

Layout
======
``state.py`` holds the world (`ServerState`: users, guilds, channels, messages, commands,
interactions) and its rules; ``payloads.py`` / ``interaction_payloads.py`` build the JSON
Discord sends from it; ``gateway.py`` serves the websocket (sessions, IDENTIFY/RESUME,
heartbeats, dispatch); ``rest.py`` is the request pipeline (record, auth, holds, faults,
headers) and ``routes/`` has one router per resource (users, commands, messages, guilds,
interactions + webhooks), with ``threads.py`` (threads, forums) and ``forms.py`` (modals,
autocomplete) as extensions; ``bot_messages.py`` creates/echoes/edits/deletes the bot's
messages for all of them; ``records.py`` holds what is recorded and the ``wait_for_*``
machinery.  ``server.py``'s `DiscordTestServer` wires them together and forwards its public
API to them.
"""

from .forms import (
    autocomplete_choices,
    autocomplete_payload,
    interaction_response_problem,
    modal_sent_for,
    modal_submit_payload,
)
from .protocol import API_VERSION, AUTO, IntentBits, PermissionBits
from .records import (
    GatewayFrame,
    HeartbeatRecord,
    InteractionResponseRecord,
    RecordedFile,
    RecordedRequest,
    RequestHold,
)
from .server import DiscordTestServer, discord_test_environment, running_client
from .state import GuildSpec, ServerConfig, ServerState
from .threads import CREATE_PUBLIC_THREADS, add_forum_channel, forum_post, threads_of

__all__ = [
    "API_VERSION",
    "AUTO",
    "CREATE_PUBLIC_THREADS",
    "DiscordTestServer",
    "GatewayFrame",
    "GuildSpec",
    "HeartbeatRecord",
    "InteractionResponseRecord",
    "IntentBits",
    "PermissionBits",
    "RecordedFile",
    "RecordedRequest",
    "RequestHold",
    "ServerConfig",
    "ServerState",
    "add_forum_channel",
    "autocomplete_choices",
    "autocomplete_payload",
    "discord_test_environment",
    "forum_post",
    "interaction_response_problem",
    "modal_sent_for",
    "modal_submit_payload",
    "running_client",
    "threads_of",
]
