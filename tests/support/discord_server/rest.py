"""The REST plumbing every route shares: parse, record, authenticate, hold, inject faults,
answer -- with the headers discord.py 2.7 insists on.

* JSON responses carry ``Content-Type: application/json`` *exactly* (discord.py does a
  string equality check; aiohttp's ``application/json; charset=utf-8`` makes it a text body).
* Every response has ``Via`` and ``X-RateLimit-*`` headers: a 429 without ``Via`` is taken
  for a Cloudflare ban and not retried.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .protocol import API_PREFIX, JSON, ApiError, dumps
from .records import RecordedFile, RecordedRequest, Recorder, RequestHold
from .state import ServerState

Handler = Callable[["ApiRequest"], Awaitable[tuple[int, Any]]]
Route = tuple[str, str, Handler, bool]  # (method, template, handler, requires bot auth)


@dataclass
class ApiRequest:
    """What a route handler gets: the path parameters, the parsed body and its record."""

    raw: web.Request
    params: dict[str, str]
    json: Any
    files: list[RecordedFile]
    record: RecordedRequest

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except (KeyError, ValueError):
            raise ApiError(404, 0, "404: Not Found") from None

    @property
    def body(self) -> JSON:
        """The JSON body when it is an object, else ``{}`` (what most routes read)."""
        return self.json if isinstance(self.json, dict) else {}


@dataclass
class Fault:
    method: str
    route: str
    status: int
    remaining: int
    retry_after: float
    is_global: bool
    body: JSON | None


class FaultPlan:
    """Failures and holds the test asked for, matched against incoming requests in order."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.holds: list[RequestHold] = []

    def fail_next(
        self,
        method: str,
        route: str,
        *,
        status: int = 500,
        count: int = 1,
        retry_after: float = 0.25,
        is_global: bool = False,
        body: JSON | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``status``.

        ``route`` is a template (``/channels/{channel_id}/messages``) or a concrete path.
        For 429 the response mimics Discord (JSON ``retry_after``/``global``, ``Retry-After``
        and ``X-RateLimit-*`` headers, ``Via``).  The failed attempts are recorded with
        ``fault`` set and do not create anything.
        """
        self.faults.append(Fault(method.upper(), route, status, count, retry_after, is_global, body))

    def rate_limit_next(
        self, method: str, route: str, *, count: int = 1, retry_after: float = 0.25, is_global: bool = False
    ) -> None:
        """Shorthand for ``fail_next(..., status=429)``."""
        self.fail_next(method, route, status=429, count=count, retry_after=retry_after, is_global=is_global)

    def hold_next(self, method: str, route: str, *, count: int = 1) -> RequestHold:
        """Hold the next ``count`` matching requests until ``release()`` on the returned hold.

        ``route`` is a template or a concrete path, as for ``fail_next``.  A held request is
        recorded in the hold on arrival and in ``requests`` once answered.
        """
        hold = RequestHold(method.upper(), route, count)
        self.holds.append(hold)
        return hold

    def take_hold(self, method: str, template: str | None, path: str) -> RequestHold | None:
        return _take(self.holds, method, template, path)

    def take_fault(self, method: str, template: str | None, path: str) -> Fault | None:
        return _take(self.faults, method, template, path)


def _take(pending: list[Any], method: str, template: str | None, path: str) -> Any:
    """Consume one use of the first pending fault/hold matching the request, if any."""
    for item in pending:
        if item.remaining > 0 and item.method in (method, "*") and item.route in (template, path):
            item.remaining -= 1
            if item.remaining == 0:
                pending.remove(item)
            return item
    return None


def rate_limit_headers(bucket_key: str, remaining: int = 49, reset_after: float = 1.0) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": hashlib.sha1(bucket_key.encode()).hexdigest()[:32],
    }


def json_response(status: int, body: Any, bucket_key: str, extra: dict[str, str] | None = None) -> web.Response:
    # Exact "application/json" (no charset): discord.py compares the header verbatim.
    headers = {"Via": "1.1 google", **rate_limit_headers(bucket_key)}
    if extra:
        headers.update(extra)
    if status == 204 or body is None:
        return web.Response(status=204 if status < 300 else status, headers=headers)
    headers["Content-Type"] = "application/json"
    return web.Response(status=status, body=dumps(body).encode("utf-8"), headers=headers)


def fault_response(record: RecordedRequest, fault: Fault, bucket_key: str) -> web.Response:
    if fault.status == 429:
        body: JSON = fault.body or {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
            "code": 0,
        }
        extra = {
            **rate_limit_headers(bucket_key, remaining=0, reset_after=fault.retry_after),
            "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
        }
        if fault.is_global:
            extra["X-RateLimit-Global"] = "true"
    else:
        body = fault.body or {"message": f"{fault.status}: Injected failure", "code": 0}
        extra = {}
    record.status = fault.status
    record.response = body
    return json_response(fault.status, body, bucket_key, extra)


def _loads_or_400(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


async def parse_body(request: web.Request, record: RecordedRequest) -> None:
    """JSON, or multipart with ``payload_json`` and ``files[n]`` (what discord.py uploads)."""
    if not request.can_read_body:
        return
    ctype = request.content_type
    if ctype.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not hasattr(part, "read"):
                continue
            name = part.name or ""  # type: ignore[union-attr]
            raw = bytes(await part.read(decode=True))  # type: ignore[union-attr]
            filename = part.filename  # type: ignore[union-attr]
            if name == "payload_json":
                record.json = _loads_or_400(raw)
            elif filename is not None:
                record.files.append(
                    RecordedFile(name, filename, part.headers.get("Content-Type"), raw)  # type: ignore[union-attr]
                )
            else:
                record.form[name] = raw.decode("utf-8", errors="replace")
        return
    raw = await request.read()
    if not raw:
        return
    if ctype == "application/json":
        record.json = _loads_or_400(raw)
    else:
        record.form["_raw"] = raw.decode("utf-8", errors="replace")


class RestPipeline:
    """Mounts the routers' routes on the aiohttp app behind one request pipeline."""

    def __init__(self, state: ServerState, recorder: Recorder, faults: FaultPlan) -> None:
        self.state = state
        self.recorder = recorder
        self.faults = faults

    def mount(self, app: web.Application, routes: Sequence[Route]) -> None:
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        for method, template, handler, auth in routes:
            app.router.add_route(method, API_PREFIX + template, self._wrap(template, handler, auth))
        app.router.add_route("*", "/{tail:.*}", self._wrap(None, _unknown, False))

    def _wrap(
        self, template: str | None, handler: Handler, needs_auth: bool
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Common request pipeline: parse, record, authenticate, inject faults, respond."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            url_path = request.path
            path = url_path[len(API_PREFIX) :] if url_path.startswith(API_PREFIX + "/") else url_path
            auth = request.headers.get("Authorization")
            record = RecordedRequest(
                method=request.method,
                path=path,
                url_path=url_path,
                route=template,
                params=dict(request.match_info) if template else {},
                query=dict(request.query),
                json=None,
                files=[],
                form={},
                headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
                authorized=auth == f"Bot {self.state.config.token}",
                time=time.monotonic(),
                wall_time=time.time(),
                peer=_peer(request),
            )
            try:
                try:
                    await parse_body(request, record)
                    if needs_auth and not record.authorized:
                        raise ApiError(401, 0, "401: Unauthorized")
                    hold = self.faults.take_hold(request.method, template, path)
                    if hold is not None:
                        hold.requests.append(record)
                        hold.arrived.set()
                        await hold.released.wait()
                    fault = self.faults.take_fault(request.method, template, path)
                    if fault is not None:
                        record.fault = f"{fault.status}"
                        return fault_response(record, fault, template or path)
                    api_request = ApiRequest(request, record.params, record.json, record.files, record)
                    status, body = await handler(api_request)
                except ApiError as err:
                    status, body = err.status, err.body
                record.status = status
                record.response = body
                return json_response(status, body, template or path)
            finally:
                self.recorder.requests.append(record)
                if template is None:
                    self.recorder.unknown_requests.append(record)
                await self.recorder.notify()

        return endpoint

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        """CDN stand-in so ``Attachment.read()`` works on files the bot uploaded."""
        try:
            aid = int(request.match_info["attachment_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        for msg in self.state.messages.values():
            for att in msg.get("attachments", []):
                if int(att["id"]) == aid and "_data" in att:
                    return web.Response(body=att["_data"], content_type="application/octet-stream")
        raise web.HTTPNotFound()


async def _unknown(req: ApiRequest) -> tuple[int, Any]:
    raise ApiError(404, 0, "404: Not Found")


def _peer(request: web.Request) -> tuple[str, int] | None:
    """The client's address and port, as the socket knows them (None when closed already)."""
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None
