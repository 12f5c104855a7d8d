"""The per-request path every simulated API call takes, and the routes built from the catalogue.

body → injected fault → Version → token → rate limit → scope/class → handler. The rate-limit
headers go on every response of an authenticated request, errors included. Routes take their
method and path from the spec catalogue, so a path typo cannot make the simulator agree with a
client's typo.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ghl_bridge.simulator.auth import authenticate, authorize, bearer_of, check_version
from ghl_bridge.simulator.context import Call, Simulator
from ghl_bridge.simulator.errors import ApiError, bad_request, status_error, too_many_requests
from ghl_bridge.simulator.faults import Fault
from ghl_bridge.simulator.spec import OpSpec
from ghl_bridge.simulator.state import Token

__all__ = ["CYCLE_SCOPE_KEY", "Endpoint", "SimulatedConnectionDrop", "api_routes"]

Handler = Callable[[Call], Awaitable[Response]]
# Where `SimulatorApp` leaves uvicorn's request cycle, so a `drop` fault can close the socket.
CYCLE_SCOPE_KEY = "ghl_sim.cycle"


class SimulatedConnectionDrop(ConnectionResetError):
    """Raised for a `drop` fault when there is no socket to close (e.g. under httpx's ASGI
    transport): the caller sees an exception instead of a response, as after a reset."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A handler for one operation. `method`/`path` only for routes the catalogue lacks."""

    op_id: str
    handler: Handler
    public: bool = False
    method: str | None = None
    path: str | None = None

    def spec(self, sim: Simulator) -> OpSpec:
        if self.method and self.path:
            return OpSpec(self.op_id, self.method, self.path, None, frozenset(), frozenset())
        return sim.spec.op(self.op_id)


def api_routes(sim: Simulator, endpoints: list[Endpoint]) -> list[BaseRoute]:
    """Starlette routes for `endpoints`; "/contacts/" also answers as "/contacts" (Express).

    Literal segments are tried before parameters at the same depth, so `/opportunities/search`
    is never taken for `/opportunities/{id}` (GHL's controllers declare the literal first)."""
    routes: list[Route] = []
    for endpoint in endpoints:
        op = endpoint.spec(sim)
        for path in dict.fromkeys((op.path, op.path.rstrip("/") or "/")):
            routes.append(Route(path, _bind(endpoint, op), methods=[op.method], name=op.op_id))
    routes.sort(key=lambda r: [part.startswith("{") for part in r.path.split("/")])
    return list(routes)


def _bind(endpoint: Endpoint, op: OpSpec) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        return await _run(endpoint, op, request)

    return run


async def _run(endpoint: Endpoint, op: OpSpec, request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    trace_id = sim.state.ids.trace_id()
    rate_headers: dict[str, str] = {}
    try:
        body = await _read_body(request)
        fault = sim.faults.take_request(request.method, request.url.path, _hint(sim, request, body))
        forced_429 = fault is not None and fault.kind == "rate_limit"
        if fault is not None and not forced_429 and not fault.after:
            dropped = await _apply_fault(fault, request)
            if dropped is not None:
                return dropped
        token = None
        if not endpoint.public:
            token = _admit(sim, request, op, rate_headers, forced_429)
        elif forced_429:
            raise too_many_requests({})
        sim.journal.record(request.method, op.op_id, await request.body())
        response = await endpoint.handler(Call(sim, request, op, trace_id, body, token))
        if fault is not None and fault.after:
            # The write above has landed; its answer is now lost or replaced.
            dropped = await _apply_fault(fault, request)
            if dropped is not None:
                return dropped
    except ApiError as error:
        response = error.response(trace_id)
    response.headers.update(rate_headers)
    return response


def _admit(
    sim: Simulator, request: Request, op: OpSpec, rate_headers: dict[str, str], forced: bool
) -> Token:
    """Version, token and rate limit, then scope and token class (GHL's order)."""
    if op.version is not None:
        check_version(request.headers)
    token = authenticate(sim.state, request.headers, sim.now())
    verdict = sim.limiter.hit(token.rate_key, token.resource, force_limit=forced)
    rate_headers.update(verdict.headers)
    if not verdict.allowed:
        extra = {"Retry-After": str(verdict.retry_after_s)} if sim.config.send_retry_after else {}
        raise too_many_requests({**verdict.headers, **extra})
    authorize(token, op)
    return token


async def _read_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        # Express's body-parser rejects bad JSON before any guard runs.
        position = getattr(exc, "pos", 0)
        raise bad_request(f"Unexpected token in JSON at position {position}") from exc


def _hint(sim: Simulator, request: Request, body: Any) -> str | None:
    """The location a request is about, for faults that match on `locationId`."""
    for source in (
        request.path_params,
        request.query_params,
        body if isinstance(body, dict) else {},
    ):
        value = source.get("locationId")
        if isinstance(value, str):
            return value
    contact_id = request.path_params.get("contactId")
    if contact_id is not None and contact_id in sim.state.contact_location:
        return sim.state.contact_location[contact_id]
    credential = bearer_of(request.headers)
    token = sim.state.tokens.get(credential) if credential else None
    return token.resource if token is not None else None


async def _apply_fault(fault: Fault, request: Request) -> Response | None:
    """Latency delays and continues; the others end the request here."""
    if fault.kind == "latency":
        await asyncio.sleep(fault.delay_ms / 1000)
        return None
    if fault.kind == "status":
        raise status_error(fault.status)
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay_ms / 1000)
        raise status_error(504)
    return await _drop_connection(request)


async def _drop_connection(request: Request) -> Response:
    """Close the socket without a response: what a client sees when a proxy resets it."""
    cycle = request.scope.get(CYCLE_SCOPE_KEY)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        raise SimulatedConnectionDrop("simulated connection drop")
    transport.close()
    for _ in range(100):  # uvicorn marks the cycle disconnected once the close lands
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.001)
    return Response(status_code=500)  # never sent: uvicorn drops writes after a disconnect
