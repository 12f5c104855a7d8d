"""Webhook jobs handed straight to the worker of their own process (SQLite and PostgreSQL).

While the in-process queue's worker runs and has room, the receiver writes a stored batch's
``webhook.process`` rows already leased to it (``active``, ``locked_until`` = now + its lease,
no attempt used) and hands them to it once committed (`InProcessWorker.adopt`): no claim
transaction between receipt and handler. Rows past its room are written ``waiting`` and
claimed as usual; with no running worker (or a stopping one) every row is written waiting; a
leased row whose worker died is claimed again once its lease has passed.

The claim path is observable through `CountingRepo`: the adopted jobs must complete although no
claim ever returned them (the workers poll once an hour, so nothing else could have run them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.integration.jobs.harness import migrated_engine, wait_for_state
from tests.support.signing import event, signer

from ghl_bridge.events.processor import EventProcessor
from ghl_bridge.events.receiver import WebhookMetrics, WebhookReceiver, _JobRows
from ghl_bridge.events.verify import WebhookKeys
from ghl_bridge.jobs import Handler, InProcessQueue, InProcessWorker, Job
from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.jobs.payload import encode_payload
from ghl_bridge.jobs.port import RetryPolicy
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.inbox_writer import InboxEntry, InboxWriter, job_values
from ghl_bridge.store.jobs import JobRecord, JobRepo, record_of
from ghl_bridge.store.models import JobRow, WebhookEvent

QUEUE = "events-handoff"
NAME = WEBHOOK_PROCESS_JOB
HOUR = 3600.0  # a poll interval no test waits for: only a wake-up or a hand-off runs a job
LEASE_S = 120.0


class SetClock:
    """A settable UTC clock for the queue, its repository and its workers."""

    def __init__(self) -> None:
        self.now = datetime(2031, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class CountingRepo(JobRepo):
    """The real `JobRepo`, with every `claim` recorded: when (by the claimer's clock) and which
    jobs it returned."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: SetClock | None) -> None:
        if clock is None:
            super().__init__(sessions)
        else:
            super().__init__(sessions, clock=clock)
        self.claims: list[tuple[datetime, list[str]]] = []

    async def claim(
        self, queue: str, now: datetime, lease_s: float, limit: int = 1
    ) -> list[JobRecord]:
        claimed = await super().claim(queue, now, lease_s, limit)
        self.claims.append((now, [record.id for record in claimed]))
        return claimed

    def claimed_ids(self) -> set[str]:
        return {job_id for _, ids in self.claims for job_id in ids}


class Gate:
    """The ``webhook.process`` handler: records each run (and whether a claim had returned the
    job by then), and holds every job until `open` is set."""

    def __init__(self, repo: CountingRepo | None = None, *, closed: bool = False) -> None:
        self.repo = repo
        self.runs: Counter[str] = Counter()
        self.attempts: dict[str, list[int]] = defaultdict(list)
        self.claimed_before_run: dict[tuple[str, int], bool] = {}
        self.fail_first_attempt = False
        self.open = asyncio.Event()
        if not closed:
            self.open.set()
        self._changed = asyncio.Condition()

    async def __call__(self, job: Job) -> dict[str, Any]:
        async with self._changed:
            self.runs[job.id] += 1
            self.attempts[job.id].append(job.attempt)
            if self.repo is not None:
                self.claimed_before_run[job.id, job.attempt] = job.id in self.repo.claimed_ids()
            self._changed.notify_all()
        await self.open.wait()
        if self.fail_first_attempt and job.attempt == 1:
            raise RuntimeError("first attempt fails")
        return {"eventId": job.data["eventId"], "attempt": job.attempt}

    async def started(self, count: int, timeout_s: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: sum(self.runs.values()) >= count), timeout_s
            )


@dataclass
class Parts:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: SetClock
    queue: InProcessQueue
    repo: CountingRepo
    writer: InboxWriter
    receiver: WebhookReceiver

    def worker(
        self,
        handler: Handler,
        *,
        concurrency: int = 8,
        poll_interval_s: float = HOUR,
        lease_s: float = LEASE_S,
    ) -> InProcessWorker:
        return InProcessWorker(
            self.queue,
            {NAME: handler},
            concurrency=concurrency,
            poll_interval_s=poll_interval_s,
            lease_s=lease_s,
        )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    built = await migrated_engine(database_url)
    yield built
    await built.dispose()


def _parts(engine: AsyncEngine, *, real_clock: bool = False, **queue_kw: Any) -> Parts:
    sessions = make_sessionmaker(engine)
    clock = SetClock()
    if real_clock:
        queue = InProcessQueue(sessions, QUEUE, **queue_kw)
    else:
        queue = InProcessQueue(sessions, QUEUE, clock=clock, **queue_kw)
    repo = CountingRepo(sessions, None if real_clock else clock)
    queue.repo = repo  # before any worker is built: a worker takes the queue's repository
    writer = InboxWriter(sessions)
    keys = WebhookKeys.parse(signer().ed_pem, "")
    receiver = WebhookReceiver(keys, writer, queue, metrics=WebhookMetrics(CollectorRegistry()))
    return Parts(engine, sessions, clock, queue, repo, writer, receiver)


@pytest.fixture
async def parts(engine: AsyncEngine) -> AsyncIterator[Parts]:
    built = _parts(engine)
    try:
        yield built
    finally:
        built.receiver.signatures.close()


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.005)


@asynccontextmanager
async def running(worker: InProcessWorker, queue: InProcessQueue) -> AsyncIterator[InProcessWorker]:
    task = asyncio.create_task(worker.run())
    try:
        await _until(lambda: queue.local_worker is worker)
        yield worker
    finally:
        await _stop(worker, task)


async def _stop(worker: InProcessWorker, task: asyncio.Task[None]) -> None:
    """Stop gracefully; a test that failed while a `Gate` held jobs must not hang on them."""
    try:
        await asyncio.wait_for(worker.stop(), 10)
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _entry(webhook_id: str | None = None) -> InboxEntry:
    # A lifecycle event is stored without any tenant holding its location: no set-up needed.
    return InboxEntry(
        webhook_id=webhook_id or str(uuid.uuid4()),
        event_type="INSTALL",
        location_id=None,
        company_id=None,
        payload=json.dumps({"type": "INSTALL"}),
        signature_scheme="ed25519",
        received_at=datetime.now(UTC),
    )


async def _store(writer: InboxWriter, count: int) -> list[str]:
    """Store `count` new events in one batch (submitted together, before the writer's drain
    task first runs); return the ids of their jobs."""
    stored = await asyncio.gather(*(writer.submit(_entry()) for _ in range(count)))
    assert all(s.created for s in stored)
    return [f"wh-{s.event_id}" for s in stored]


async def _records(queue: InProcessQueue, ids: list[str]) -> dict[str, JobRecord]:
    found: dict[str, JobRecord] = {}
    for job_id in ids:
        record = await queue.repo.get(job_id)
        assert record is not None, job_id
        found[job_id] = record
    return found


def _leased(record: JobRecord, until: datetime) -> bool:
    return (record.status, record.attempts_made, record.locked_until) == ("active", 0, until)


def _waiting(record: JobRecord) -> bool:
    return (record.status, record.attempts_made, record.locked_until) == ("waiting", 0, None)


# --- (a) written leased, run without a claim ------------------------------------------------


async def test_a_stored_batch_is_written_leased_and_run_without_being_claimed(
    parts: Parts,
) -> None:
    gate = Gate(closed=True)
    worker = parts.worker(gate, concurrency=8)
    async with running(worker, parts.queue):
        assert worker.room() == 8
        ids = await _store(parts.writer, 5)
        await gate.started(5)  # handed over on commit: no claim, no poll (it is an hour)

        until = parts.clock.now + timedelta(seconds=LEASE_S)
        assert worker.lease_until() == until
        records = await _records(parts.queue, ids)
        assert all(_leased(r, until) for r in records.values()), records
        assert {r.run_at for r in records.values()} == {parts.clock.now}
        assert worker.room() == 3  # five of its eight slots hold the adopted jobs
        assert parts.repo.claimed_ids().isdisjoint(ids)

        gate.open.set()
        infos = [await wait_for_state(parts.queue, i, {"completed"}) for i in ids]

    assert [(info.result, info.attempts_made) for info in infos] == [
        ({"eventId": i.removeprefix("wh-"), "attempt": 1}, 1) for i in ids
    ]
    assert gate.runs == Counter(dict.fromkeys(ids, 1))
    # Nothing was written waiting, so the commit did not wake the dispatcher: its only claim
    # is the one it made on starting (on SQLite an idle claim is a write transaction).
    assert len(parts.repo.claims) == 1
    assert parts.repo.claimed_ids().isdisjoint(ids)


async def test_the_record_handed_over_is_the_row_as_stored(parts: Parts) -> None:
    now = parts.clock.now
    until = now + timedelta(seconds=LEASE_S)
    values = job_values(
        QUEUE,
        NAME,
        encode_payload({"eventId": "evt_1"}),
        "wh-evt_1",
        now,
        max_attempts=7,
        backoff_s=2.5,
        leased_until=until,
    )
    writer = InboxWriter(parts.sessions)
    writer.in_same_transaction(lambda ids: [values])
    await writer.submit(_entry())

    stored = await parts.queue.repo.get("wh-evt_1")
    assert stored is not None
    assert record_of(values) == stored
    assert (stored.status, stored.locked_until, stored.attempts_made) == ("active", until, 0)
    assert (stored.data_json, stored.backoff_s, stored.max_attempts) == (
        '{"eventId":"evt_1"}',
        2.5,
        7,
    )
    # Without a lease: the waiting row `InProcessQueue.enqueue` writes.
    plain = job_values(QUEUE, NAME, encode_payload({"eventId": "evt_2"}), "wh-evt_2", now)
    assert (plain["status"], plain["locked_until"]) == ("waiting", None)


async def test_an_adopted_job_that_fails_is_retried_under_the_queues_policy(
    engine: AsyncEngine,
) -> None:
    parts = _parts(engine, policies={NAME: RetryPolicy(attempts=3, backoff_s=0.5)})
    gate = Gate(parts.repo)
    gate.fail_first_attempt = True
    try:
        async with running(parts.worker(gate, poll_interval_s=0.02), parts.queue):
            [job_id] = await _store(parts.writer, 1)
            failed = await wait_for_state(parts.queue, job_id, {"delayed"})
            assert (failed.attempts_made, failed.failed_reason) == (
                1,
                "RuntimeError: first attempt fails",
            )
            record = await parts.queue.repo.get(job_id)
            assert record is not None
            assert (record.max_attempts, record.backoff_s) == (3, 0.5)
            assert record.run_at == parts.clock.now + timedelta(seconds=0.5)
            parts.clock.advance(1)  # the retry comes due
            done = await wait_for_state(parts.queue, job_id, {"completed"})
    finally:
        parts.receiver.signatures.close()

    assert (done.result, done.attempts_made) == ({"eventId": job_id[3:], "attempt": 2}, 2)
    # The first attempt was handed over, the retry claimed.
    assert gate.claimed_before_run == {(job_id, 1): False, (job_id, 2): True}


# --- (b) rows past the worker's room --------------------------------------------------------


async def test_rows_past_the_workers_room_are_written_waiting_and_claimed(parts: Parts) -> None:
    gate = Gate(parts.repo, closed=True)
    worker = parts.worker(gate, concurrency=2)
    async with running(worker, parts.queue):
        ids = await _store(parts.writer, 5)
        await gate.started(2)
        await asyncio.sleep(0.1)  # nothing else may start: both slots are taken
        assert sum(gate.runs.values()) == 2
        assert worker.room() == 0

        until = parts.clock.now + timedelta(seconds=LEASE_S)
        records = await _records(parts.queue, ids)
        leased = {i for i, r in records.items() if _leased(r, until)}
        waiting = {i for i, r in records.items() if _waiting(r)}
        assert (len(leased), len(waiting)) == (2, 3), records
        assert set(gate.runs) == leased

        gate.open.set()
        infos = [await wait_for_state(parts.queue, i, {"completed"}) for i in ids]

    assert [info.attempts_made for info in infos] == [1] * 5
    assert gate.runs == Counter(dict.fromkeys(ids, 1))
    claimed = parts.repo.claimed_ids()
    assert claimed.isdisjoint(leased)
    assert waiting <= claimed
    assert gate.claimed_before_run == {(i, 1): i in waiting for i in ids}


# --- (c) no running worker ------------------------------------------------------------------


async def test_without_a_running_worker_every_row_is_written_waiting(parts: Parts) -> None:
    gate = Gate(parts.repo)
    worker = parts.worker(gate, poll_interval_s=0.02)
    assert parts.queue.local_worker is None
    assert worker.room() == 0  # built, not running

    ids = await _store(parts.writer, 4)
    records = await _records(parts.queue, ids)
    assert all(_waiting(r) for r in records.values()), records

    async with running(worker, parts.queue):
        infos = [await wait_for_state(parts.queue, i, {"completed"}) for i in ids]
    assert [info.attempts_made for info in infos] == [1] * 4
    assert set(ids) <= parts.repo.claimed_ids()
    assert gate.runs == Counter(dict.fromkeys(ids, 1))


async def test_a_stopped_worker_stops_being_the_queues_local_worker(parts: Parts) -> None:
    gate = Gate()
    first, second = parts.worker(gate), parts.worker(gate)
    async with running(first, parts.queue), running(second, parts.queue):
        assert parts.queue.local_worker is second  # the last one started
        await first.stop()
        assert parts.queue.local_worker is second  # a worker gives up only its own place
    assert parts.queue.local_worker is None

    assert (first.room(), second.room()) == (0, 0)
    ids = await _store(parts.writer, 3)
    assert all(_waiting(r) for r in (await _records(parts.queue, ids)).values())
    assert gate.runs == Counter()


# --- (d) a stopping worker ------------------------------------------------------------------


async def test_a_stopping_worker_has_no_room_and_refuses_jobs(parts: Parts) -> None:
    gate = Gate(closed=True)
    worker = parts.worker(gate, concurrency=4)
    late = record_of(
        job_values(
            QUEUE,
            NAME,
            encode_payload({"eventId": "late"}),
            "wh-late",
            parts.clock.now,
            leased_until=worker.lease_until(),
        )
    )
    assert worker.adopt([late]) is False  # never ran
    assert worker.room() == 0

    task = asyncio.create_task(worker.run())
    try:
        await _until(lambda: parts.queue.local_worker is worker)
        [held] = await _store(parts.writer, 1)
        await gate.started(1)
        assert worker.room() == 3

        stopping = asyncio.create_task(worker.stop())
        await asyncio.sleep(0)  # stop() has begun: it waits for the held job
        assert not stopping.done()
        assert worker.room() == 0
        assert worker.adopt([late]) is False

        # Deliveries stored meanwhile are not leased to it: they wait for some other worker.
        ids = await _store(parts.writer, 2)
        assert all(_waiting(r) for r in (await _records(parts.queue, ids)).values())
    finally:
        gate.open.set()
        await _stop(worker, task)

    assert worker.room() == 0
    assert worker.adopt([late]) is False  # stopped
    assert gate.runs == Counter({held: 1})
    assert (await wait_for_state(parts.queue, held, {"completed"})).attempts_made == 1


# --- (e) exactly once -----------------------------------------------------------------------


async def test_every_delivery_is_processed_exactly_once(engine: AsyncEngine) -> None:
    parts = _parts(engine, real_clock=True)
    inbox = InboxRepo(parts.sessions)
    seen: Counter[str] = Counter()

    async def sink(stored: WebhookEvent, body: dict[str, Any]) -> None:
        seen[stored.id] += 1
        await asyncio.sleep(0.005)  # stands for work, so jobs overlap

    processor = EventProcessor(inbox, ConnectionRepo(parts.sessions), sinks=[sink])
    raws = [event("loc-nobody", type_="INSTALL") for _ in range(60)]

    async def deliver(raw: bytes) -> Any:
        headers = {"x-ghl-signature": signer().ed25519(raw)}
        return await parts.receiver.receive(raw, headers, client_ip="127.0.0.1")

    try:
        async with running(parts.worker(processor, concurrency=8), parts.queue):
            accepted = []
            for wave in (raws[:5], raws[5:30], raws[30:]):
                accepted += await asyncio.gather(*(deliver(raw) for raw in wave))
            assert not any(a.duplicate for a in accepted)
            ids = [f"wh-{a.event_id}" for a in accepted]
            infos = [await wait_for_state(parts.queue, i, {"completed"}) for i in ids]

            again = await asyncio.gather(*(deliver(raw) for raw in raws[::3]))
            assert all(a.duplicate for a in again)
            await asyncio.sleep(0.2)  # room for a second run, were one queued
    finally:
        parts.receiver.signatures.close()

    assert len(set(ids)) == 60
    assert [info.attempts_made for info in infos] == [1] * 60
    assert [info.result["status"] for info in infos] == ["processed"] * 60
    assert seen == Counter({a.event_id: 1 for a in accepted})
    for a in accepted:
        stored = await inbox.get(a.event_id)
        assert stored is not None and stored.status == "processed"
    async with engine.connect() as conn:
        jobs = await conn.scalar(select(func.count()).select_from(JobRow))
    assert jobs == 60
    adopted = set(ids) - parts.repo.claimed_ids()
    assert adopted, "no job was handed over on commit"


# --- (f) a leased row whose worker died -----------------------------------------------------


async def test_leased_rows_of_a_dead_worker_are_claimed_again_once_the_lease_passes(
    parts: Parts,
) -> None:
    gate = Gate()
    dead = parts.worker(gate, concurrency=8, lease_s=5)
    task = asyncio.create_task(dead.run())
    await _until(lambda: parts.queue.local_worker is dead)
    # The batch's rows are written leased to it, then its process dies before the hand-off.
    crashing = InboxWriter(parts.sessions)
    crashing.in_same_transaction(_JobRows(parts.queue).rows)  # nothing runs after commit
    stored = await asyncio.gather(*(crashing.submit(_entry()) for _ in range(3)))
    ids = [f"wh-{s.event_id}" for s in stored]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert parts.queue.local_worker is None
    until = parts.clock.now + timedelta(seconds=5)
    assert all(_leased(r, until) for r in (await _records(parts.queue, ids)).values())

    # Another process's worker, on its own engine and queue, shares the database and clock.
    other_engine = make_engine(parts.engine.url.render_as_string(hide_password=False))
    try:
        other = InProcessQueue(make_sessionmaker(other_engine), QUEUE, clock=parts.clock)
        other_repo = CountingRepo(make_sessionmaker(other_engine), parts.clock)
        other.repo = other_repo
        worker = InProcessWorker(other, {NAME: gate}, poll_interval_s=0.02, lease_s=LEASE_S)
        async with running(worker, other):
            claims_before = len(other_repo.claims)
            await _until(lambda: len(other_repo.claims) >= claims_before + 3)
            assert other_repo.claimed_ids().isdisjoint(ids)  # their lease still holds
            parts.clock.advance(5.001)  # it passes
            infos = [await wait_for_state(other, i, {"completed"}) for i in ids]
    finally:
        await other_engine.dispose()

    assert set(ids) <= other_repo.claimed_ids()
    assert all(now > until for now, got in other_repo.claims if set(got) & set(ids))
    # The lost hand-off counts as the first attempt, as for any job whose worker died.
    assert gate.attempts == {i: [2] for i in ids}
    assert [(info.result, info.attempts_made) for info in infos] == [
        ({"eventId": i[3:], "attempt": 2}, 2) for i in ids
    ]
