"""Reconciliation: find the changes GHL's webhooks never brought, and put them in the inbox.

GHL redelivers a webhook only on 429; anything else loses it for good (ghl-facts.md §4.1). So
every `GHL_BRIDGE_RECONCILE_INTERVAL_S`, for each connected location, this searches contacts
(`POST /contacts/search`, `dateUpdated` range, ghl-wire-facts.md §1) and opportunities
(`POST /opportunities/search`, `date_updated` range, §2) changed since the location's checkpoint
minus an overlap (GHL's search index lags writes by seconds), up to now minus a settle time (a
delivery still in flight is not reported missing). Each record whose latest version no inbox
event shows gets the events GHL would have sent, stored with ``signature_scheme='reconciled'``
and ``"reconciled": true`` in the body, then enqueued exactly like the receiver does:

- ``ContactCreate``/``OpportunityCreate`` when the record was made in the window and no create
  event for it is in the inbox (its time is the record's creation time);
- ``ContactUpdate``/``OpportunityUpdate`` when its last change (``dateUpdated``/``updatedAt``) is
  newer than every inbox event for it (and, when the create is synthesised too, more than
  ``CREATE_SLACK_MS`` after the creation: that create carries the current state); plus the
  specific ones (``ContactTagUpdate``, ``OpportunityStageUpdate``, ...) whose fields differ
  from the last payload the inbox holds.

The ``webhookId`` is deterministic (``reconciled:<type>:<record id>:<change ms>``) and the inbox
is unique on it, so overlapping windows, concurrent runs and retries add nothing twice. Searches
go on the client's BULK lane: interactive calls are never starved. A search cannot see deleted
records, so a lost ``ContactDelete``/``OpportunityDelete`` stays lost; an intermediate change
overwritten by a later one is represented by the later one only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from ghl_bridge.client import GHLClient, RequestOptions
from ghl_bridge.client.pagination import RecordCursor, paginate
from ghl_bridge.client.resilience.gate import Lane
from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.jobs.port import Queue
from ghl_bridge.store.audit import SYSTEM, acting_as
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import Connection
from ghl_bridge.store.reconcile import ReconcileRepo
from ghl_bridge.store.types import utcnow

log = structlog.get_logger("ghl_bridge.reconcile")

SCHEME = "reconciled"
# A record's dateUpdated can trail its dateAdded by a few ms when it is made (one write, two
# clock reads): a change this close to the creation is part of it, not an update of its own.
CREATE_SLACK_MS = 1000
PAGE_SIZE = 100
Record = dict[str, Any]
_CONTACT_FIELDS = (
    "id", "address1", "city", "state", "companyName", "country", "source", "dateAdded",
    "dateUpdated", "dateOfBirth", "dnd", "dndSettings", "email", "firstName", "lastName", "phone",
    "postalCode", "tags", "website", "assignedTo", "customFields",
)  # fmt: skip
_OPPORTUNITY_FIELDS = (
    "id", "name", "monetaryValue", "pipelineId", "pipelineStageId", "status", "source",
    "assignedTo", "contactId",
)  # fmt: skip


def _contact_fields(record: Mapping[str, Any]) -> Record:
    """A search result as Contact* webhook fields (search says `address`, events `address1`)."""
    merged = {"address1": record.get("address"), **record}
    fields = {key: merged[key] for key in _CONTACT_FIELDS if merged.get(key) is not None}
    name = " ".join(str(p) for p in (record.get("firstName"), record.get("lastName")) if p)
    return {**fields, "name": name} if name else fields


def _opportunity_fields(record: Mapping[str, Any]) -> Record:
    fields = {key: record[key] for key in _OPPORTUNITY_FIELDS if record.get(key) is not None}
    for ours, theirs in (("dateAdded", "createdAt"), ("dateUpdated", "updatedAt")):
        if record.get(theirs) is not None:
            fields[ours] = record[theirs]
    return fields


@dataclass(frozen=True, slots=True)
class Family:
    """One kind of record: how to search it, read its times, and shape its events."""

    kind: str  # the checkpoint kind
    created: str
    updated: str
    specifics: tuple[tuple[str, tuple[str, ...]], ...]
    added_at: str  # the record's creation-time field in search results
    changed_at: str
    search_field: str  # the date filter / sort field of its search
    cursor: RecordCursor
    fields: Callable[[Mapping[str, Any]], Record]

    @property
    def types(self) -> tuple[str, ...]:
        return (self.created, self.updated, *(name for name, _ in self.specifics))


CONTACTS = Family(
    "contacts", "ContactCreate", "ContactUpdate",
    (("ContactTagUpdate", ("tags",)), ("ContactDndUpdate", ("dnd", "dndSettings"))),
    "dateAdded", "dateUpdated", "dateUpdated",
    RecordCursor("contacts", "searchAfter", "searchAfter", PAGE_SIZE, "pageLimit"),
    _contact_fields,
)  # fmt: skip
OPPORTUNITIES = Family(
    "opportunities", "OpportunityCreate", "OpportunityUpdate",
    (("OpportunityStageUpdate", ("pipelineId", "pipelineStageId")),
     ("OpportunityStatusUpdate", ("status",)),
     ("OpportunityMonetaryValueUpdate", ("monetaryValue",)),
     ("OpportunityAssignedToUpdate", ("assignedTo",))),
    "createdAt", "updatedAt", "date_updated",
    RecordCursor("opportunities", "sort", "searchAfter", PAGE_SIZE, "limit"),
    _opportunity_fields,
)  # fmt: skip
FAMILIES = (CONTACTS, OPPORTUNITIES)


def epoch_ms(value: Any) -> int | None:
    """GHL's times: ISO-8601 strings (``...Z``) or epoch milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass(frozen=True, slots=True)
class Seen:
    """An inbox event about one record."""

    event_type: str
    at_ms: int
    body: Mapping[str, Any]


def index_events(rows: Iterable[tuple[str, str]]) -> dict[str, list[Seen]]:
    """Inbox rows by record id (the events' top-level ``id``), for the coverage check."""
    seen: dict[str, list[Seen]] = {}
    for event_type, payload in rows:
        try:
            body = json.loads(payload)
        except ValueError:
            continue
        record_id, at_ms = body.get("id"), epoch_ms(body.get("timestamp"))
        if isinstance(record_id, str) and at_ms is not None:
            seen.setdefault(record_id, []).append(Seen(event_type, at_ms, body))
    return seen


def _differs(before: Mapping[str, Any], after: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    return any((before.get(name) or None) != (after.get(name) or None) for name in names)


def missing_events(
    family: Family, record: Mapping[str, Any], seen: list[Seen], since_ms: int
) -> list[tuple[str, int, Record]]:
    """``(type, change ms, fields)`` of each event GHL should have sent for this record but the
    inbox does not hold (see the module docstring)."""
    added, changed = epoch_ms(record.get(family.added_at)), epoch_ms(record.get(family.changed_at))
    fields = family.fields(record)
    out: list[tuple[str, int, Record]] = []
    latest = max(seen, key=lambda s: s.at_ms, default=None)
    covered = changed is None or (latest is not None and latest.at_ms >= changed)
    if (
        added is not None
        and added >= since_ms
        and all(s.event_type != family.created for s in seen)
    ):
        # A create that is the only carrier of the record's latest state is stamped with that
        # state's time, so the next round sees the change covered and adds no update for it.
        within = changed is not None and 0 <= changed - added <= CREATE_SLACK_MS
        at = changed if within and not covered and changed is not None else added
        out.append((family.created, at, fields))
    if covered or changed is None:
        return out
    if out and changed - (added or 0) <= CREATE_SLACK_MS:
        return out  # the synthesised create already carries this state
    out.append((family.updated, changed, fields))
    if latest is not None:
        out.extend(
            (name, changed, fields)
            for name, names in family.specifics
            if _differs(latest.body, fields, names)
        )
    return out


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    location_id: str
    kind: str
    since: datetime
    until: datetime
    searched: int
    synthesized: int


class Reconciler:
    def __init__(
        self,
        ghl: GHLClient,
        connections: ConnectionRepo,
        inbox: InboxRepo,
        checkpoints: ReconcileRepo,
        queue: Queue,
        *,
        interval_s: float = 900.0,
        overlap_s: float = 300.0,
        settle_s: float = 60.0,
        lease_s: float = 900.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ghl = ghl
        self._connections = connections
        self._inbox = inbox
        self._checkpoints = checkpoints
        self._queue = queue
        self._interval_s = interval_s
        self._overlap = timedelta(seconds=overlap_s)
        self._settle = timedelta(seconds=settle_s)
        self._lease_s = lease_s
        self._clock = clock
        self._options = RequestOptions(lane=Lane.BULK)

    async def run(self) -> None:
        """Every interval (the first after a minute at most), reconcile every location."""
        await asyncio.sleep(min(60.0, self._interval_s))
        while True:
            try:
                await self.reconcile_all()
            except Exception as exc:  # keep going; the next round retries
                log.warning("reconcile.failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)

    async def reconcile_all(self) -> list[ReconcileReport]:
        """One round over every active location connection; a failing location does not stop
        the others (its checkpoint stays, so the next round covers its window again)."""
        reports: list[ReconcileReport] = []
        for conn in await self._connections.list():
            if conn.status == "active" and conn.location_id:
                reports.extend(await self.reconcile_location(conn))
        return reports

    async def reconcile_location(self, conn: Connection) -> list[ReconcileReport]:
        reports = []
        for family in FAMILIES:
            with acting_as(SYSTEM, conn.tenant_id):
                report = await self._reconcile(conn, family)
            if report is not None:
                reports.append(report)
        return reports

    async def _reconcile(self, conn: Connection, family: Family) -> ReconcileReport | None:
        location_id, now = str(conn.location_id), self._clock()
        start_at = max(conn.created_at, now - timedelta(seconds=self._interval_s))
        checkpoint = await self._checkpoints.claim(
            conn.tenant_id, location_id, family.kind, start_at=start_at, lease_s=self._lease_s
        )
        if checkpoint is None:
            return None  # another process is on it
        since, until = checkpoint.checkpoint_at - self._overlap, now - self._settle
        try:
            searched, synthesized = await self._window(conn, family, since, until)
        except Exception as exc:
            await self._checkpoints.fail(checkpoint.id, f"{type(exc).__name__}: {exc}"[:300])
            log.warning("reconcile.location_failed", location=location_id, kind=family.kind,
                        error=type(exc).__name__)  # fmt: skip
            return None
        await self._checkpoints.advance(
            checkpoint.id, max(until, checkpoint.checkpoint_at), synthesized
        )
        if synthesized:
            log.info("reconcile.synthesized", location=location_id, kind=family.kind,
                     count=synthesized, searched=searched)  # fmt: skip
        return ReconcileReport(location_id, family.kind, since, until, searched, synthesized)

    async def _window(
        self, conn: Connection, family: Family, since: datetime, until: datetime
    ) -> tuple[int, int]:
        if until <= since:
            return 0, 0
        location_id = str(conn.location_id)
        # Deliveries arrive after the change; GHL's clock and ours may differ a little.
        rows = await self._checkpoints.events_since(
            location_id, family.types, since - timedelta(minutes=10)
        )
        seen = index_events(rows)
        since_ms = int(since.timestamp() * 1000)
        searched = synthesized = 0
        async for record in self._search(family, location_id, since, until):
            searched += 1
            record_id = record.get("id")
            if not isinstance(record_id, str):
                continue
            for event_type, at_ms, fields in missing_events(
                family, record, seen.get(record_id, []), since_ms
            ):
                synthesized += await self._store(conn, event_type, at_ms, fields)
        return searched, synthesized

    def _search(
        self, family: Family, location_id: str, since: datetime, until: datetime
    ) -> AsyncIterator[Any]:
        bounds = {"gte": iso_ms(int(since.timestamp() * 1000)),
                  "lte": iso_ms(int(until.timestamp() * 1000))}  # fmt: skip
        body = {
            "filters": [{"field": family.search_field, "operator": "range", "value": bounds}],
            "sort": [{"field": family.search_field, "direction": "asc"}],
        }
        resource = self._ghl.contacts if family is CONTACTS else self._ghl.opportunities

        async def fetch(params: dict[str, Any]) -> Mapping[str, Any]:
            return await resource.search(location_id, params, options=self._options)

        return paginate(fetch, family.cursor, body)

    async def _store(self, conn: Connection, event_type: str, at_ms: int, fields: Record) -> int:
        """Put one synthesised event in the inbox and enqueue it; 1 if it was new, else 0."""
        record_id = str(fields["id"])
        webhook_id = f"reconciled:{event_type}:{record_id}:{at_ms}"[:128]
        body = {
            "type": event_type,
            "locationId": conn.location_id,
            **fields,
            "timestamp": iso_ms(at_ms),
            "webhookId": webhook_id,
            "reconciled": True,
        }
        event_id, created = await self._inbox.record(
            webhook_id,
            event_type=event_type,
            location_id=conn.location_id,
            company_id=conn.company_id,
            tenant_id=conn.tenant_id,
            payload=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            signature_scheme=SCHEME,
            received_at=self._clock(),
        )
        if not created:
            return 0
        try:
            await self._queue.enqueue(
                WEBHOOK_PROCESS_JOB, {"eventId": event_id}, job_id=f"wh-{event_id}"
            )
        except Exception as exc:  # the row is durable; the sweeper re-enqueues pending events
            log.warning("reconcile.enqueue_failed", event_id=event_id, error=type(exc).__name__)
        return 1
