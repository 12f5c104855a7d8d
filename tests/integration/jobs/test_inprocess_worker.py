"""Durability and concurrency of the in-process queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.integration.jobs.harness import (
    Calls,
    fast_worker,
    migrated_engine,
    running,
    wait_for_state,
)

from ghl_bridge.jobs import InProcessQueue, InProcessWorker, Job, PermanentFailure
from ghl_bridge.jobs.port import KeepCompleted
from ghl_bridge.store.db import make_engine, make_sessionmaker

QUEUE = "inprocess-test"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    built = await migrated_engine(database_url)
    yield built
    await built.dispose()


async def test_job_left_active_by_a_crashed_worker_is_taken_again(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    job_id = await queue.enqueue("work", {"id": "x"}, attempts=3)
    # A worker claims the job and dies: the lease (here already over) is all that is left.
    [claimed] = await queue.repo.claim(QUEUE, datetime.now(UTC), lease_s=0)
    assert claimed.id == job_id
    assert (await wait_for_state(queue, job_id, {"active"})).attempts_made == 0
    calls = Calls()

    async def handler(job: Job) -> str:
        await calls.add(job.data, job.attempt)
        return "recovered"

    async with running(fast_worker(queue, {"work": handler})):
        info = await wait_for_state(queue, job_id, {"completed"})

    assert info.result == "recovered"
    assert [attempt for _, _, attempt in calls.items] == [2]  # the lost run counts as attempt 1
    assert info.attempts_made == 2


async def test_a_job_that_kills_its_worker_on_the_last_attempt_ends_failed(
    engine: AsyncEngine,
) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    job_id = await queue.enqueue("poison", {"id": "x"}, attempts=1)
    await queue.repo.claim(QUEUE, datetime.now(UTC), lease_s=0)
    calls = Calls()

    async def handler(job: Job) -> None:
        await calls.add(job.data, job.attempt)

    async with running(fast_worker(queue, {"poison": handler})):
        info = await wait_for_state(queue, job_id, {"failed"})

    assert len(calls) == 0
    assert info.attempts_made == 1
    assert info.failed_reason is not None
    assert "stopped before recording an outcome" in info.failed_reason


async def test_jobs_survive_a_restart(database_url: str) -> None:
    first = await migrated_engine(database_url)
    before = InProcessQueue(make_sessionmaker(first), QUEUE)
    ids = [await before.enqueue("work", {"n": n}) for n in range(3)]
    await before.close()
    await first.dispose()

    second = make_engine(database_url)
    try:
        after = InProcessQueue(make_sessionmaker(second), QUEUE)

        async def handler(job: Job) -> int:
            return int(job.data["n"]) * 10

        async with running(fast_worker(after, {"work": handler})):
            results = [(await wait_for_state(after, i, {"completed"})).result for i in ids]
    finally:
        await second.dispose()
    assert results == [0, 10, 20]


async def test_concurrent_workers_never_run_the_same_job_twice(database_url: str) -> None:
    engines = [await migrated_engine(database_url), make_engine(database_url)]
    queues = [InProcessQueue(make_sessionmaker(e), QUEUE) for e in engines]
    invocations: Counter[str] = Counter()
    calls = Calls()

    async def handler(job: Job) -> None:
        invocations[job.id] += 1
        await asyncio.sleep(0.001)  # stands for work, so the workers overlap
        await calls.add(job.data, job.attempt)

    try:
        ids = [await queues[0].enqueue("work", {"n": n}) for n in range(50)]
        async with (
            running(fast_worker(queues[0], {"work": handler})),
            running(fast_worker(queues[1], {"work": handler})),
        ):
            await calls.wait_for(50, timeout_s=20)
            for job_id in ids:
                await wait_for_state(queues[0], job_id, {"completed"})
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(invocations) == sorted(ids)
    assert set(invocations.values()) == {1}


async def test_enqueue_wakes_an_idle_worker_at_once(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)

    async def handler(job: Job) -> str:
        return "fast"

    worker = fast_worker(queue, {"work": handler}, poll_interval_s=30, concurrency=1)
    async with running(worker):
        warm = await queue.enqueue("work", {"n": 0})
        await wait_for_state(queue, warm, {"completed"}, timeout_s=5)
        # The worker is now idle with a 30 s poll; only the wake-up can make this quick.
        job_id = await queue.enqueue("work", {"n": 1})
        info = await wait_for_state(queue, job_id, {"completed"}, timeout_s=2)
    assert info.result == "fast"


async def test_stop_lets_the_running_job_finish(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(job: Job) -> str:
        started.set()
        await release.wait()
        return "finished"

    worker = fast_worker(queue, {"work": handler})
    run_task = asyncio.create_task(worker.run())
    job_id = await queue.enqueue("work", {"id": "x"})
    await asyncio.wait_for(started.wait(), 5)
    stop_task = asyncio.create_task(worker.stop())
    done, _ = await asyncio.wait({stop_task}, timeout=0.1)
    assert not done, "stop() returned while a job was still running"
    release.set()
    await asyncio.wait_for(stop_task, 5)
    await asyncio.wait_for(run_task, 5)
    info = await queue.get(job_id)
    assert info is not None
    assert (info.state, info.result) == ("completed", "finished")


async def test_a_long_job_keeps_its_lease(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    invocations: Counter[str] = Counter()

    async def slow(job: Job) -> str:
        invocations[job.id] += 1
        await asyncio.sleep(1.0)  # three lease lengths of work
        return "slow"

    job_id = await queue.enqueue("slow", {"id": "x"})
    async with (
        running(fast_worker(queue, {"slow": slow}, lease_s=0.3)),
        running(fast_worker(queue, {"slow": slow}, lease_s=0.3)),
    ):
        info = await wait_for_state(queue, job_id, {"completed"})
    assert info.result == "slow"
    assert invocations[job_id] == 1


async def test_the_clock_decides_when_a_delayed_job_is_due(engine: AsyncEngine) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE, clock=lambda: now[0])

    async def handler(job: Job) -> str:
        return "due"

    async with running(fast_worker(queue, {"work": handler})):
        job_id = await queue.enqueue("work", {"id": "x"}, delay_s=3600)
        assert (await wait_for_state(queue, job_id, {"delayed"})).state == "delayed"
        now[0] += timedelta(hours=1, seconds=1)
        info = await wait_for_state(queue, job_id, {"completed"})
    assert info.result == "due"


async def test_the_worker_prunes_completed_jobs_past_their_count_and_keeps_dead_letters(
    engine: AsyncEngine,
) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)

    async def handler(job: Job) -> str:
        if job.data["n"] == 0:
            raise PermanentFailure("a dead letter")
        return "ok"

    worker = InProcessWorker(
        queue,
        {"work": handler},
        poll_interval_s=0.02,
        keep_completed=KeepCompleted(age_s=3600, count=2),
        prune_every_s=0.05,
    )
    async with running(worker):
        ids = []
        for n in range(6):  # one at a time: each finishes at its own instant
            ids.append(await queue.enqueue("work", {"n": n}))
            await wait_for_state(queue, ids[-1], {"completed", "failed"})
        deadline = asyncio.get_running_loop().time() + 10
        while [await queue.get(i) for i in ids[1:4]] != [None] * 3:
            assert asyncio.get_running_loop().time() < deadline, "completed jobs not pruned"
            await asyncio.sleep(0.02)
    kept = [i for i in ids if await queue.get(i) is not None]
    assert kept == [ids[0], ids[4], ids[5]]  # the dead letter and the newest two
    assert [info.id for info in await queue.list_failed()] == [ids[0]]


async def test_a_worker_refuses_a_prune_interval_that_is_not_positive(engine: AsyncEngine) -> None:
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE)
    with pytest.raises(ValueError, match="prune_every_s"):
        InProcessWorker(queue, {}, prune_every_s=0)


async def test_a_commit_in_another_process_wakes_the_worker_at_once(
    engine: AsyncEngine, database_url: str
) -> None:
    """The split topology (`serve --no-worker` + `worker`): the producer's queue and the
    worker's are different objects, as in two processes, and only a datagram joins them. The
    worker polls every 60 s here, so only the wake-up can start the job within seconds."""
    from ghl_bridge.jobs import make_queue

    name = f"wake-{uuid.uuid4().hex[:8]}"

    def queue() -> InProcessQueue:
        built = make_queue(
            "inprocess",
            queue_name=name,
            sessionmaker=make_sessionmaker(engine),
            database_url=database_url,
        )
        assert isinstance(built, InProcessQueue)
        return built

    producer, consumer = queue(), queue()
    done = asyncio.Event()

    async def handler(job: Job) -> None:
        done.set()

    worker = fast_worker(consumer, {"work": handler}, poll_interval_s=60)
    try:
        async with running(worker):
            await asyncio.sleep(0.2)  # past the worker's first (empty) claim: it now waits
            assert consumer.wake is not None and consumer.wake.listening
            await producer.enqueue("work", {"id": "x"})
            await asyncio.wait_for(done.wait(), 10)  # the next poll is a minute away
        assert not consumer.wake.listening  # a stopped worker gives its slot back
    finally:
        await producer.close()
        await consumer.close()
