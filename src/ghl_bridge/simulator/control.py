"""The simulator's own control API under `/_sim/` (not part of GHL; no auth, no rate limits).

GET /_sim/seed · GET|POST|DELETE /_sim/webhooks · POST /_sim/webhooks/emit ·
POST /_sim/webhooks/flush · GET /_sim/deliveries · GET|POST|DELETE /_sim/faults ·
GET /_sim/journal · POST /_sim/uninstall
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ghl_bridge.simulator.context import Simulator
from ghl_bridge.simulator.errors import ApiError, GhlJSONResponse, bad_request, unprocessable
from ghl_bridge.simulator.oauth import uninstall
from ghl_bridge.simulator.seed import seed_summary

__all__ = ["control_routes"]

ControlHandler = Callable[[Simulator, Request], Awaitable[Any]]


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise unprocessable([f"body is not valid JSON: {exc.msg}"]) from exc
    if not isinstance(body, dict):
        raise unprocessable(["body must be an object"])
    return body


def _wrap(handler: ControlHandler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sim = _sim(request)
        try:
            return GhlJSONResponse(await handler(sim, request), status_code=status)
        except ApiError as error:
            return error.response(sim.state.ids.trace_id())

    return endpoint


async def get_seed(sim: Simulator, request: Request) -> Any:
    return seed_summary(sim.state, sim.signer)


async def list_webhooks(sim: Simulator, request: Request) -> Any:
    return {"urls": list(sim.webhooks.targets)}


async def add_webhook(sim: Simulator, request: Request) -> Any:
    url = (await _json_body(request)).get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise unprocessable(["url must be an http(s) URL"])
    if url not in sim.webhooks.targets:
        sim.webhooks.targets.append(url)
    return {"urls": list(sim.webhooks.targets)}


async def clear_webhooks(sim: Simulator, request: Request) -> Any:
    """Remove one target (`?url=`) or all of them."""
    url = request.query_params.get("url")
    sim.webhooks.targets[:] = [t for t in sim.webhooks.targets if url is not None and t != url]
    return {"urls": list(sim.webhooks.targets)}


async def emit_webhook(sim: Simulator, request: Request) -> Any:
    body = await _json_body(request)
    event_type, location_id, data = body.get("type"), body.get("locationId"), body.get("data", {})
    errors = []
    if not isinstance(event_type, str) or not event_type:
        errors.append("type must be a non-empty string")
    if location_id is not None and not isinstance(location_id, str):
        errors.append("locationId must be a string")
    if not isinstance(data, dict):
        errors.append("data must be an object")
    if errors:
        raise unprocessable(errors)
    return {"webhookId": sim.webhooks.emit(str(event_type), location_id, data)}


async def flush_webhooks(sim: Simulator, request: Request) -> Any:
    timeout = (await _json_body(request)).get("timeoutS", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise unprocessable(["timeoutS must be a non-negative number"])
    pending = await sim.webhooks.drain(float(timeout))
    return {"pending": pending, "deliveries": len(sim.webhooks.deliveries)}


async def list_deliveries(sim: Simulator, request: Request) -> Any:
    return {"deliveries": sim.webhooks.records()}


async def add_fault(sim: Simulator, request: Request) -> Any:
    try:
        fault = sim.faults.add(await _json_body(request))
    except ValueError as exc:
        raise unprocessable(list(exc.args[0])) from exc
    return {"id": fault.id}


async def uninstall_app(sim: Simulator, request: Request) -> Any:
    """A user removes the app in GHL's UI: `{"locationId"}` for one location, `{"companyId"}`
    for the agency and all its locations."""
    body = await _json_body(request)
    location_id, company_id = body.get("locationId"), body.get("companyId")
    given = [name for name in ("locationId", "companyId") if body.get(name) is not None]
    if len(given) != 1 or not isinstance(body[given[0]], str) or not body[given[0]]:
        raise unprocessable(["exactly one of locationId or companyId must be a non-empty string"])
    try:
        webhook_id = uninstall(sim, location_id, None if location_id else company_id)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    return {"webhookId": webhook_id}


async def journal(sim: Simulator, request: Request) -> Any:
    return sim.journal.summary()


async def list_faults(sim: Simulator, request: Request) -> Any:
    return {"faults": sim.faults.listing()}


async def clear_faults(sim: Simulator, request: Request) -> Any:
    return {"cleared": sim.faults.clear()}


def control_routes() -> list[BaseRoute]:
    return [
        Route("/_sim/seed", _wrap(get_seed), methods=["GET"]),
        Route("/_sim/webhooks", _wrap(list_webhooks), methods=["GET"]),
        Route("/_sim/webhooks", _wrap(add_webhook, 201), methods=["POST"]),
        Route("/_sim/webhooks", _wrap(clear_webhooks), methods=["DELETE"]),
        Route("/_sim/webhooks/emit", _wrap(emit_webhook, 202), methods=["POST"]),
        Route("/_sim/webhooks/flush", _wrap(flush_webhooks), methods=["POST"]),
        Route("/_sim/deliveries", _wrap(list_deliveries), methods=["GET"]),
        Route("/_sim/faults", _wrap(list_faults), methods=["GET"]),
        Route("/_sim/journal", _wrap(journal), methods=["GET"]),
        Route("/_sim/faults", _wrap(add_fault, 201), methods=["POST"]),
        Route("/_sim/faults", _wrap(clear_faults), methods=["DELETE"]),
        Route("/_sim/uninstall", _wrap(uninstall_app), methods=["POST"]),
    ]
