"""Batch handlers on the in-process queue (SQLite and PostgreSQL): the worker hands a
`BatchHandler` its claimed jobs in one call, records each job's own outcome from the returned
list (or as soon as the handler reports that job done, so a slow job holds back no other),
fails the whole batch's attempt if the call raises, keeps every lease of a long batch, and
still runs plain handlers job by job."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.integration.jobs.harness import fast_worker as _fast_worker
from tests.integration.jobs.harness import migrated_engine, running, wait_for_state

from ghl_bridge.jobs import Handler, InProcessQueue, InProcessWorker, Job, PermanentFailure
from ghl_bridge.jobs.port import BatchHandler, JobDone, RetryLater
from ghl_bridge.store.db import make_sessionmaker

QUEUE = "batch-handlers"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    built = await migrated_engine(database_url)
    yield built
    await built.dispose()


@pytest.fixture
def queue(engine: AsyncEngine) -> InProcessQueue:
    return InProcessQueue(make_sessionmaker(engine), QUEUE)


def by_mode(job: Job) -> Any:
    """A job's outcome from its data: a value, or the exception its attempt ends with."""
    mode = job.data.get("mode", "ok")
    if mode == "broken" or (mode == "flaky" and job.attempt == 1):
        return RuntimeError(f"boom {job.data['n']}")
    if mode == "permanent":
        return PermanentFailure("cannot ever work")
    if mode == "later":
        return RetryLater(3600, "come back in an hour")
    return {"n": job.data["n"], "attempt": job.attempt}


class Batched:
    """A handler that takes whole batches; `__call__` is there for the BullMQ worker."""

    def __init__(self, outcome: Callable[[Job], Any] = by_mode) -> None:
        self.outcome = outcome
        self.batches: list[list[str]] = []
        self.single: list[str] = []
        self.runs: Counter[str] = Counter()

    async def __call__(self, job: Job) -> Any:
        self.single.append(job.id)
        result = self.outcome(job)
        if isinstance(result, Exception):
            raise result
        return result

    async def run_batch(self, jobs: Sequence[Job], done: JobDone | None = None) -> Sequence[Any]:
        self.batches.append([job.id for job in jobs])
        self.runs.update(job.id for job in jobs)
        return [self.outcome(job) for job in jobs]


def fast_worker(
    queue: InProcessQueue, handlers: Mapping[str, Handler], **options: Any
) -> InProcessWorker:
    return _fast_worker(queue, handlers, **{"concurrency": 16, **options})


async def test_queued_jobs_reach_the_handler_in_batches_with_their_own_results(
    queue: InProcessQueue,
) -> None:
    handler = Batched()
    assert isinstance(handler, BatchHandler)
    ids = [await queue.enqueue("work", {"n": n}) for n in range(6)]

    async with running(fast_worker(queue, {"work": handler})):
        infos = [await wait_for_state(queue, job_id, {"completed"}) for job_id in ids]

    assert [(info.result, info.attempts_made) for info in infos] == [
        ({"n": n, "attempt": 1}, 1) for n in range(6)
    ]
    assert handler.single == []
    assert sorted(job_id for batch in handler.batches for job_id in batch) == sorted(ids)
    # Queued before the worker started: one claim, one call.
    assert [sorted(batch) for batch in handler.batches] == [sorted(ids)]


async def test_a_job_error_in_the_list_fails_only_that_job(queue: InProcessQueue) -> None:
    handler = Batched()
    modes = ["ok", "flaky", "broken", "permanent", "ok"]
    ids = [
        await queue.enqueue("work", {"n": n, "mode": mode}, attempts=2, backoff_s=0.05)
        for n, mode in enumerate(modes)
    ]

    async with running(fast_worker(queue, {"work": handler})):
        ok_first = await wait_for_state(queue, ids[0], {"completed"})
        flaky = await wait_for_state(queue, ids[1], {"completed"})
        broken = await wait_for_state(queue, ids[2], {"failed"})
        permanent = await wait_for_state(queue, ids[3], {"failed"})
        ok_last = await wait_for_state(queue, ids[4], {"completed"})

    assert (ok_first.result, ok_first.attempts_made) == ({"n": 0, "attempt": 1}, 1)
    assert (ok_last.result, ok_last.attempts_made) == ({"n": 4, "attempt": 1}, 1)
    assert (flaky.result, flaky.attempts_made) == ({"n": 1, "attempt": 2}, 2)
    assert (broken.failed_reason, broken.attempts_made) == ("RuntimeError: boom 2", 2)
    assert (permanent.failed_reason, permanent.attempts_made) == (
        "PermanentFailure: cannot ever work",
        1,
    )
    assert handler.runs == Counter({ids[0]: 1, ids[1]: 2, ids[2]: 2, ids[3]: 1, ids[4]: 1})
    assert handler.single == []


async def test_retry_later_in_the_list_parks_the_job_uncounted(queue: InProcessQueue) -> None:
    handler = Batched()
    parked = await queue.enqueue("work", {"n": 0, "mode": "later"}, attempts=1)
    done = await queue.enqueue("work", {"n": 1}, attempts=1)

    async with running(fast_worker(queue, {"work": handler})):
        info = await wait_for_state(queue, parked, {"delayed"})
        other = await wait_for_state(queue, done, {"completed"})

    assert (info.attempts_made, info.failed_reason, info.result) == (0, None, None)
    assert other.result == {"n": 1, "attempt": 1}
    assert handler.runs[parked] == 1


class FailingBatches(Batched):
    """`run_batch` raises on its first `failures` calls."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def run_batch(self, jobs: Sequence[Job], done: JobDone | None = None) -> Sequence[Any]:
        results = await super().run_batch(jobs)
        if len(self.batches) <= self.failures:
            raise ConnectionError("the batch's database is down")
        return results


async def test_a_raising_batch_fails_every_job_of_it(queue: InProcessQueue) -> None:
    handler = FailingBatches(failures=1)
    ids = [await queue.enqueue("work", {"n": n}, attempts=1) for n in range(4)]

    async with running(fast_worker(queue, {"work": handler})):
        infos = [await wait_for_state(queue, job_id, {"failed"}) for job_id in ids]

    assert {info.failed_reason for info in infos} == {
        "ConnectionError: the batch's database is down"
    }
    assert [info.attempts_made for info in infos] == [1] * 4
    assert [sorted(batch) for batch in handler.batches] == [sorted(ids)]


async def test_a_raising_batch_costs_each_job_one_attempt(queue: InProcessQueue) -> None:
    handler = FailingBatches(failures=1)
    ids = [await queue.enqueue("work", {"n": n}, attempts=3, backoff_s=0.05) for n in range(3)]

    async with running(fast_worker(queue, {"work": handler})):
        infos = [await wait_for_state(queue, job_id, {"completed"}) for job_id in ids]

    assert [(info.result, info.attempts_made) for info in infos] == [
        ({"n": n, "attempt": 2}, 2) for n in range(3)
    ]
    assert all(handler.runs[job_id] == 2 for job_id in ids)


async def test_a_wrong_number_of_results_fails_the_batch(queue: InProcessQueue) -> None:
    class Short(Batched):
        async def run_batch(
            self, jobs: Sequence[Job], done: JobDone | None = None
        ) -> Sequence[Any]:
            return list(await super().run_batch(jobs))[:1]

    handler = Short()
    ids = [await queue.enqueue("work", {"n": n}, attempts=1) for n in range(3)]

    async with running(fast_worker(queue, {"work": handler})):
        infos = [await wait_for_state(queue, job_id, {"failed"}) for job_id in ids]

    assert {info.failed_reason for info in infos} == {
        "RuntimeError: run_batch returned 1 results for 3 jobs"
    }


async def test_plain_handlers_still_run_job_by_job(queue: InProcessQueue) -> None:
    seen: list[list[int]] = []

    async def function(job: Job) -> int:
        seen.append([int(job.data["n"])])
        return int(job.data["n"]) * 2

    class CallableOnly:
        def __init__(self) -> None:
            self.calls = 0

        async def __call__(self, job: Job) -> str:
            self.calls += 1
            return f"called {job.data['n']}"

    only_call = CallableOnly()
    assert not isinstance(only_call, BatchHandler)
    batched = Batched()
    plain_ids = [await queue.enqueue("plain", {"n": n}) for n in range(4)]
    call_ids = [await queue.enqueue("callable", {"n": n}) for n in range(3)]
    batch_ids = [await queue.enqueue("batched", {"n": n}) for n in range(3)]

    handlers: dict[str, Handler] = {"plain": function, "callable": only_call, "batched": batched}
    async with running(fast_worker(queue, handlers)):
        plain = [await wait_for_state(queue, i, {"completed"}) for i in plain_ids]
        called = [await wait_for_state(queue, i, {"completed"}) for i in call_ids]
        batch = [await wait_for_state(queue, i, {"completed"}) for i in batch_ids]

    assert [info.result for info in plain] == [0, 2, 4, 6]
    assert sorted(seen) == [[0], [1], [2], [3]]
    assert [info.result for info in called] == ["called 0", "called 1", "called 2"]
    assert only_call.calls == 3
    assert [info.result for info in batch] == [{"n": n, "attempt": 1} for n in range(3)]
    # One call, holding only its own name's jobs.
    assert [sorted(batch) for batch in batched.batches] == [sorted(batch_ids)]


async def test_a_reclaimed_last_attempt_is_failed_without_calling_the_batch(
    queue: InProcessQueue,
) -> None:
    handler = Batched()
    job_id = await queue.enqueue("work", {"n": 0}, attempts=1)
    # A worker claimed it and died: its lease is already over.
    await queue.repo.claim(QUEUE, datetime.now(UTC), lease_s=0)

    async with running(fast_worker(queue, {"work": handler})):
        info = await wait_for_state(queue, job_id, {"failed"})

    assert info.failed_reason is not None
    assert "stopped before recording an outcome" in info.failed_reason
    assert handler.batches == [] and handler.single == []


async def test_a_long_batch_keeps_the_leases_of_all_its_jobs(queue: InProcessQueue) -> None:
    class Slow(Batched):
        async def run_batch(
            self, jobs: Sequence[Job], done: JobDone | None = None
        ) -> Sequence[Any]:
            results = await super().run_batch(jobs)
            await asyncio.sleep(1.0)  # three lease lengths of work
            return results

    handler = Slow()
    ids = [await queue.enqueue("slow", {"n": n}) for n in range(3)]
    async with (
        running(fast_worker(queue, {"slow": handler}, lease_s=0.3)),
        running(fast_worker(queue, {"slow": handler}, lease_s=0.3)),
    ):
        infos = [await wait_for_state(queue, job_id, {"completed"}) for job_id in ids]

    assert [info.result for info in infos] == [{"n": n, "attempt": 1} for n in range(3)]
    assert handler.runs == Counter(dict.fromkeys(ids, 1))


class Reporting:
    """A batch handler that reports each job done as it ends; jobs with ``slow`` wait for
    `release` (a handler stuck on GHL, say)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def __call__(self, job: Job) -> Any:
        raise AssertionError("the in-process worker hands whole batches")

    async def run_batch(self, jobs: Sequence[Job], done: JobDone | None = None) -> Sequence[Any]:
        self.calls += 1

        async def one(index: int, job: Job) -> Any:
            if job.data.get("slow"):
                await self.release.wait()
            result = {"n": job.data["n"]}
            if done is not None:
                done(index, result)
            return result

        return await asyncio.gather(*(one(n, job) for n, job in enumerate(jobs)))


async def test_a_slow_job_holds_back_no_other_jobs_completion_or_slot(
    queue: InProcessQueue,
) -> None:
    """Outcomes are recorded as the handler reports each job done: the batch's fast jobs are
    completed, and their slots free, while its slow one still runs."""
    handler = Reporting()
    ids = [await queue.enqueue("work", {"n": n, "slow": n == 2}) for n in range(4)]
    worker = fast_worker(queue, {"work": handler}, concurrency=4)

    async with running(worker):
        try:
            fast = await asyncio.wait_for(
                asyncio.gather(*(wait_for_state(queue, ids[n], {"completed"}) for n in (0, 1, 3))),
                10,
            )
            slow = await queue.get(ids[2])
            assert slow is not None and slow.state == "active"
            assert worker.room() == 3  # only the slow job still holds a slot
        finally:
            handler.release.set()  # else a failure here would leave the worker unable to stop
        last = await wait_for_state(queue, ids[2], {"completed"})

    assert handler.calls == 1  # one batch
    assert [info.result for info in fast] == [{"n": 0}, {"n": 1}, {"n": 3}]
    assert last.result == {"n": 2}


async def test_a_job_reported_done_keeps_its_outcome_when_the_batch_then_raises(
    queue: InProcessQueue,
) -> None:
    """What was reported stands; the batch's exception fails only the jobs not reported."""

    reported: list[str] = []

    class Partial(Reporting):
        async def run_batch(
            self, jobs: Sequence[Job], done: JobDone | None = None
        ) -> Sequence[Any]:
            assert done is not None
            reported.append(jobs[0].id)
            done(0, {"n": jobs[0].data["n"]})
            done(0, {"reported": "twice"})  # a second report of a job is ignored
            raise RuntimeError("the rest broke")

    ids = [await queue.enqueue("work", {"n": n}, attempts=1) for n in range(3)]
    async with running(fast_worker(queue, {"work": Partial()})):
        infos = {i: await wait_for_state(queue, i, {"completed", "failed"}) for i in ids}

    [first] = reported
    assert (infos[first].state, infos[first].result) == ("completed", {"n": ids.index(first)})
    rest = [(infos[i].state, infos[i].failed_reason) for i in ids if i != first]
    assert rest == [("failed", "RuntimeError: the rest broke")] * 2
