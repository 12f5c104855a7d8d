"""`create_app`: the simulated GHL as a Starlette ASGI app, and `drain` for pending webhooks.

Routes: every implemented operation at its spec path (see `implemented_operations()`), the OAuth
browser and recovery endpoints, and the `/_sim/` control API. Unknown routes and methods answer
Express's `Cannot GET /x` 404, like GHL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ghl_bridge.simulator import (
    admin_areas,
    appointments,
    calendar_notifications,
    calendars,
    contacts,
    content_areas,
    conversations,
    enrollment,
    messages,
    oauth,
    opportunities,
    opportunity_search,
    records,
    review_replies,
    search,
)
from ghl_bridge.simulator.config import SimConfig
from ghl_bridge.simulator.context import Simulator
from ghl_bridge.simulator.control import control_routes
from ghl_bridge.simulator.errors import not_found_route
from ghl_bridge.simulator.gate import CYCLE_SCOPE_KEY, Endpoint, api_routes

__all__ = ["SimulatorApp", "create_app", "drain", "implemented_operations"]


def _endpoints() -> list[Endpoint]:
    return [
        *oauth.ENDPOINTS,
        *contacts.ENDPOINTS,
        *search.ENDPOINTS,
        *records.ENDPOINTS,
        *opportunities.ENDPOINTS,
        *opportunity_search.ENDPOINTS,
        *calendars.ENDPOINTS,
        *calendar_notifications.ENDPOINTS,
        *appointments.ENDPOINTS,
        *conversations.ENDPOINTS,
        *messages.ENDPOINTS,
        *review_replies.ENDPOINTS,
        *enrollment.ENDPOINTS,
        *admin_areas.ENDPOINTS,
        *content_areas.ENDPOINTS,
    ]


def implemented_operations() -> list[str]:
    """Catalogue operation ids the simulator serves (the spec-conformance test walks these)."""
    return sorted(e.op_id for e in _endpoints() if e.path is None)


class SimulatorApp(Starlette):
    """Starlette, plus a handle on uvicorn's request cycle so `drop` faults can close the socket
    (Starlette's error middleware would otherwise answer 500 before we could)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[CYCLE_SCOPE_KEY] = getattr(send, "__self__", None)
        await super().__call__(scope, receive, send)


async def _route_not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
        raise exc
    sim: Simulator = request.app.state.sim
    error = not_found_route(request.method, request.url.path)
    return error.response(sim.state.ids.trace_id())


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    sim: Simulator = app.state.sim
    await sim.aclose()


def create_app(config: SimConfig | None = None) -> Starlette:
    """A fresh simulator with its own seeded state; `config` defaults to GHL's real limits."""
    sim = Simulator.build(config or SimConfig())
    app = SimulatorApp(
        routes=[*api_routes(sim, _endpoints()), *control_routes()],
        exception_handlers={404: _route_not_found, 405: _route_not_found},
        lifespan=_lifespan,
    )
    app.router.redirect_slashes = False  # Express matches "/x" and "/x/" alike, never redirects
    app.state.sim = sim
    return app


async def drain(app: Starlette, timeout_s: float | None = None) -> int:
    """Wait for the app's pending webhook deliveries (retries included); return how many are
    still pending if `timeout_s` ran out first."""
    sim: Simulator = app.state.sim
    return await sim.webhooks.drain(timeout_s)
