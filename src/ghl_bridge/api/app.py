"""The FastAPI application factory. The runtime is built in the lifespan, or injected by tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

from ghl_bridge.api import errors
from ghl_bridge.api.limits import BodySizeLimit
from ghl_bridge.api.routes import (
    actions,
    audit,
    connections,
    dead_letters,
    events,
    health,
    jobs,
    keys,
    metrics,
    subscriptions,
    triggers,
)
from ghl_bridge.api.routes.webhooks import receive_webhook
from ghl_bridge.config import Settings
from ghl_bridge.runtime import Runtime


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, with_worker: bool = True
) -> FastAPI:
    """Build the app. With ``runtime`` the caller owns its lifecycle; else the lifespan builds
    one (running the workers in this process unless ``with_worker`` is False)."""
    cfg = settings or (runtime.settings if runtime else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        owned = await Runtime.start(cfg, with_worker=with_worker)
        app.state.runtime = owned
        try:
            yield
        finally:
            await owned.close()

    app = FastAPI(
        title="ghl-bridge",
        version="0.1.0",
        summary="GoHighLevel actions, connections and reliable webhooks for workflows.",
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    errors.install(app)
    for module in (health, metrics):
        app.include_router(module.router)
    routers = (actions, jobs, connections, events, dead_letters, audit, keys)
    for module in (*routers, subscriptions, triggers):
        # Every route of these takes a tenant API key; the document says what that can answer.
        app.include_router(module.router, responses=errors.AUTHENTICATED)
    app.include_router(connections.oauth_router)
    for path in ("/webhooks/ghl", "/webhooks/ghl/{location_id}"):
        # First in the table: GHL's deliveries are the hot path, matched before ~40 API routes.
        app.router.routes.insert(0, Route(path, receive_webhook, methods=["POST"]))
    app.add_middleware(BodySizeLimit)
    return app
