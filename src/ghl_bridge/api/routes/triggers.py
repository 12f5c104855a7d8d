"""/v1/triggers: the event types a subscription can match, with their payload JSON Schemas.

For workflow builders: a trigger node lists the types and offers the fields of the chosen one
for predicates and input templates. The catalogue is the same for every tenant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from ghl_bridge.api import errors
from ghl_bridge.api.deps import ReaderDep
from ghl_bridge.errors import NotFound
from ghl_bridge.events.triggers import Trigger, catalogue

router = APIRouter(prefix="/v1", tags=["triggers"])


class TriggerOut(BaseModel):
    type: str = Field(description="the event's `type` as it arrives, e.g. ContactTagUpdate")
    source: str = Field(description="ghl, or ghl-bridge for events the service raises")
    doc: str | None = Field(description="GHL's documentation page for it")
    schema_: dict[str, Any] = Field(alias="schema", description="the payload's JSON Schema")
    example: dict[str, Any] | None

    @classmethod
    def of(cls, trigger: Trigger) -> TriggerOut:
        return cls.model_validate(
            {
                "type": trigger.type,
                "source": trigger.source,
                "doc": trigger.doc,
                "schema": trigger.schema,
                "example": trigger.example,
            }
        )


class TriggerList(BaseModel):
    triggers: list[TriggerOut]


@router.get("/triggers", operation_id="triggers-list", response_model_by_alias=True)
async def list_triggers(tenant: ReaderDep) -> TriggerList:
    """Every event type, sorted, with its payload schema and an example."""
    return TriggerList(triggers=[TriggerOut.of(t) for t in catalogue().values()])


@router.get(
    "/triggers/{event_type}",
    operation_id="triggers-get",
    response_model_by_alias=True,
    responses=errors.responses(404),
)
async def get_trigger(
    event_type: Annotated[str, Path(max_length=128)], tenant: ReaderDep
) -> TriggerOut:
    trigger = catalogue().get(event_type)
    if trigger is None:
        raise NotFound(f"no event type {event_type!r}; GET /v1/triggers lists them")
    return TriggerOut.of(trigger)
