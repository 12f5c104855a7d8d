"""Group commit for the webhook inbox: concurrent deliveries share one transaction.

Each delivery used to cost its own short transactions (owner lookup, insert, enqueue), and on
SQLite, with one writer, those queue behind each other. Here a delivery is handed to
`InboxWriter.submit` and waits on a future; one drain task writes everything that arrived
while the previous batch was committing, in one transaction: one owner lookup for the batch,
one multi-row ``INSERT … ON CONFLICT (webhook_id) DO NOTHING``, one look-up of duplicates, and
the in-process queue's job rows (`job_values`) in the same transaction. The future resolves
only after the commit, so the receiver still answers 200 only for a stored row. There is no
timer: an idle writer commits a lone delivery at once, a busy one batches what queued up.

Past `max_pending` waiting deliveries `submit` raises `InboxSaturated` (the receiver's 429).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.batching import Batcher
from ghl_bridge.store.errors import StoreError
from ghl_bridge.store.jobs import _wrap
from ghl_bridge.store.models import Connection, JobRow, WebhookEvent, new_id
from ghl_bridge.store.types import require_aware

# Lifecycle events are how connections begin, move and end, so they are stored even when no
# tenant holds their location yet (an INSTALL precedes the connection; the processor decides).
LIFECYCLE_TYPES = frozenset({"INSTALL", "UNINSTALL", "PLAN_CHANGE", "LocationCreate"})


class InboxSaturated(StoreError):
    """More deliveries are waiting for the database than the bound allows: answer 429."""


class UnknownResource(StoreError):
    """No tenant holds the event's location (or company): the event is not stored."""


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One verified delivery to store. ``payload`` is the raw body, decoded UTF-8."""

    webhook_id: str
    event_type: str
    location_id: str | None
    company_id: str | None
    payload: str
    signature_scheme: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Stored:
    event_id: str
    created: bool


# Runs inside the batch's transaction with the ids of the rows this batch created.
AfterInsert = Callable[[AsyncSession, Sequence[str]], Awaitable[None]]
# Runs after the commit (e.g. wake the workers); must not raise.
AfterCommit = Callable[[Sequence[str]], None]


class InboxWriter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_batch: int = 500,
        max_pending: int = 5000,
    ) -> None:
        if max_pending < 1:  # max_batch is the Batcher's to check
            raise ValueError("max_pending must be positive")
        self._sessions = sessions
        self._max_pending = max_pending
        self._batcher: Batcher[InboxEntry, Stored] = Batcher(
            self._write_batch, max_batch=max_batch, name="inbox-writer"
        )
        self._after_insert: AfterInsert | None = None
        self._after_commit: AfterCommit | None = None

    def __repr__(self) -> str:
        return f"InboxWriter(pending={len(self._batcher)})"

    def in_same_transaction(self, hook: AfterInsert, then: AfterCommit | None = None) -> None:
        """Run ``hook`` in every batch's transaction (enqueue atomically with the rows)."""
        self._after_insert, self._after_commit = hook, then

    async def submit(self, entry: InboxEntry) -> Stored:
        """Store ``entry`` (once per ``webhook_id``) and return its row id once committed.

        Raises `InboxSaturated` when the backlog is past its bound, `UnknownResource` for a
        location no tenant holds, or the database's own error if the batch failed (an
        unreachable database fails the whole batch: every delivery in it gets 429).
        """
        require_aware(entry.received_at, "received_at")
        if len(self._batcher) >= self._max_pending:
            raise InboxSaturated(f"{len(self._batcher)} deliveries already wait for the database")
        return await self._batcher.submit(entry)

    async def _write_batch(self, entries: Sequence[InboxEntry]) -> list[Stored | Exception]:
        try:
            return await self._write(entries)
        except (DataError, IntegrityError) as exc:
            if len(entries) == 1:
                return [exc]
            # One bad row must not fail its neighbours: write them one by one.
            return [await self._write_one(entry) for entry in entries]

    async def _write_one(self, entry: InboxEntry) -> Stored | Exception:
        try:
            return (await self._write([entry]))[0]
        except Exception as exc:
            return exc

    async def _write(self, entries: Sequence[InboxEntry]) -> list[Stored | Exception]:
        first: dict[str, InboxEntry] = {}
        for entry in entries:
            first.setdefault(entry.webhook_id, entry)
        created_ids: list[str] = []
        async with self._sessions.begin() as session:
            owners = await _owners(session, first.values())
            rows: list[dict[str, Any]] = []
            refused: set[str] = set()
            for entry in first.values():
                tenant = owners.get(entry.location_id or "") or owners.get(entry.company_id or "")
                if tenant is None and entry.event_type not in LIFECYCLE_TYPES:
                    refused.add(entry.webhook_id)
                    continue
                rows.append(_row(entry, tenant))
            ids = await _insert(session, rows)
            created_ids = list(ids.values())
            missing = [row["webhook_id"] for row in rows if row["webhook_id"] not in ids]
            existing = await _existing(session, missing)
            if created_ids and self._after_insert is not None:
                await self._after_insert(session, created_ids)
        if created_ids and self._after_commit is not None:
            self._after_commit(created_ids)
        seen: set[str] = set()
        results: list[Stored | Exception] = []
        for entry in entries:
            wid = entry.webhook_id
            if wid in refused:
                results.append(UnknownResource(entry.location_id or entry.company_id or "none"))
            elif wid in ids and wid not in seen:
                results.append(Stored(ids[wid], created=True))
            elif wid in ids or wid in existing:
                results.append(Stored(ids.get(wid) or existing[wid], created=False))
            else:  # pragma: no cover - a conflicting row cannot vanish inside the transaction
                results.append(StoreError(f"webhook {wid!r} conflicted but was not found"))
            seen.add(wid)
        return results


def _row(entry: InboxEntry, tenant: str | None) -> dict[str, Any]:
    return {
        "id": new_id("evt_"),
        "webhook_id": entry.webhook_id,
        "event_type": entry.event_type,
        "location_id": entry.location_id,
        "company_id": entry.company_id,
        "tenant_id": tenant,
        "payload": entry.payload,
        "signature_scheme": entry.signature_scheme,
        "received_at": entry.received_at,
        "status": "pending",
        "retry_count": 0,
    }


async def _owners(session: AsyncSession, entries: Any) -> dict[str, str]:
    """Tenant per resource id (location or company) for every resource the batch names."""
    wanted = {r for e in entries for r in (e.location_id, e.company_id) if r}
    if not wanted:
        return {}
    stmt = select(Connection.resource_id, Connection.tenant_id).where(
        Connection.resource_id.in_(wanted)
    )
    return {resource: tenant for resource, tenant in (await session.execute(stmt)).all()}


def _dialect_insert(session: AsyncSession) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise StoreError(f"unsupported database dialect {name!r}")


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Insert the rows, skipping known webhook ids; return {webhook_id: id} of the new ones."""
    if not rows:
        return {}
    # One statement executed with many parameter sets: SQLAlchemy compiles it once (cached) and
    # sends batched multi-row INSERTs ("insertmanyvalues"); ``.values(rows)`` would compile a
    # new statement for every batch size (a fifth of the receiver's CPU, measured).
    stmt = (
        _dialect_insert(session)(WebhookEvent)
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(WebhookEvent.webhook_id, WebhookEvent.id)
    )
    conn = await session.connection()
    return {wid: eid for wid, eid in (await conn.execute(stmt, rows)).all()}


async def _existing(session: AsyncSession, webhook_ids: list[str]) -> dict[str, str]:
    if not webhook_ids:
        return {}
    stmt = select(WebhookEvent.webhook_id, WebhookEvent.id).where(
        WebhookEvent.webhook_id.in_(webhook_ids)
    )
    return {wid: eid for wid, eid in (await session.execute(stmt)).all()}


def job_values(
    queue: str,
    name: str,
    data_json: str,
    job_id: str,
    now: datetime,
    *,
    max_attempts: int = 5,
    backoff_s: float = 1.0,
    leased_until: datetime | None = None,
) -> dict[str, Any]:
    """A waiting in-process-queue job row, exactly as `JobRepo.add` would write it; or, with
    ``leased_until``, the row as `JobRepo.claim` would leave it: taken by a worker until then
    (the receiver hands such jobs to the worker in its own process, see `WebhookReceiver`)."""
    return {
        "id": job_id,
        "queue": queue,
        "name": name,
        "dedupe_key": job_id,
        "data": _wrap(data_json, backoff_s),
        "status": "waiting" if leased_until is None else "active",
        "attempts_made": 0,
        "max_attempts": max_attempts,
        "run_at": now,
        "locked_until": leased_until,
        "created_at": now,
        "updated_at": now,
    }


async def insert_jobs(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert job rows in the caller's transaction; a job id already queued is left alone."""
    if rows:
        stmt = _dialect_insert(session)(JobRow).on_conflict_do_nothing()
        await (await session.connection()).execute(stmt, list(rows))
