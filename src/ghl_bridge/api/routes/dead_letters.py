"""/v1/dead-letters: the tenant's webhook events whose every processing attempt failed.

They stay here, with their attempt count and last error, until replayed
(``POST /v1/events/{id}/replay``); a replayed event leaves the list at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ghl_bridge.api.deps import ReaderDep, RuntimeDep
from ghl_bridge.api.routes.events import Event
from ghl_bridge.errors import InvalidInput
from ghl_bridge.store.cursors import InvalidCursor

router = APIRouter(prefix="/v1", tags=["events"])


class DeadLetter(Event):
    """A dead event; ``retryCount`` is its failed attempts and ``lastError`` the last one's
    error. ``attempts`` repeats ``retryCount`` under the name operators look for."""

    attempts: int = Field(description="failed processing attempts")


class DeadLetterPage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    dead_letters: list[DeadLetter] = Field(alias="deadLetters")
    next_cursor: str | None = Field(
        alias="nextCursor", description="pass as ?cursor= for older entries; null at the end"
    )


@router.get(
    "/dead-letters",
    operation_id="dead-letters-list",
    response_model=DeadLetterPage,
    response_model_by_alias=True,
)
async def list_dead_letters(
    runtime: RuntimeDep,
    tenant: ReaderDep,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeadLetterPage:
    """The caller's tenant's dead events, most recently dead first; page with ``nextCursor``."""
    try:
        page = await runtime.inbox.dead_page(tenant_id=tenant.id, limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise InvalidInput(
            str(exc), details=[{"path": "query/cursor", "message": str(exc)}]
        ) from exc
    letters = [DeadLetter(**Event.of(e).model_dump(), attempts=e.retry_count) for e in page.events]
    return DeadLetterPage(dead_letters=letters, next_cursor=page.next_cursor)
