"""Run one handler attempt and classify how it ended, independently of any queue backend.

Both adapters call `run_attempt` and then translate the `Outcome` into their own mechanics
(a row update, or BullMQ's return / `DelayedError` / `UnrecoverableError`). Keeping the
classification here is what makes a job behave the same in embedded and distributed mode.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import structlog

from ghl_bridge.jobs.port import (
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
    except RetryLater as exc:
        return Parked(exc.delay_s)
    except PermanentFailure as exc:
        _log.warning("job failed permanently", job_id=job.id, job_name=job.name, exc_info=exc)
        return Failed(describe_failure(exc), permanent=True, error=exc)
    except Exception as exc:
        _log.warning("job attempt failed", job_id=job.id, job_name=job.name, exc_info=exc)
        return Failed(describe_failure(exc), permanent=False, error=exc)
    try:
        encoded = json.dumps(result, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        reason = f"handler result is not JSON-serialisable: {exc}"
        return Failed(reason, permanent=True, error=exc)
    return Completed(result, encoded)
