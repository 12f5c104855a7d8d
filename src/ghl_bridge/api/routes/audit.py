"""/v1/audit: the tenant's audit log (GHL calls and connection changes), newest first.

Only the caller's tenant's rows are ever read: the tenant comes from the API key, never from a
parameter. Rows hold no tokens and no bodies, so nothing here needs redacting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ghl_bridge.api.deps import LOCATION_ID, ReaderDep, RuntimeDep
from ghl_bridge.errors import InvalidInput
from ghl_bridge.store.audit import AuditFilter
from ghl_bridge.store.cursors import InvalidCursor
from ghl_bridge.store.models import AuditRecord

router = APIRouter(prefix="/v1", tags=["audit"])


class AuditEntry(BaseModel):
    """One audited fact. ``kind`` ``ghl_call``: ``operation`` is GHL's operation id and
    ``status`` the HTTP status (or ``timeout`` / ``connect_error``), one entry per attempt.
    ``kind`` ``connection``: ``operation`` is the change (``connected``, ``refreshed``,
    ``needs_reauth``, ``revoked``) and ``status`` the connection's status after it."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    at: datetime
    kind: Literal["ghl_call", "connection"]
    actor: str = Field(description="key:<API key prefix>, system, webhook or oauth")
    location_id: str | None = Field(alias="locationId")
    operation: str
    status: str
    latency_ms: float | None = Field(alias="latencyMs")
    attempt: int | None
    trace_id: str | None = Field(alias="traceId", description="GHL's traceId, for GHL support")
    request_id: str | None = Field(alias="requestId", description="our X-Request-Id to GHL")

    @classmethod
    def of(cls, row: AuditRecord) -> AuditEntry:
        return cls(
            id=row.id,
            at=row.at,
            kind=row.kind,  # CHECK-constrained to the two kinds
            actor=row.actor,
            location_id=row.resource_id,
            operation=row.operation,
            status=row.status,
            latency_ms=row.latency_ms,
            attempt=row.attempt,
            trace_id=row.trace_id,
            request_id=row.request_id,
        )


class AuditPage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    entries: list[AuditEntry]
    next_cursor: str | None = Field(
        alias="nextCursor", description="pass as ?cursor= for older entries; null at the end"
    )


AtQuery = Annotated[AwareDatetime | None, Query(description="ISO 8601 with a time zone")]


@router.get(
    "/audit",
    operation_id="audit-list",
    response_model=AuditPage,
    response_model_by_alias=True,
)
async def list_audit(
    runtime: RuntimeDep,
    tenant: ReaderDep,
    location_id: Annotated[
        str | None, Query(alias="locationId", min_length=1, max_length=64, pattern=LOCATION_ID)
    ] = None,
    operation: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    kind: Annotated[Literal["ghl_call", "connection"] | None, Query()] = None,
    status: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    since: AtQuery = None,
    until: AtQuery = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """The caller's tenant's audit entries, newest first; page with ``nextCursor``.

    ``since`` is inclusive and ``until`` exclusive; the other filters match exactly.

    Entries are written within about a second of the fact; this process's pending ones are
    written before reading, so a call this service just answered is already listed.
    """
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until")
    await runtime.audit.flush()
    where = AuditFilter(
        tenant_id=tenant.id,
        resource_id=location_id,
        operation=operation,
        kind=kind,
        status=status,
        since=since,
        until=until,
    )
    try:
        page = await runtime.audit_log.page(where, limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise InvalidInput(
            str(exc), details=[{"path": "query/cursor", "message": str(exc)}]
        ) from exc
    return AuditPage(entries=[AuditEntry.of(r) for r in page.records], next_cursor=page.next_cursor)
