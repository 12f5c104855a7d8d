"""The inbox's group commit in the driver's terms (store/inbox_writer.py), on SQLite and
PostgreSQL.

A batch of deliveries is one transaction run on the driver itself: on SQLite one function on
aiosqlite's thread (one hand-off for the whole of it), on PostgreSQL raw asyncpg; SQLAlchemy
runs none of its statements. What the receiver relies on must hold all the same: a delivery is
answered only for a committed row with its job, one row per webhook id, events of locations no
tenant holds refused (lifecycle events excepted), and a bad row failing alone. The SQLite pool's
rollback skips the hand-off when no transaction is open, and must still undo one that is.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.support.statements import statements

from ghl_bridge.store import ConnectionRepo, InboxRepo, TenantRepo, make_engine, make_sessionmaker
from ghl_bridge.store.inbox_writer import (
    InboxEntry,
    InboxWriter,
    Stored,
    UnknownResource,
    job_values,
)
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.models import JobRow, WebhookEvent

HELD = "loc_held"
HELD_COMPANY = "cmp_held"
UNKNOWN = "loc_unknown"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
QUEUE = "inbox-writer-driver"
# What a job row violating the jobs status CHECK raises, per driver.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database, for what only SQLite has: aiosqlite's driver thread."""
    await upgrade(sqlite_url)
    built = make_engine(sqlite_url)
    try:
        yield built
    finally:
        await built.dispose()


def _entry(
    webhook_id: str,
    *,
    location_id: str | None = HELD,
    company_id: str | None = None,
    event_type: str = "ContactCreate",
) -> InboxEntry:
    payload = json.dumps({"type": event_type, "webhookId": webhook_id, "locationId": location_id})
    return InboxEntry(
        webhook_id=webhook_id,
        event_type=event_type,
        location_id=location_id,
        company_id=company_id,
        payload=payload,
        signature_scheme="ed25519",
        received_at=NOW,
    )


async def _hold(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    *,
    location_id: str | None = HELD,
    company_id: str = "cmp_1",
) -> str:
    """A tenant with a connection to ``location_id`` (or, if None, to ``company_id``)."""
    tenant, _ = await TenantRepo(sessions).create(name)
    await ConnectionRepo(sessions).upsert(
        tenant.id,
        user_type="Location" if location_id else "Company",
        company_id=company_id,
        location_id=location_id,
        access_sealed="unused: no call is made",
        refresh_sealed=None,
        key_id="test",
        expires_at=None,
        scopes="",
    )
    return tenant.id


class Jobs:
    """The writer's ``jobs_for`` and ``then``: one waiting job ``wh-<eventId>`` per event id,
    with a status outside the jobs CHECK for the deliveries named in ``bad``.

    ``jobs_for`` only gets event ids; the delivery each belongs to is told by ``order``: the
    writer asks in delivery order, for the whole batch and then, when it retries one by one,
    for each delivery alone. Records every question and what each commit wrote.
    """

    def __init__(self, order: Sequence[str] = (), bad: Sequence[str] = ()) -> None:
        self._deliveries: Iterator[str] | None = itertools.cycle(order) if order else None
        self._bad = set(bad)
        self.asked: list[list[str]] = []
        self.committed: list[list[dict[str, Any]]] = []

    def rows(self, event_ids: Sequence[str]) -> list[dict[str, Any]]:
        self.asked.append(list(event_ids))
        rows = []
        for event_id in event_ids:
            delivery = next(self._deliveries) if self._deliveries is not None else None
            row = job_values(
                QUEUE, "webhook.process", json.dumps({"eventId": event_id}), f"wh-{event_id}", NOW
            )
            if delivery in self._bad:
                row["status"] = "bogus"
            rows.append(row)
        return rows

    def then(self, rows: list[dict[str, Any]]) -> None:
        self.committed.append(rows)

    def committed_ids(self) -> list[str]:
        return [row["id"] for rows in self.committed for row in rows]


async def _events(sessions: async_sessionmaker[AsyncSession]) -> dict[str, WebhookEvent]:
    """Every stored event, by webhook id."""
    async with sessions() as session:
        return {e.webhook_id: e for e in await session.scalars(select(WebhookEvent))}


async def _job_ids(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        return set(await session.scalars(select(JobRow.id)))


async def _submit_together(writer: InboxWriter, entries: Sequence[InboxEntry]) -> list[Any]:
    """Submit every entry before the writer's drain task runs: they make one batch."""
    return await asyncio.gather(*(writer.submit(e) for e in entries), return_exceptions=True)


def _count_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every function aiosqlite runs on a connection's thread (each is a hand-off from
    the event loop to the driver's thread and back)."""
    trips: list[Any] = []
    original: Any = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


# --- one transaction in the driver's terms -----------------------------------------------------


async def test_on_sqlite_a_batch_is_one_hand_off_to_the_driver_thread(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty concurrent deliveries (one of them a redelivery, so every statement of the
    transaction runs: owners, inserts, the known ids, the jobs) cost one trip to aiosqlite's
    thread, BEGIN to COMMIT; and returning the connection to the pool costs none, the
    transaction being committed. Per statement it would be at least five."""
    sessions = make_sessionmaker(sqlite_engine)
    await _hold(sessions, "acme")
    writer = InboxWriter(sessions)
    jobs = Jobs()
    writer.in_same_transaction(jobs.rows, jobs.then)
    [old] = await _submit_together(writer, [_entry("wh-old")])
    entries = [_entry("wh-old")] + [_entry(f"wh-{n}") for n in range(19)]

    trips = _count_hand_offs(monkeypatch)
    results = await _submit_together(writer, entries)

    assert len(trips) == 1
    assert results[0] == Stored(old.event_id, created=False)
    assert all(isinstance(r, Stored) and r.created for r in results[1:])
    assert len(await _events(sessions)) == 20
    assert len(await _job_ids(sessions)) == 20


async def test_a_batch_runs_no_statement_through_sqlalchemy(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The batch's owner look-up, inserts, duplicate look-up and job rows all go to the driver
    directly: SQLAlchemy's cursor sees none of them, yet the rows are there."""
    await _hold(sessions, "acme")
    writer = InboxWriter(sessions)
    jobs = Jobs()
    writer.in_same_transaction(jobs.rows, jobs.then)
    await _submit_together(writer, [_entry("wh-old")])

    with statements(engine) as seen:
        results = await _submit_together(
            writer, [_entry("wh-old")] + [_entry(f"wh-{n}") for n in range(9)]
        )

    assert seen == []
    assert all(isinstance(r, Stored) for r in results)
    assert [r.created for r in results] == [False] + [True] * 9
    assert len(await _events(sessions)) == 10
    assert len(await _job_ids(sessions)) == 10


# --- atomicity: an event row is stored with its job or not at all ------------------------------


async def test_a_batch_whose_jobs_fail_stores_no_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Every job row of the batch breaks the jobs status CHECK: every delivery gets the
    driver's integrity error and no event row is left, although the events were inserted
    before the jobs in the same transaction (a 200 for an event without its job would lose
    it: nothing would ever process it)."""
    await _hold(sessions, "acme")
    writer = InboxWriter(sessions)
    entries = [_entry(f"wh-{n}") for n in range(3)]
    jobs = Jobs(order=[e.webhook_id for e in entries], bad=[e.webhook_id for e in entries])
    writer.in_same_transaction(jobs.rows, jobs.then)

    results = await _submit_together(writer, entries)

    for result in results:
        assert isinstance(result, INTEGRITY_ERRORS)
        assert "ck_jobs_status" in str(result)
    assert await _events(sessions) == {}
    assert await _job_ids(sessions) == set()
    assert jobs.committed == []


async def test_one_bad_job_row_fails_only_its_own_delivery(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A bad job row among several: the writer retries the deliveries one by one, so the
    neighbours are stored with their jobs, and the one whose job row is bad fails with the
    driver's integrity error and leaves no event row."""
    await _hold(sessions, "acme")
    writer = InboxWriter(sessions)
    entries = [_entry("wh-a"), _entry("wh-b"), _entry("wh-c")]
    jobs = Jobs(order=[e.webhook_id for e in entries], bad=["wh-b"])
    writer.in_same_transaction(jobs.rows, jobs.then)

    a, b, c = await _submit_together(writer, entries)

    assert isinstance(b, INTEGRITY_ERRORS)
    assert "ck_jobs_status" in str(b)
    assert isinstance(a, Stored) and a.created
    assert isinstance(c, Stored) and c.created
    events = await _events(sessions)
    assert {wid: e.id for wid, e in events.items()} == {"wh-a": a.event_id, "wh-c": c.event_id}
    assert await _job_ids(sessions) == {f"wh-{a.event_id}", f"wh-{c.event_id}"}
    assert sorted(jobs.committed_ids()) == sorted([f"wh-{a.event_id}", f"wh-{c.event_id}"])


# --- one row per webhook id ---------------------------------------------------------------------


async def test_duplicates_in_a_batch_and_across_batches_make_one_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Redeliveries in the same batch and in a later one: one row per webhook id; the first
    delivery is answered created, every other one not created with that row's id."""
    await _hold(sessions, "acme")
    writer = InboxWriter(sessions)
    jobs = Jobs()
    writer.in_same_transaction(jobs.rows, jobs.then)

    first = await _submit_together(writer, [_entry("wh-a"), _entry("wh-a"), _entry("wh-b")])
    second = await _submit_together(
        writer, [_entry("wh-a"), _entry("wh-b"), _entry("wh-c"), _entry("wh-c")]
    )

    a, b = first[0].event_id, first[2].event_id
    assert first == [Stored(a, True), Stored(a, False), Stored(b, True)]
    c = second[2].event_id
    assert second == [Stored(a, False), Stored(b, False), Stored(c, True), Stored(c, False)]
    events = await _events(sessions)
    assert {wid: e.id for wid, e in events.items()} == {"wh-a": a, "wh-b": b, "wh-c": c}
    assert await _job_ids(sessions) == {f"wh-{a}", f"wh-{b}", f"wh-{c}"}


# --- owners -------------------------------------------------------------------------------------


async def test_an_unheld_location_is_refused_while_its_neighbours_are_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """In one batch: an event of a held location gets its tenant, one of a held company (no
    location) gets the company's tenant, one of a location nobody holds is refused with
    `UnknownResource` and not stored, and an INSTALL of a location nobody holds yet is stored
    without a tenant (it is how the connection begins)."""
    acme = await _hold(sessions, "acme")
    beta = await _hold(sessions, "beta", location_id=None, company_id=HELD_COMPANY)
    writer = InboxWriter(sessions)

    held, company, unknown, install = await _submit_together(
        writer,
        [
            _entry("wh-held"),
            _entry("wh-company", location_id=None, company_id=HELD_COMPANY),
            _entry("wh-unknown", location_id=UNKNOWN),
            _entry("wh-install", location_id="loc_new", event_type="INSTALL"),
        ],
    )

    assert isinstance(unknown, UnknownResource)
    assert UNKNOWN in str(unknown)
    assert all(isinstance(r, Stored) and r.created for r in (held, company, install))
    events = await _events(sessions)
    assert {wid: e.tenant_id for wid, e in events.items()} == {
        "wh-held": acme,
        "wh-company": beta,
        "wh-install": None,
    }
    assert events["wh-held"].id == held.event_id


# --- after the commit ---------------------------------------------------------------------------


async def test_then_gets_exactly_the_job_rows_written(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """`then` is told the job rows the commit wrote, not those asked for a redelivery (of an
    earlier batch or of this one) or for a refused event: the receiver hands these to its
    worker, and a job it was told of but that is not stored would run for nothing. A batch
    that wrote no job does not call it at all."""
    await _hold(sessions, "acme")
    writer = InboxWriter(sessions)
    jobs = Jobs()
    writer.in_same_transaction(jobs.rows, jobs.then)
    [old] = await _submit_together(writer, [_entry("wh-old")])
    jobs.asked.clear()
    jobs.committed.clear()

    results = await _submit_together(
        writer,
        [
            _entry("wh-old"),
            _entry("wh-1"),
            _entry("wh-1"),
            _entry("wh-refused", location_id=UNKNOWN),
            _entry("wh-2"),
        ],
    )

    new1, new2 = results[1].event_id, results[4].event_id
    assert len(jobs.asked) == 1 and len(jobs.asked[0]) == 4  # old, 1, refused, 2
    assert len(jobs.committed) == 1
    assert jobs.committed_ids() == [f"wh-{new1}", f"wh-{new2}"]
    assert [json.loads(r["data"])["payload"] for r in jobs.committed[0]] == [
        {"eventId": new1},
        {"eventId": new2},
    ]
    assert await _job_ids(sessions) == {f"wh-{old.event_id}", f"wh-{new1}", f"wh-{new2}"}

    jobs.committed.clear()
    again = await _submit_together(writer, [_entry("wh-1"), _entry("wh-2")])
    assert [r.created for r in again] == [False, False]
    assert jobs.committed == []


# --- the SQLite pool's rollback -----------------------------------------------------------------


async def test_on_sqlite_a_read_only_session_ends_without_a_hand_off(
    sqlite_url: str, sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read opens no SQLite transaction, so neither the session's end nor the pool's reset
    hands off to the driver's thread: one trip, the SELECT. A write's commit still goes
    through: a second engine on the same file sees the row."""
    sessions = make_sessionmaker(sqlite_engine)
    inbox = InboxRepo(sessions)
    event_id, _ = await inbox.record(
        "wh-1",
        event_type="ContactCreate",
        location_id=HELD,
        company_id=None,
        tenant_id=None,
        payload="{}",
        signature_scheme="ed25519",
        received_at=NOW,
    )

    trips = _count_hand_offs(monkeypatch)
    event = await inbox.get(event_id)

    assert event is not None
    assert len(trips) == 1
    other = make_engine(sqlite_url)
    try:
        async with other.connect() as conn:
            found = await conn.scalar(select(WebhookEvent.id).where(WebhookEvent.id == event_id))
    finally:
        await other.dispose()
    assert found == event_id


async def test_on_sqlite_a_rollback_still_undoes_an_open_write(
    sqlite_url: str, sqlite_engine: AsyncEngine
) -> None:
    """The skip applies only when no transaction is open: a session that wrote and then rolls
    back (or fails) leaves nothing, and the connection it returns to the pool carries no open
    transaction into the next checkout."""
    sessions = make_sessionmaker(sqlite_engine)
    async with sessions() as session:
        session.add(JobRow(id="job-rolled-back", queue=QUEUE, name="n"))
        await session.flush()
        await session.rollback()
    with pytest.raises(RuntimeError, match="boom"):
        async with sessions.begin() as session:
            session.add(JobRow(id="job-failed", queue=QUEUE, name="n"))
            await session.flush()
            raise RuntimeError("boom")

    async with sqlite_engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        assert driver._conn.in_transaction is False
    assert await _job_ids(sessions) == set()
    other = make_engine(sqlite_url)
    try:
        async with other.connect() as conn:
            assert (await conn.execute(select(JobRow.id))).all() == []
    finally:
        await other.dispose()
