"""/v1/events: the tenant's webhook inbox."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ghl_bridge.api.deps import LOCATION_ID, ReaderDep, RuntimeDep
from ghl_bridge.store.models import WebhookEvent

router = APIRouter(prefix="/v1", tags=["events"])

EventStatus = Literal["pending", "processed", "failed"]


class Event(BaseModel):
    """One webhook delivery from GHL, as received (its payload is not shown here)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    webhook_id: str = Field(alias="webhookId", description="GHL's id: the idempotency key")
    type: str = Field(description="GHL's event type, e.g. ContactCreate")
    location_id: str | None = Field(alias="locationId")
    status: EventStatus
    received_at: str = Field(alias="receivedAt", description="ISO 8601")
    processed_at: str | None = Field(alias="processedAt", description="ISO 8601")
    retry_count: int = Field(alias="retryCount")
    last_error: str | None = Field(alias="lastError")

    @classmethod
    def of(cls, e: WebhookEvent) -> Event:
        return cls(
            id=e.id,
            webhook_id=e.webhook_id,
            type=e.event_type,
            location_id=e.location_id,
            status=e.status,  # CHECK-constrained to EventStatus
            received_at=e.received_at.isoformat(),
            processed_at=e.processed_at.isoformat() if e.processed_at else None,
            retry_count=e.retry_count,
            last_error=e.last_error,
        )


class EventList(BaseModel):
    events: list[Event]


@router.get("/events", operation_id="events-list", response_model_by_alias=True)
async def list_events(
    runtime: RuntimeDep,
    tenant: ReaderDep,
    status: Annotated[EventStatus | None, Query()] = None,
    location_id: Annotated[
        str | None, Query(alias="locationId", max_length=64, pattern=LOCATION_ID)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventList:
    rows = await runtime.inbox.list(
        status=status, limit=limit, location_id=location_id, tenant_id=tenant.id
    )
    return EventList(events=[Event.of(e) for e in rows])
