"""POST /webhooks/ghl[/{locationId}]: a raw ASGI handler served in front of FastAPI.

Signature checks need the exact raw bytes, and GHL's deliveries are the hot path: the app
(`api.app.BridgeApp`) hands a POST to these paths straight to `receive_webhook`, before
FastAPI's telemetry, middleware stack, exception handlers and route table (about a third of the
CPU per delivery, docs/benchmarks.md). The same handler is also in the route table, so other
methods on these paths answer 405 as before and the app's route list names them.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from ghl_bridge.errors import WebhookRejected
from ghl_bridge.events.receiver import MAX_BODY_BYTES, client_address
from ghl_bridge.runtime import Runtime

WEBHOOK_PATHS = ("/webhooks/ghl", "/webhooks/ghl/{location_id}")
_BASE = "/webhooks/ghl"
_WITH_LOCATION = _BASE + "/"
_JSON_HEADERS = [(b"content-type", b"application/json")]


def webhook_target(path: str) -> tuple[bool, str | None]:
    """Whether ``path`` is a webhook path, and its location segment; matches exactly what the
    route table's ``/webhooks/ghl`` and ``/webhooks/ghl/{location_id}`` (``[^/]+``) match."""
    if path == _BASE:
        return True, None
    if path.startswith(_WITH_LOCATION):
        rest = path[len(_WITH_LOCATION) :]
        if rest and "/" not in rest:
            return True, rest
    return False, None


async def receive_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the body (capped), check and store the delivery, answer; ``scope["app"]`` is the
    application whose ``state.runtime`` holds the receiver."""
    runtime: Runtime = scope["app"].state.runtime
    headers = Headers(scope=scope)
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        await _reject(413, "too_large", scope, receive, send)
        return
    raw = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # nobody is left to answer; nothing was stored
        raw.extend(message.get("body", b""))
        if len(raw) > MAX_BODY_BYTES:
            await _reject(413, "too_large", scope, receive, send)
            return
        if not message.get("more_body", False):
            break
    client = scope.get("client")
    path_location = scope.get("path_params", {}).get("location_id")
    if path_location is None:
        path_location = webhook_target(scope["path"])[1]
    client_ip = client_address(
        client[0] if client else None,
        headers.get("x-forwarded-for"),
        runtime.receiver.trusted_proxies,
    )
    try:
        accepted = await runtime.receiver.receive(
            bytes(raw), headers, client_ip=client_ip, path_location=path_location
        )
    except WebhookRejected as exc:
        await _reject(exc.status, exc.reason, scope, receive, send)
        return
    status = "duplicate" if accepted.duplicate else "accepted"
    await _send_json(send, 200, {"status": status, "eventId": accepted.event_id})


class _Endpoint:
    """`receive_webhook` as an ASGI app for the route table (a plain function there would be
    wrapped as a request/response endpoint)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive_webhook(scope, receive, send)


webhook_endpoint = _Endpoint()


async def _send_json(send: Send, status: int, content: Any) -> None:
    """What `JSONResponse` sends, without building a response object per delivery."""
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-length", str(len(body)).encode()), *_JSON_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _reject(status: int, reason: str, scope: Scope, receive: Receive, send: Send) -> None:
    headers = {"Retry-After": "60"} if status == 429 else None
    response = JSONResponse(
        {"error": {"code": reason, "message": reason.replace("_", " "), "details": None}},
        status_code=status,
        headers=headers,
    )
    await response(scope, receive, send)
