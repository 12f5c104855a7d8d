"""/v1/events: the tenant's webhook inbox."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from ghl_bridge.api.deps import ReaderDep, RuntimeDep

router = APIRouter(prefix="/v1", tags=["events"])


@router.get("/events", operation_id="events-list")
async def list_events(
    runtime: RuntimeDep,
    tenant: ReaderDep,
    status: Annotated[Literal["pending", "processed", "failed"] | None, Query()] = None,
    location_id: Annotated[str | None, Query(alias="locationId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows = await runtime.inbox.list(
        status=status, limit=limit, location_id=location_id, tenant_id=tenant.id
    )
    return {
        "events": [
            {
                "id": e.id,
                "webhookId": e.webhook_id,
                "type": e.event_type,
                "locationId": e.location_id,
                "status": e.status,
                "receivedAt": e.received_at.isoformat(),
                "processedAt": e.processed_at.isoformat() if e.processed_at else None,
                "retryCount": e.retry_count,
                "lastError": e.last_error,
            }
            for e in rows
        ]
    }
