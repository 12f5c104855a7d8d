"""Batched outcomes of the in-process queue: one transaction per batch, never before the
handler returned, and nothing a straggler can undo (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.integration.jobs.harness import migrated_engine, wait_for_state

from ghl_bridge.jobs import InProcessQueue, InProcessWorker, Job
from ghl_bridge.jobs.port import JobDone
from ghl_bridge.store.db import make_sessionmaker
from ghl_bridge.store.jobs import JobRecord

QUEUE = "batch-test"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    built = await migrated_engine(database_url)
    yield built
    await built.dispose()


async def test_record_applies_each_outcome_to_active_jobs_only(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    ids = [await queue.enqueue("work", {"n": n}) for n in range(4)]
    claimed = await queue.repo.claim(QUEUE, datetime.now(UTC), lease_s=30, limit=3)
    assert sorted(r.id for r in claimed) == sorted(ids[:3])
    later = datetime.now(UTC) + timedelta(hours=1)
    repo = queue.repo
    applied = await repo.record(
        [
            (ids[0], repo.completed('"done"')),
            (ids[1], repo.failed("boom", later)),
            (ids[2], repo.failed("gone for good", None)),
            (ids[3], repo.completed('"never claimed"')),  # waiting, not active: left alone
        ]
    )
    assert applied == [True, True, True, False]
    states = [(await queue.get(job_id)) for job_id in ids]
    assert [info.state if info else None for info in states] == [
        "completed",
        "delayed",
        "failed",
        "waiting",
    ]
    assert states[0] is not None and states[0].result == "done"
    assert states[1] is not None and states[1].attempts_made == 1
    # A second outcome for a finished job is a no-op, in a batch as alone.
    assert await repo.record([(ids[0], repo.failed("late", None))]) == [False]


async def test_no_job_is_complete_before_its_handler_returned(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    release = asyncio.Event()
    started: set[str] = set()
    all_slots_busy = asyncio.Event()
    ids = [await queue.enqueue("work", {"n": n}) for n in range(24)]

    async def handler(job: Job) -> int:
        started.add(job.id)
        if len(started) >= 8:
            all_slots_busy.set()
        await release.wait()
        return int(job.data["n"])

    worker = InProcessWorker(queue, {"work": handler}, concurrency=8, poll_interval_s=0.02)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(all_slots_busy.wait(), 10)
        infos = [await queue.get(job_id) for job_id in ids]
        assert {info.state for info in infos if info} <= {"active", "waiting"}
        release.set()
        for n, job_id in enumerate(ids):
            info = await wait_for_state(queue, job_id, {"completed"})
            assert (info.result, info.attempts_made) == (n, 1)
    finally:
        await worker.stop()
        await asyncio.wait_for(task, 10)


async def test_stop_returns_once_the_outcomes_in_hand_are_written(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    release = asyncio.Event()
    started = asyncio.Event()
    ids = [await queue.enqueue("work", {"n": n}) for n in range(4)]

    async def handler(job: Job) -> str:
        started.set()
        await release.wait()
        return "ok"

    worker = InProcessWorker(queue, {"work": handler}, concurrency=4, poll_interval_s=0.02)
    task = asyncio.create_task(worker.run())
    await started.wait()
    running = [
        job_id for job_id in ids if (info := await queue.get(job_id)) and info.state == "active"
    ]
    stopping = asyncio.create_task(worker.stop())
    release.set()
    await asyncio.wait_for(stopping, 10)
    await asyncio.wait_for(task, 10)
    for job_id in running:
        info = await queue.get(job_id)
        assert info is not None and info.state == "completed"


class HeldBatches:
    """A batch handler that records each batch it is given and holds the first one until
    `release` is set."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.first_started = asyncio.Event()

    async def __call__(self, job: Job) -> str:
        return "ok"

    async def run_batch(self, jobs: Sequence[Job], done: JobDone | None = None) -> list[str]:
        self.batches.append([job.id for job in jobs])
        if len(self.batches) == 1:
            self.first_started.set()
            await self.release.wait()
        return ["ok"] * len(jobs)


async def _leased(queue: InProcessQueue, count: int) -> list[JobRecord]:
    """Jobs claimed as a producer's own transaction leaves them for `adopt`."""
    ids = [await queue.enqueue("work", {"n": n}) for n in range(count)]
    claimed = await queue.repo.claim(QUEUE, datetime.now(UTC), lease_s=120, limit=count)
    by_id = {record.id: record for record in claimed}
    return [by_id[job_id] for job_id in ids]


@asynccontextmanager
async def held_worker(queue: InProcessQueue) -> AsyncIterator[tuple[InProcessWorker, HeldBatches]]:
    """A running worker (it never polls: only `adopt` gives it jobs) with a `HeldBatches`
    handler; released and stopped after the block."""
    handler = HeldBatches()
    worker = InProcessWorker(queue, {"work": handler}, concurrency=16, poll_interval_s=3600)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(500):
            if queue.local_worker is worker:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the worker never started")
        yield worker, handler
    finally:
        handler.release.set()
        await worker.stop()
        await asyncio.wait_for(task, 10)


async def test_hand_overs_made_while_a_batch_runs_start_together(engine: AsyncEngine) -> None:
    """A producer hands over each of its commits; those arriving while a batch runs go into
    the next batch together (the per-batch cost is paid once), not a batch each."""
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    first, *rest = await _leased(queue, 4)
    async with held_worker(queue) as (worker, handler):
        assert worker.adopt([first])
        await asyncio.wait_for(handler.first_started.wait(), 10)
        for record in rest:  # three commits, three hand-overs
            assert worker.adopt([record])
        handler.release.set()
        for record in [first, *rest]:
            await wait_for_state(queue, record.id, {"completed"})
    assert handler.batches == [[first.id], [r.id for r in rest]]


async def test_a_batch_held_up_delays_the_next_hand_over_only_briefly(
    engine: AsyncEngine,
) -> None:
    """The wait for the running batch is bounded (`BATCH_WAIT_S`): one slow job (an INSTALL
    waiting on GHL) must not hold back every event handed over after it."""
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    first, second = await _leased(queue, 2)
    async with held_worker(queue) as (worker, handler):
        assert worker.adopt([first])
        await asyncio.wait_for(handler.first_started.wait(), 10)
        assert worker.adopt([second])
        info = await wait_for_state(queue, second.id, {"completed"}, timeout_s=5)
        assert info.result == "ok"
        assert handler.batches == [[first.id], [second.id]]  # the first is still held
