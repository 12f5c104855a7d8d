"""/v1/events: the tenant's webhook inbox, and replaying an event.

Only the caller's tenant's events are ever read or replayed: the tenant comes from the API key,
and another tenant's event answers 404 like an event that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ghl_bridge.api import errors
from ghl_bridge.api.deps import LOCATION_ID, ReaderDep, RuntimeDep, WriterDep
from ghl_bridge.errors import NotFound
from ghl_bridge.events.replay import EventReplayer
from ghl_bridge.store.models import WebhookEvent

router = APIRouter(prefix="/v1", tags=["events"])

EventStatus = Literal["pending", "processed", "failed", "dead"]
# Our event ids: "evt_" and 24 urlsafe characters (models.new_id); a little slack for the future.
EVENT_ID = r"^evt_[A-Za-z0-9_-]{1,60}$"


class Event(BaseModel):
    """One webhook delivery from GHL, as received (its payload is not shown here).

    ``status``: ``pending`` (queued or running), ``processed``, ``failed`` (an attempt failed;
    it will be retried) or ``dead`` (every attempt failed: see /v1/dead-letters, replay it).
    """

    model_config = ConfigDict(populate_by_name=True)

    id: str
    webhook_id: str = Field(alias="webhookId", description="GHL's id: the idempotency key")
    type: str = Field(description="GHL's event type, e.g. ContactCreate")
    location_id: str | None = Field(alias="locationId")
    status: EventStatus
    received_at: str = Field(alias="receivedAt", description="ISO 8601")
    processed_at: str | None = Field(alias="processedAt", description="ISO 8601")
    retry_count: int = Field(alias="retryCount", description="failed attempts, replays included")
    last_error: str | None = Field(alias="lastError", description="'<type>: <message>'")
    dead_at: str | None = Field(
        default=None, alias="deadAt", description="ISO 8601; when it was dead-lettered"
    )
    replays: int = Field(default=0, description="how often it was replayed")

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
            dead_at=e.dead_at.isoformat() if e.dead_at else None,
            replays=e.replays,
        )


class EventList(BaseModel):
    events: list[Event]


class ReplayResult(BaseModel):
    event: Event
    queued: bool = Field(
        description="a run was queued by this call; false when one was already on its way"
        " (the event was pending), or the queue was unreachable (queued within minutes)"
    )


EventId = Annotated[str, Path(min_length=5, max_length=64, pattern=EVENT_ID)]


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


@router.post(
    "/events/{event_id}/replay",
    operation_id="events-replay",
    status_code=202,
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def replay_event(event_id: EventId, runtime: RuntimeDep, tenant: WriterDep) -> ReplayResult:
    """Run the event through processing again: it is reset to ``pending`` and queued, with a
    fresh set of attempts.

    Meant for a dead event once its cause is fixed, but any event can be replayed: handlers
    and subscriptions are idempotent, so replaying a processed event changes nothing its first
    run already did (it does reach subscriptions added since). Replaying an event that is
    already pending queues nothing more, so a repeated call is harmless.
    """
    done = await EventReplayer(runtime.inbox, runtime.events_queue).replay(
        event_id, tenant_id=tenant.id
    )
    if done is None:
        raise NotFound(f"no event {event_id!r}")  # another tenant's event looks like none
    return ReplayResult(event=Event.of(done.event), queued=done.queued)
