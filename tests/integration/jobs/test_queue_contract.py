"""The queue port's behaviour, run unchanged against every adapter (see conftest `backend`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.integration.jobs.harness import Backend, Calls, wait_for_state, wait_until

from ghl_bridge.jobs import Job, PayloadRejectedError, PermanentFailure, RetryLater

pytestmark = pytest.mark.services


async def test_enqueued_job_runs_and_its_result_is_visible(backend: Backend) -> None:
    async def handler(job: Job) -> dict[str, Any]:
        return {"echo": job.data["eventId"], "attempt": job.attempt, "name": job.name}

    async with backend.worker({"webhook.process": handler}):
        job_id = await backend.queue.enqueue("webhook.process", {"eventId": "evt_1"})
        info = await wait_for_state(backend.queue, job_id, {"completed"})

    assert info.result == {"echo": "evt_1", "attempt": 1, "name": "webhook.process"}
    assert info.id == job_id
    assert info.name == "webhook.process"
    assert info.data == {"eventId": "evt_1"}
    assert info.attempts_made == 1
    assert info.failed_reason is None


async def test_unknown_job_id_reads_as_none(backend: Backend) -> None:
    assert await backend.queue.get("no-such-job") is None


async def test_same_job_id_twice_makes_one_job(backend: Backend) -> None:
    calls = Calls()

    async def handler(job: Job) -> str:
        await calls.add(job.data, job.attempt)
        return "done"

    first = await backend.queue.enqueue("work", {"n": 1}, job_id="wh-abc")
    second = await backend.queue.enqueue("work", {"n": 2}, job_id="wh-abc")
    assert first == second == "wh-abc"
    async with backend.worker({"work": handler}):
        info = await wait_for_state(backend.queue, "wh-abc", {"completed"})
        again = await backend.queue.enqueue("work", {"n": 3}, job_id="wh-abc")

    assert again == "wh-abc"
    assert info.data == {"n": 1}
    assert [data for _, data, _ in calls.items] == [{"n": 1}]


async def test_failed_attempt_is_retried_after_backoff_then_completes(backend: Backend) -> None:
    calls = Calls()

    async def flaky(job: Job) -> str:
        await calls.add(job.data, job.attempt)
        if job.attempt == 1:
            raise ConnectionError("GHL timed out")
        return "ok"

    async with backend.worker({"flaky": flaky}):
        job_id = await backend.queue.enqueue(
            "flaky", {"id": "x"}, attempts=3, backoff_s=backend.backoff_s
        )
        info = await wait_for_state(backend.queue, job_id, {"completed"})

    assert info.result == "ok"
    assert info.attempts_made == 2
    assert [attempt for _, _, attempt in calls.items] == [1, 2]
    gap = calls.items[1][0] - calls.items[0][0]
    assert gap >= backend.backoff_s * 0.9


async def test_exhausted_attempts_leave_a_failed_job_with_its_reason(backend: Backend) -> None:
    calls = Calls()

    async def broken(job: Job) -> None:
        await calls.add(job.data, job.attempt)
        raise ValueError(f"boom on attempt {job.attempt}")

    async with backend.worker({"broken": broken}):
        job_id = await backend.queue.enqueue(
            "broken", {"id": "x"}, attempts=2, backoff_s=backend.backoff_s
        )
        info = await wait_for_state(backend.queue, job_id, {"failed"})

    assert len(calls) == 2
    assert info.attempts_made == 2
    assert info.failed_reason == "ValueError: boom on attempt 2"
    assert info.result is None


async def test_permanent_failure_is_not_retried(backend: Backend) -> None:
    calls = Calls()

    async def refuses(job: Job) -> None:
        await calls.add(job.data, job.attempt)
        raise PermanentFailure("location is not connected")

    async with backend.worker({"refuses": refuses}):
        job_id = await backend.queue.enqueue("refuses", {"id": "x"}, attempts=5)
        info = await wait_for_state(backend.queue, job_id, {"failed"})

    assert len(calls) == 1
    assert info.attempts_made == 1
    assert info.failed_reason is not None
    assert "location is not connected" in info.failed_reason


async def test_retry_later_parks_the_job_without_using_an_attempt(backend: Backend) -> None:
    calls = Calls()

    async def rate_limited(job: Job) -> str:
        await calls.add(job.data, job.attempt)
        if len(calls) == 1:
            raise RetryLater(0.6, "429 Retry-After")
        return "sent"

    async with backend.worker({"send": rate_limited}):
        # One attempt only: if parking used it up, the job could never complete.
        job_id = await backend.queue.enqueue("send", {"id": "x"}, attempts=1)
        await calls.wait_for(1)
        parked = await wait_for_state(backend.queue, job_id, {"delayed"})
        info = await wait_for_state(backend.queue, job_id, {"completed"})

    assert parked.attempts_made == 0
    assert info.result == "sent"
    assert info.attempts_made == 1
    assert [attempt for _, _, attempt in calls.items] == [1, 1]
    assert calls.items[1][0] - calls.items[0][0] >= 0.5


async def test_progress_is_visible_while_the_job_runs(backend: Backend) -> None:
    release = asyncio.Event()

    async def bulk(job: Job) -> int:
        await job.update_progress({"done": 5, "total": 10})
        await release.wait()
        await job.update_progress(100)
        return 10

    async with backend.worker({"bulk": bulk}):
        job_id = await backend.queue.enqueue("bulk", {"bulkId": "b1"})
        running = await wait_until(
            backend.queue, job_id, lambda info: info.progress == {"done": 5, "total": 10}
        )
        release.set()
        info = await wait_for_state(backend.queue, job_id, {"completed"})

    assert running.state == "active"
    assert info.progress == 100
    assert info.result == 10


async def test_delayed_job_waits_before_running(backend: Backend) -> None:
    async def handler(job: Job) -> str:
        return "late"

    async with backend.worker({"later": handler}):
        job_id = await backend.queue.enqueue("later", {"id": "x"}, delay_s=0.5)
        pending = await backend.queue.get(job_id)
        info = await wait_for_state(backend.queue, job_id, {"completed"})

    assert pending is not None
    assert pending.state == "delayed"
    assert info.result == "late"


@pytest.mark.parametrize(
    "data",
    [
        {"accessToken": "abc"},
        {"input": {"Authorization": "Bearer abc"}},
        {"items": [{"id": 1}, {"client_secret": "s"}]},
        {"PASSWORD": "hunter2"},
        {"blob": "x" * (16 * 1024)},
        {"when": object()},
    ],
    ids=["token", "nested-authorization", "secret-in-list", "password", "oversized", "not-json"],
)
async def test_unsafe_payloads_are_refused(backend: Backend, data: dict[str, Any]) -> None:
    with pytest.raises(PayloadRejectedError):
        await backend.queue.enqueue("work", data, job_id="refused-job")
    assert await backend.queue.get("refused-job") is None


async def test_unknown_job_name_fails_with_a_clear_reason(backend: Backend) -> None:
    async def handler(job: Job) -> None:
        return None

    async with backend.worker({"known": handler}):
        job_id = await backend.queue.enqueue("mystery", {"id": "x"}, attempts=3)
        info = await wait_for_state(backend.queue, job_id, {"failed"})

    assert info.attempts_made == 1
    assert info.failed_reason is not None
    assert "no handler for job name 'mystery'" in info.failed_reason
    assert "known" in info.failed_reason


async def test_failed_jobs_are_listed_and_can_be_replayed(backend: Backend) -> None:
    calls = Calls()

    async def handler(job: Job) -> str:
        await calls.add(job.data, job.attempt)
        if len(calls) == 1:
            raise PermanentFailure("connection revoked")
        return "replayed"

    async with backend.worker({"work": handler}):
        job_id = await backend.queue.enqueue("work", {"id": "x"}, attempts=1)
        await wait_for_state(backend.queue, job_id, {"failed"})
        [dead] = await backend.queue.list_failed()
        assert (dead.id, dead.state) == (job_id, "failed")
        assert dead.failed_reason == "PermanentFailure: connection revoked"
        assert await backend.queue.replay(job_id)
        info = await wait_for_state(backend.queue, job_id, {"completed"})
        assert not await backend.queue.replay(job_id)  # only failed jobs replay

    assert info.result == "replayed"
    assert info.failed_reason is None
    assert info.attempts_made == 1  # a replay starts with a fresh set of attempts
    assert not await backend.queue.replay("no-such-job")
    assert await backend.queue.list_failed() == []
