"""The queue port: what the rest of ghl-bridge may assume about a job queue.

Two adapters implement it: `InProcessQueue` (job rows in the database, embedded mode) and
`BullMQQueue` (BullMQ on Redis, distributed mode). Callers depend on these types only, so the
deployment mode is a configuration choice, not a code path (DESIGN §2).

Delivery is at-least-once in both adapters: a handler may run again after a crash or a lost
lease, so handlers must be idempotent (upserts, idempotency keys, "already done" checks).

Outcome of a handler, identical in both adapters:
- returns a value → the job completes; the value (JSON) is the job's result.
- raises `RetryLater(delay_s)` → the job is parked for `delay_s` without using an attempt
  (GHL's Retry-After: being told to wait is not a failure).
- raises `PermanentFailure` → the job fails at once, no retry.
- raises anything else → retried with exponential backoff (`backoff_s * 2**(n-1)` after the
  n-th failure) until `attempts` are used up, then failed. Failed jobs are kept with their
  reason so they can be inspected and replayed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

JobState = Literal["waiting", "active", "delayed", "completed", "failed", "unknown"]
"""Where a job is. `delayed` covers a scheduled start, a retry backoff and a Retry-After park."""

ProgressSink = Callable[[Any], Awaitable[None]]


@dataclasses.dataclass(frozen=True, slots=True)
class JobInfo:
    """A read-only snapshot of a job, the same shape whichever adapter stores it.

    `attempts_made` counts finished attempts (completed or failed), as BullMQ does; a
    Retry-After park does not count. `progress` is 0 until the handler reports something.
    """

    id: str
    name: str
    state: JobState
    data: Mapping[str, Any]
    attempts_made: int
    progress: Any
    result: Any
    failed_reason: str | None


class Job:
    """What a handler receives: the job's identity, its payload and a progress reporter.

    It deliberately hides the adapter's own job object so handlers cannot reach into BullMQ or
    the database and stay portable between the two modes.
    """

    __slots__ = ("_report", "attempt", "data", "id", "max_attempts", "name")

    def __init__(
        self,
        *,
        id: str,
        name: str,
        data: dict[str, Any],
        attempt: int,
        report: ProgressSink,
        max_attempts: int | None = None,
    ) -> None:
        self.id = id
        self.name = name
        self.data = data
        self.attempt = attempt
        """1 on the first run, 2 on the first retry, and so on."""
        self.max_attempts = max_attempts
        """The attempts the job has in all; None when the runner does not say (a test's job)."""
        self._report = report

    @property
    def is_last_attempt(self) -> bool:
        """True when a failure now fails the job for good: a handler dead-letters its record
        then, instead of leaving it for a retry that will not come."""
        return self.max_attempts is not None and self.attempt >= self.max_attempts

    async def update_progress(self, value: Any) -> None:
        """Record progress (a number or a JSON object); readers see it through `Queue.get`."""
        await self._report(value)

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, name={self.name!r}, attempt={self.attempt})"


Handler = Callable[[Job], Awaitable[Any]]
"""A job handler; its (JSON-serialisable) return value becomes the job's result."""


# Told as soon as one job of a batch is done: its index in the batch, and its result or the
# exception its attempt ended with.
JobDone = Callable[[int, Any], None]


@runtime_checkable
class BatchHandler(Protocol):
    """A handler that can also take many jobs of its name at once.

    The in-process worker hands it each claimed batch (one load and one write for the lot
    instead of one per job); BullMQ's worker calls it one job at a time. Per job, a result or
    the exception that job's attempt ended with, in the jobs' order; both paths must behave
    alike job by job. A handler that calls ``done`` for each job as it ends lets that job be
    recorded (and its slot freed) without waiting for the batch's slowest job; one that does
    not is recorded when the batch returns.
    """

    async def __call__(self, job: Job) -> Any: ...

    async def run_batch(
        self, jobs: Sequence[Job], done: JobDone | None = None
    ) -> Sequence[Any]: ...


class RetryLater(Exception):
    """Park the job for `delay_s` seconds without using an attempt (e.g. a 429's Retry-After)."""

    def __init__(self, delay_s: float, reason: str = "") -> None:
        if delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        super().__init__(reason or f"retry in {delay_s:g}s")
        self.delay_s = delay_s


class PermanentFailure(Exception):
    """Fail the job now: retrying cannot help (bad input, missing connection, 4xx)."""


class PayloadRejectedError(ValueError):
    """`enqueue` refused the payload: too big, not JSON, or carrying something secret-looking."""


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a job is tried and how long it waits between tries (exponential backoff).

    A queue can hold one per job name (`make_queue(policies=…)`): an `enqueue` that does not
    pass `attempts`/`backoff_s` gets its name's policy, so every producer of a job name (the
    webhook receiver, the sweeper, a replay) retries it alike without repeating the numbers.
    """

    attempts: int = 5
    backoff_s: float = 1.0

    def resolve(self, attempts: int | None, backoff_s: float | None) -> tuple[int, float]:
        """The caller's values where given, this policy's otherwise."""
        return (
            self.attempts if attempts is None else attempts,
            self.backoff_s if backoff_s is None else backoff_s,
        )


DEFAULT_RETRY = RetryPolicy()


@dataclasses.dataclass(frozen=True, slots=True)
class KeepCompleted:
    """How long completed jobs are kept, on either queue: long enough for `get` to report a
    result and for a repeated job id to stay deduplicated, bounded so a queue that has run
    millions of jobs does not hold them all (BullMQ's ``removeOnComplete``). Failed jobs are
    dead letters: kept until replayed."""

    age_s: int = 86_400
    count: int = 10_000


KEEP_COMPLETED = KeepCompleted()


class Queue(Protocol):
    """Adds jobs and reads their state. Payloads carry ids only; the database holds the rest."""

    async def enqueue(
        self,
        name: str,
        data: Mapping[str, Any],
        *,
        job_id: str | None = None,
        delay_s: float = 0,
        attempts: int | None = None,
        backoff_s: float | None = None,
    ) -> str:
        """Add a job and return its id. With `job_id`, adding the same id twice adds one job.

        `attempts` and `backoff_s` default to the queue's policy for `name` (5 and 1 s when it
        has none)."""
        ...

    async def get(self, job_id: str) -> JobInfo | None:
        """The job's current snapshot, or None if this queue does not know the id."""
        ...

    async def close(self) -> None:
        """Release connections. The queue must not be used afterwards."""
        ...


class DeadLetters(Protocol):
    """The failed jobs of a queue (its dead-letter set) and their replay; both adapters have it."""

    async def list_failed(self, limit: int = 100) -> list[JobInfo]:
        """Failed jobs, most recently failed first."""
        ...

    async def replay(self, job_id: str) -> bool:
        """Run a failed job again with a fresh set of attempts; False if it is not failed."""
        ...


class WorkerRunner(Protocol):
    """Runs handlers for one queue until stopped."""

    async def run(self) -> None:
        """Process jobs until `stop()` is called; returns once in-flight jobs are done."""
        ...

    async def stop(self) -> None:
        """Stop taking jobs, let in-flight jobs finish, then release connections."""
        ...


def describe_failure(exc: BaseException) -> str:
    """The reason recorded for a failed attempt: the exception type and its message.

    Both adapters use it, so a failed job reads the same whichever queue ran it.
    """
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def backoff_delay_s(backoff_s: float, failures: int) -> float:
    """The wait before the next attempt after `failures` failures (exponential, like BullMQ)."""
    return float(backoff_s * 2 ** max(failures - 1, 0))


def unknown_job_reason(name: str, queue_name: str, known: Mapping[str, Handler]) -> str:
    """The failure reason for a job no handler is registered for, naming what is registered."""
    names = ", ".join(sorted(known)) or "none"
    return f"no handler for job name {name!r} on queue {queue_name!r} (registered: {names})"
