"""GET /metrics: Prometheus exposition. Behind ``ADMIN_TOKEN`` when one is configured, because
the labels name locations (identifiers, not PII, but still not for the open internet). The
backlog gauges (backlog.py) are read from the database on each scrape."""

from __future__ import annotations

import hmac

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ghl_bridge import backlog
from ghl_bridge.api.deps import RuntimeDep
from ghl_bridge.errors import Unauthorized

log = structlog.get_logger("ghl_bridge.metrics")
router = APIRouter(tags=["health"])


@router.get("/metrics", operation_id="health-metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.admin_token
    if token is not None:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
            raise Unauthorized("send the admin token as 'Authorization: Bearer <token>'")
    try:
        await backlog.refresh(runtime.inbox, runtime.subscriptions.deliveries)
    except Exception as exc:  # the other metrics still matter when the database is away
        log.warning("metrics.backlog_unavailable", error=type(exc).__name__)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
