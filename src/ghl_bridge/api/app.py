"""The FastAPI application factory. The runtime is built in the lifespan, or injected by tests."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

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
from ghl_bridge.api.routes.webhooks import (
    WEBHOOK_PATHS,
    receive_webhook,
    webhook_endpoint,
    webhook_target,
)
from ghl_bridge.config import Settings
from ghl_bridge.runtime import Runtime


class BridgeApp(FastAPI):
    """FastAPI with GHL's webhook deliveries dispatched in front of it.

    A POST to a webhook path goes straight to the raw ASGI receiver: no telemetry wrapper,
    middleware, exception handlers or route matching, which cost about a third of a delivery's
    CPU (docs/benchmarks.md). Everything else, the lifespan included, is FastAPI's as usual.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and not self.root_path
            and webhook_target(scope["path"])[0]
        ):
            scope["app"] = self
            await receive_webhook(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def freeze_startup_heap() -> None:
    """Move everything built at start-up out of the garbage collector's sight (`gc.freeze`).

    The start-up heap (SQLAlchemy's mappers, pydantic models of ~100 actions, the OpenAPI
    spec) is long-lived; every full collection used to walk it again, a pause that showed as
    the webhook answer's p99 at half load (~110-130 ms, ~30-50 ms with the freeze,
    docs/benchmarks.md). Only for server processes: it is for the life of the process.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    with_worker: bool = True,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the app. With ``runtime`` the caller owns its lifecycle; else the lifespan builds
    one (running the workers in this process unless ``with_worker`` is False). A server
    process passes ``freeze_heap`` (`freeze_startup_heap`)."""
    cfg = settings or (runtime.settings if runtime else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        owned = await Runtime.start(cfg, with_worker=with_worker)
        app.state.runtime = owned
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            await owned.close()

    app = BridgeApp(
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
    for path in WEBHOOK_PATHS:
        # BridgeApp answers POSTs to these before routing; in the table for 405s and listings.
        app.router.routes.insert(0, Route(path, webhook_endpoint, methods=["POST"]))
    app.add_middleware(BodySizeLimit)
    return app
