"""Processing webhook events on a real queue, for every queue kind (in-process on SQLite and
PostgreSQL, BullMQ on Redis): failed attempts are counted and retried with backoff, the last one
dead-letters the event, a replay after the fix processes it once, and the sweeper re-queues an
event whose job was lost and dead-letters one whose job the queue gave up on."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.integration.jobs.harness import delete_prefix, wait_for_state
from tests.support.polling import eventually

from ghl_bridge.events.processor import EventProcessor
from ghl_bridge.events.replay import EventReplayer, event_job_id
from ghl_bridge.events.sweeper import GAVE_UP, InboxSweeper
from ghl_bridge.jobs import (
    BullMQQueue,
    BullMQWorker,
    Handler,
    InProcessQueue,
    InProcessWorker,
    Job,
    PermanentFailure,
    Queue,
    RetryPolicy,
    WorkerRunner,
)
from ghl_bridge.jobs.names import EVENTS_QUEUE, WEBHOOK_PROCESS_JOB
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.models import WebhookEvent
from ghl_bridge.store.tenants import TenantRepo

ATTEMPTS = 3


@dataclass
class Downstream:
    """An idempotent handler (its effect is a set keyed by event id) that fails while broken."""

    broken: bool = True
    permanent: bool = False
    failures_left: int = 0
    runs: int = 0
    applied: set[str] = field(default_factory=set)

    async def __call__(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        self.runs += 1
        if self.permanent:
            raise PermanentFailure("this can never work")
        if self.broken or self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("downstream down")
        self.applied.add(event.id)


@dataclass
class Rig:
    kind: str
    inbox: InboxRepo
    tenant_id: str
    queue: Queue
    downstream: Downstream
    workers: list[WorkerRunner]
    make_worker: Any
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def record(self, payload: str | None = None, type_: str = "Flaky") -> str:
        webhook_id = str(uuid.uuid4())
        event_id, _ = await self.inbox.record(
            webhook_id,
            event_type=type_,
            location_id="loc1",
            company_id=None,
            tenant_id=self.tenant_id,
            payload=payload or json.dumps({"type": type_, "webhookId": webhook_id}),
            signature_scheme="ed25519",
            received_at=datetime.now(UTC),
        )
        return event_id

    async def deliver(self, payload: str | None = None) -> str:
        """What the receiver does: record, then queue ``wh-<id>`` with the queue's policy."""
        event_id = await self.record(payload)
        await self.queue.enqueue(
            WEBHOOK_PROCESS_JOB, {"eventId": event_id}, job_id=f"wh-{event_id}"
        )
        return event_id

    async def until(self, event_id: str, status: str) -> WebhookEvent:
        async def probe() -> WebhookEvent | None:
            event = await self.inbox.get(event_id)
            return event if event is not None and event.status == status else None

        return await eventually(probe, within=20)

    def start(self, handlers: Mapping[str, Handler]) -> None:
        worker = self.make_worker(handlers)
        self.workers.append(worker)
        self.tasks.append(asyncio.create_task(worker.run()))


@pytest.fixture(params=["inprocess-sqlite", "inprocess-postgresql", "bullmq"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    db_url = request.getfixturevalue("pg_url" if "postgresql" in request.param else "sqlite_url")
    await upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    inbox = InboxRepo(sessions)
    tenant, _ = await TenantRepo(sessions).create("acme")
    downstream = Downstream()
    processor = EventProcessor(inbox, ConnectionRepo(sessions), routes={"Flaky": downstream})
    queue: Any
    if request.param == "bullmq":
        redis_url, prefix = (
            request.getfixturevalue("redis_url"),
            request.getfixturevalue("redis_prefix"),
        )
        # BullMQ rounds backoffs up to 1 s: 1 s then 2 s between the three attempts.
        policies = {WEBHOOK_PROCESS_JOB: RetryPolicy(ATTEMPTS, 1.0)}
        queue = BullMQQueue(redis_url, EVENTS_QUEUE, prefix=prefix, policies=policies)

        def make(handlers: Mapping[str, Handler]) -> WorkerRunner:
            return BullMQWorker(redis_url, EVENTS_QUEUE, handlers, prefix=prefix)
    else:
        policies = {WEBHOOK_PROCESS_JOB: RetryPolicy(ATTEMPTS, 0.05)}
        queue = InProcessQueue(sessions, EVENTS_QUEUE, policies=policies)

        def make(handlers: Mapping[str, Handler]) -> WorkerRunner:
            return InProcessWorker(queue, handlers, poll_interval_s=0.05)

    built = Rig(request.param, inbox, tenant.id, queue, downstream, [], make)
    built.start({WEBHOOK_PROCESS_JOB: processor})
    try:
        yield built
    finally:
        for worker in built.workers:
            await worker.stop()
        await asyncio.gather(*built.tasks, return_exceptions=True)
        await queue.close()
        if request.param == "bullmq":
            await delete_prefix(redis_url, prefix)
        await engine.dispose()


async def test_always_failing_event_is_dead_after_the_last_attempt_then_replayed(
    rig: Rig,
) -> None:
    event_id = await rig.deliver()
    dead = await rig.until(event_id, "dead")
    assert (dead.retry_count, rig.downstream.runs) == (ATTEMPTS, ATTEMPTS)
    assert dead.last_error == "RuntimeError: downstream down" and dead.dead_at is not None
    page = await rig.inbox.dead_page(tenant_id=rig.tenant_id)
    assert [e.id for e in page.events] == [event_id]
    job = await wait_for_state(rig.queue, f"wh-{event_id}", {"failed"})
    assert job.attempts_made == ATTEMPTS

    rig.downstream.broken = False  # the cause is fixed
    replayer = EventReplayer(rig.inbox, rig.queue)
    done = await replayer.replay(event_id, tenant_id=rig.tenant_id)
    assert done is not None and done.queued and done.event.replays == 1
    processed = await rig.until(event_id, "processed")
    assert rig.downstream.runs == ATTEMPTS + 1  # processed once
    assert rig.downstream.applied == {event_id}
    assert processed.dead_at is None and processed.retry_count == ATTEMPTS
    assert (await rig.inbox.dead_page(tenant_id=rig.tenant_id)).events == []
    completed = await wait_for_state(rig.queue, event_job_id(processed), {"completed"})
    assert completed.result["eventId"] == event_id

    # Replaying a processed event runs it again; the handler's effect does not repeat.
    again = await replayer.replay(event_id, tenant_id=rig.tenant_id)
    assert again is not None and again.event.replays == 2
    await wait_for_state(rig.queue, f"wh-{event_id}-r2", {"completed"})
    final = await rig.until(event_id, "processed")
    assert rig.downstream.applied == {event_id} and final.replays == 2


async def test_an_attempt_that_recovers_is_not_dead_lettered(rig: Rig) -> None:
    rig.downstream.broken = False
    rig.downstream.failures_left = ATTEMPTS - 1  # fails until the last attempt
    event_id = await rig.deliver()
    processed = await rig.until(event_id, "processed")
    assert rig.downstream.runs == ATTEMPTS
    assert processed.retry_count == ATTEMPTS - 1
    assert processed.last_error == "RuntimeError: downstream down"
    assert processed.dead_at is None and rig.downstream.applied == {event_id}


async def test_permanent_failures_dead_letter_at_once(rig: Rig) -> None:
    rig.downstream.permanent = True
    event_id = await rig.deliver()
    dead = await rig.until(event_id, "dead")
    assert (dead.retry_count, rig.downstream.runs) == (1, 1)
    assert dead.last_error == "PermanentFailure: this can never work"

    not_json = await rig.deliver(payload="{not json")
    dead = await rig.until(not_json, "dead")
    assert dead.retry_count == 1 and "not JSON" in (dead.last_error or "")


async def test_sweeper_requeues_a_lost_job_and_leaves_a_queued_one(rig: Rig) -> None:
    rig.downstream.broken = False
    sweeper = InboxSweeper(rig.inbox, rig.queue, older_than_s=0)
    lost = await rig.record()  # stored, never queued (an enqueue that failed, Redis wiped)
    swept = await sweeper.sweep()
    assert swept.requeued == 1
    await rig.until(lost, "processed")
    assert rig.downstream.applied == {lost}
    assert (await sweeper.sweep()).requeued == 0  # nothing unsettled any more


async def test_sweeper_dead_letters_an_event_whose_job_the_queue_gave_up_on(rig: Rig) -> None:
    event_id = await rig.record()

    async def dies_without_a_word(job: Job) -> None:
        # Stands for a worker killed during the last attempt: the event is never told.
        raise RuntimeError("worker lost")

    await rig.workers[0].stop()
    rig.start({WEBHOOK_PROCESS_JOB: dies_without_a_word})
    job_id = f"wh-{event_id}"
    await rig.queue.enqueue(WEBHOOK_PROCESS_JOB, {"eventId": event_id}, job_id=job_id, attempts=1)
    await wait_for_state(rig.queue, job_id, {"failed"})
    assert (await rig.inbox.get(event_id)).status == "pending"  # type: ignore[union-attr]

    swept = await InboxSweeper(rig.inbox, rig.queue, older_than_s=0).sweep()
    assert (swept.requeued, swept.dead_lettered) == (0, 1)
    dead = await rig.inbox.get(event_id)
    assert dead is not None and dead.status == "dead"
    assert (dead.last_error or "").startswith(GAVE_UP) and "worker lost" in (dead.last_error or "")
