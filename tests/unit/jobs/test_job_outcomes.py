"""How a handler attempt is classified, the same for both adapters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ghl_bridge.jobs.outcome import Completed, Failed, Parked, run_attempt
from ghl_bridge.jobs.port import (
    Handler,
    Job,
    PermanentFailure,
    RetryLater,
    backoff_delay_s,
    describe_failure,
)


async def _ignore(_: Any) -> None:
    return None


def make_job(name: str = "work", attempt: int = 1) -> Job:
    return Job(id="job_1", name=name, data={"eventId": "e"}, attempt=attempt, report=_ignore)


async def test_a_returned_value_completes_the_job_with_its_json() -> None:
    async def handler(job: Job) -> dict[str, Any]:
        return {"id": job.data["eventId"], "n": [1, 2]}

    outcome = await run_attempt({"work": handler}, "q", make_job())
    assert outcome == Completed({"id": "e", "n": [1, 2]}, '{"id":"e","n":[1,2]}')


async def test_retry_later_parks_for_the_given_delay() -> None:
    async def handler(job: Job) -> None:
        raise RetryLater(7.5, "Retry-After: 7.5")

    assert await run_attempt({"work": handler}, "q", make_job()) == Parked(7.5)


async def test_permanent_failure_and_ordinary_errors_are_told_apart() -> None:
    async def permanent(job: Job) -> None:
        raise PermanentFailure("no connection")

    async def transient(job: Job) -> None:
        raise TimeoutError

    handlers: dict[str, Handler] = {"p": permanent, "t": transient}
    first = await run_attempt(handlers, "q", make_job("p"))
    second = await run_attempt(handlers, "q", make_job("t"))
    assert isinstance(first, Failed)
    assert (first.reason, first.permanent) == ("PermanentFailure: no connection", True)
    assert isinstance(second, Failed)
    assert (second.reason, second.permanent) == ("TimeoutError", False)
    assert isinstance(second.error, TimeoutError)


async def test_an_unknown_job_name_fails_permanently_and_names_the_known_ones() -> None:
    outcome = await run_attempt({"b": _handler, "a": _handler}, "events", make_job("zzz"))
    assert outcome == Failed(
        "no handler for job name 'zzz' on queue 'events' (registered: a, b)", permanent=True
    )


async def test_a_result_that_is_not_json_fails_permanently() -> None:
    async def handler(job: Job) -> object:
        return object()

    outcome = await run_attempt({"work": handler}, "q", make_job())
    assert isinstance(outcome, Failed)
    assert outcome.permanent
    assert outcome.reason.startswith("handler result is not JSON-serialisable")


async def test_cancellation_is_not_recorded_as_a_failure() -> None:
    async def handler(job: Job) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run_attempt({"work": handler}, "q", make_job())


async def test_progress_goes_to_the_adapter_sink() -> None:
    reported: list[Any] = []

    async def sink(value: Any) -> None:
        reported.append(value)

    job = Job(id="j", name="n", data={}, attempt=2, report=sink)
    await job.update_progress({"done": 3})
    assert reported == [{"done": 3}]
    assert repr(job) == "Job(id='j', name='n', attempt=2)"


def test_backoff_is_exponential_like_bullmq() -> None:
    assert [backoff_delay_s(0.5, n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_failure_descriptions_carry_type_and_message() -> None:
    assert describe_failure(ValueError("bad input")) == "ValueError: bad input"
    assert describe_failure(KeyError("x")) == "KeyError: 'x'"
    assert describe_failure(RuntimeError()) == "RuntimeError"


def test_retry_later_refuses_a_negative_delay() -> None:
    with pytest.raises(ValueError):
        RetryLater(-1)
    assert str(RetryLater(2)) == "retry in 2s"


async def _handler(job: Job) -> None:
    return None
