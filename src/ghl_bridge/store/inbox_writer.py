"""Group commit for the webhook inbox: concurrent deliveries share one transaction.

Each delivery used to cost its own short transactions (owner lookup, insert, enqueue), and on
SQLite, with one writer, those queue behind each other. Here a delivery is handed to
`InboxWriter.submit` and waits on a future; one drain task writes everything that arrived
while the previous batch was committing, in one transaction: one owner lookup for the batch,
the rows inserted unique on ``webhookId`` (a known one is skipped), one look-up of the
duplicates' ids, and the in-process queue's job rows (`job_values`) in the same transaction.
The future resolves only after the commit, so the receiver still answers 200 only for a stored
row. There is no timer: an idle writer commits a lone delivery at once, a busy one batches what
queued up.

The transaction runs in the driver's own terms (store/driver_sql.py: statements built from the
models): on SQLite the whole of it — BEGIN IMMEDIATE to COMMIT — is one function on the
driver's thread, one hand-off instead of one per statement; on PostgreSQL it is four asyncpg
round trips at most, whatever the batch size. Through SQLAlchemy's execution machinery this
transaction was ~40 % of the receiver's CPU per delivery (docs/benchmarks.md).

Past `max_pending` waiting deliveries `submit` raises `InboxSaturated` (the receiver's 429).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ghl_bridge.batching import Batcher
from ghl_bridge.store import driver_sql, sqlite_driver
from ghl_bridge.store.errors import StoreError
from ghl_bridge.store.jobs import _wrap
from ghl_bridge.store.models import Connection, JobRow, WebhookEvent, new_id
from ghl_bridge.store.types import require_aware

# Lifecycle events are how connections begin, move and end, so they are stored even when no
# tenant holds their location yet (an INSTALL precedes the connection; the processor decides).
LIFECYCLE_TYPES = frozenset({"INSTALL", "UNINSTALL", "PLAN_CHANGE", "LocationCreate"})

# What one bad row raises (a constraint, a value the column refuses): the batch is then
# written again one delivery at a time, so it fails alone. Anything else fails the batch.
_ROW_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
    driver_sql.MissingValue,
)


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


# The job rows (`job_values`) to write with the new events of a batch, one per event id, in
# order; asked before the transaction, for every event the batch may create.
JobsFor = Callable[[Sequence[str]], list[dict[str, Any]]]
# Runs after the commit with the job rows written (e.g. hand them to the worker, wake it);
# must not raise.
AfterCommit = Callable[[list[dict[str, Any]]], None]


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
        engine = sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("InboxWriter needs a sessionmaker bound to an AsyncEngine")
        self._engine = engine
        self._sql = _Statements(engine)
        self._max_pending = max_pending
        self._batcher: Batcher[InboxEntry, Stored] = Batcher(
            self._write_batch, max_batch=max_batch, name="inbox-writer"
        )
        self._jobs_for: JobsFor | None = None
        self._after_commit: AfterCommit | None = None

    def __repr__(self) -> str:
        return f"InboxWriter(pending={len(self._batcher)})"

    def in_same_transaction(self, jobs_for: JobsFor, then: AfterCommit | None = None) -> None:
        """Write ``jobs_for``'s job rows with every batch's new events (enqueue atomically
        with the rows), and call ``then`` with those written once committed."""
        self._jobs_for, self._after_commit = jobs_for, then

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
        except _ROW_ERRORS as exc:
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
        batch = _Batch(entries, self._jobs_for)
        async with self._engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            if self._sql.dialect == "sqlite":
                await sqlite_driver.run_on_thread(driver, partial(_write_sqlite, self._sql, batch))
            else:
                await _write_postgres(driver, self._sql, batch)
        if batch.jobs_written and self._after_commit is not None:
            self._after_commit(batch.jobs_written)
        return batch.results()


class _Batch:
    """One batch's decisions, the same on every database: the first delivery per webhook id,
    the id its row gets, its job row, the rows to insert once the owners are known, and each
    delivery's result once the database said which rows were new."""

    def __init__(self, entries: Sequence[InboxEntry], jobs_for: JobsFor | None) -> None:
        self.entries = entries
        self.first: dict[str, InboxEntry] = {}
        for entry in entries:
            self.first.setdefault(entry.webhook_id, entry)
        self.resources = sorted(
            {r for e in self.first.values() for r in (e.location_id, e.company_id) if r}
        )
        self.event_ids = {wid: new_id("evt_") for wid in self.first}
        ids = list(self.event_ids.values())
        self.jobs = dict(zip(ids, jobs_for(ids), strict=True)) if jobs_for else {}
        self.refused: set[str] = set()
        self.created: dict[str, str] = {}  # webhook id → new row id
        self.existing: dict[str, str] = {}  # webhook id → the row stored before
        self.jobs_written: list[dict[str, Any]] = []

    def rows(self, owners: Mapping[str, str]) -> list[dict[str, Any]]:
        """The event rows to insert: deliveries of a location (or company) no tenant holds are
        refused, unless they are lifecycle events."""
        rows = []
        for wid, entry in self.first.items():
            tenant = owners.get(entry.location_id or "") or owners.get(entry.company_id or "")
            if tenant is None and entry.event_type not in LIFECYCLE_TYPES:
                self.refused.add(wid)
                continue
            rows.append(_row(self.event_ids[wid], entry, tenant))
        return rows

    def inserted(self, created: Mapping[str, str]) -> list[str]:
        """Record the rows the insert created; the webhook ids already stored before."""
        self.created = dict(created)
        return [w for w in self.first if w not in self.refused and w not in self.created]

    def job_rows(self) -> list[dict[str, Any]]:
        self.jobs_written = [self.jobs[i] for i in self.created.values() if i in self.jobs]
        return self.jobs_written

    def results(self) -> list[Stored | Exception]:
        seen: set[str] = set()
        out: list[Stored | Exception] = []
        for entry in self.entries:
            wid = entry.webhook_id
            if wid in self.refused:
                out.append(UnknownResource(entry.location_id or entry.company_id or "none"))
            elif wid in self.created and wid not in seen:
                out.append(Stored(self.created[wid], created=True))
            elif wid in self.created or wid in self.existing:
                out.append(Stored(self.created.get(wid) or self.existing[wid], created=False))
            else:  # pragma: no cover - a conflicting row cannot vanish inside the transaction
                out.append(StoreError(f"webhook {wid!r} conflicted but was not found"))
            seen.add(wid)
        return out


class _Statements:
    """The batch's SQL for the engine's database, built once from the models."""

    def __init__(self, engine: AsyncEngine) -> None:
        dialect = engine.dialect
        self.dialect = dialect.name
        self.events = driver_sql.insert(
            WebhookEvent.__table__,  # type: ignore[arg-type]
            dialect,
            conflict=["webhook_id"],
            returning=["webhook_id", "id"],
        )
        self.jobs = driver_sql.insert(JobRow.__table__, dialect)  # type: ignore[arg-type]
        conns, events = Connection.__tablename__, WebhookEvent.__tablename__
        if self.dialect == "sqlite":  # one statement text whatever the number of ids
            among = "IN (SELECT value FROM json_each(?))"
        else:
            among = "= ANY($1::text[])"
        # Table names from the models; the ids are parameters.
        self.owners = f"SELECT resource_id, tenant_id FROM {conns} WHERE resource_id {among}"  # noqa: S608
        self.existing = f"SELECT webhook_id, id FROM {events} WHERE webhook_id {among}"  # noqa: S608


def _write_sqlite(sql: _Statements, batch: _Batch, db: sqlite3.Connection) -> None:
    """On the driver's thread: the batch's whole transaction. Rows go in one by one (prepared
    once by sqlite3), each returning its ids only if it was new."""
    cursor = db.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
        try:
            owners = {}
            if batch.resources:
                found = cursor.execute(sql.owners, (json.dumps(batch.resources),)).fetchall()
                owners = dict(found)
            created: dict[str, str] = {}
            for row in batch.rows(owners):
                new = cursor.execute(sql.events.sql, sql.events.params(row)).fetchone()
                if new is not None:  # RETURNING gives nothing for a known webhook id
                    created[new[0]] = new[1]
            known = batch.inserted(created)
            if known:
                found = cursor.execute(sql.existing, (json.dumps(known),)).fetchall()
                batch.existing = dict(found)
            jobs = batch.job_rows()
            if jobs:
                cursor.executemany(sql.jobs.sql, [sql.jobs.params(job) for job in jobs])
            db.commit()
        except BaseException:
            db.rollback()
            raise
    finally:
        cursor.close()


async def _write_postgres(pg: Any, sql: _Statements, batch: _Batch) -> None:
    """The batch's transaction in asyncpg's terms: at most four round trips."""
    async with pg.transaction():
        owners = {}
        if batch.resources:
            owners = {r[0]: r[1] for r in await pg.fetch(sql.owners, batch.resources)}
        rows = batch.rows(owners)
        created = {}
        if rows:
            inserted = await pg.fetch(sql.events.sql, *sql.events.columns_of(rows))
            created = {r[0]: r[1] for r in inserted}
        known = batch.inserted(created)
        if known:
            batch.existing = {r[0]: r[1] for r in await pg.fetch(sql.existing, known)}
        jobs = batch.job_rows()
        if jobs:
            await pg.execute(sql.jobs.sql, *sql.jobs.columns_of(jobs))


def _row(event_id: str, entry: InboxEntry, tenant: str | None) -> dict[str, Any]:
    return {
        "id": event_id,
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
