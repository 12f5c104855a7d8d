"""Run one handler attempt and classify how it ended, independently of any queue backend.

Both adapters call `run_attempt` and then translate the `Outcome` into their own mechanics
(a row update, or BullMQ's return / `DelayedError` / `UnrecoverableError`). Keeping the
classification here is what makes a job behave the same in embedded and distributed mode.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from ghl_bridge.jobs.port import (
    BatchHandler,
    Handler,
    Job,
    PermanentFailure,
    RetryLater,
    describe_failure,
    unknown_job_reason,
)

_log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Completed:
    """The handler returned; `result_json` is its value, already encoded."""

    result: Any
    result_json: str


@dataclasses.dataclass(frozen=True, slots=True)
class Parked:
    """The handler asked to be run again after `delay_s`, without using an attempt."""

    delay_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class Failed:
    """The attempt failed; `permanent` means no retry whatever attempts remain."""

    reason: str
    permanent: bool
    error: BaseException | None = None


Outcome = Completed | Parked | Failed
Settle = Callable[[Job, Outcome], None]


async def run_attempt(handlers: Mapping[str, Handler], queue_name: str, job: Job) -> Outcome:
    """Run the handler registered for `job.name` and classify the result.

    Only `Exception`s are caught: cancellation (a forced shutdown) must propagate so the job
    is left to lease expiry / stalled recovery rather than being recorded as a failure.
    """
    handler = handlers.get(job.name)
    if handler is None:
        return Failed(unknown_job_reason(job.name, queue_name, handlers), permanent=True)
    try:
        result = await handler(job)
    except Exception as exc:
        return classify(job, exc)
    return classify(job, result)


async def run_batch_attempt(
    handler: BatchHandler, jobs: Sequence[Job], settle: Settle | None = None
) -> list[Outcome]:
    """`run_attempt` for a batch of one handler's jobs: one outcome per job, in order.
    ``settle`` hears each job's outcome once, as soon as the handler reports that job done (or
    when the batch returns, for the jobs it did not report). If the batch call itself raises,
    every job it had not reported failed that attempt (retried as usual)."""
    outcomes: list[Outcome | None] = [None] * len(jobs)

    def done(index: int, result: Any) -> None:
        if 0 <= index < len(jobs) and outcomes[index] is None:
            outcome = outcomes[index] = classify(jobs[index], result)
            if settle is not None:
                settle(jobs[index], outcome)

    try:
        results: Sequence[Any] = await handler.run_batch(jobs, done)
        if len(results) != len(jobs):
            raise RuntimeError(f"run_batch returned {len(results)} results for {len(jobs)} jobs")
    except Exception as exc:
        results = [exc] * len(jobs)
    for index, result in enumerate(results):
        done(index, result)
    return [outcome for outcome in outcomes if outcome is not None]


def classify(job: Job, result: Any) -> Outcome:
    """How an attempt ended, from the handler's value or the exception it raised."""
    if isinstance(result, RetryLater):
        return Parked(result.delay_s)
    if isinstance(result, PermanentFailure):
        _log.warning("job failed permanently", job_id=job.id, job_name=job.name, exc_info=result)
        return Failed(describe_failure(result), permanent=True, error=result)
    if isinstance(result, Exception):
        _log.warning("job attempt failed", job_id=job.id, job_name=job.name, exc_info=result)
        return Failed(describe_failure(result), permanent=False, error=result)
    try:
        encoded = json.dumps(result, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        reason = f"handler result is not JSON-serialisable: {exc}"
        return Failed(reason, permanent=True, error=exc)
    return Completed(result, encoded)
