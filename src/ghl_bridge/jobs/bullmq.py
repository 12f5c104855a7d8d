"""The queue port on BullMQ (Redis), for the distributed mode.

Jobs added here are ordinary BullMQ jobs, so a Node.js producer and our worker interoperate
(DESIGN §3). The settings follow research/deps.md §4, where each one fixes a measured bug of
bullmq 3.4.4 with redis-py 8:
- `socket_timeout=None` on every connection: redis-py 8 defaults to 5 s, which equals BullMQ's
  blocking-wait length, so idle workers time out client-side and pick jobs up seconds late;
- `drainDelay=1`: the worker ignores the limiter's reset time and sleeps `drainDelay` instead;
- backoff delays of at least 1 s: shorter ones are rounded up anyway;
- `autorun=False` + `await worker.run()`: the constructor would otherwise start a task itself.
BullMQ's options are untyped camelCase dicts where a typo is silently ignored, so they are
built only from the typed dataclasses below.
"""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final, NoReturn

import bullmq
import structlog

from ghl_bridge.jobs.outcome import Completed, Failed, Parked, run_attempt
from ghl_bridge.jobs.payload import check_job_id, check_options, encode_payload
from ghl_bridge.jobs.port import (
    DEFAULT_RETRY,
    KEEP_COMPLETED,
    Handler,
    Job,
    JobInfo,
    JobState,
    RetryPolicy,
)

_log = structlog.get_logger(__name__)

DEFAULT_PREFIX: Final = "bull"
MIN_BACKOFF_MS: Final = 1000

_STATES: Final[Mapping[str, JobState]] = {
    "waiting": "waiting",
    "prioritized": "waiting",
    "waiting-children": "waiting",
    "delayed": "delayed",
    "active": "active",
    "completed": "completed",
    "failed": "failed",
}


def redis_connection_options(redis_url: str) -> dict[str, Any]:
    """Turn a redis-py URL (`redis[s]://[user:password@]host[:port][/db]`) into BullMQ's dict.

    BullMQ builds its own clients, one per connection role, from these keyword arguments; a
    URL string would bypass our `socket_timeout=None`.
    """
    parts = urllib.parse.urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r} (redis:// or rediss://)")
    db_text = parts.path.lstrip("/") or "0"
    if not db_text.isdigit():
        raise ValueError(f"Redis database must be a number, got {db_text!r}")
    options: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(db_text),
        "username": urllib.parse.unquote(parts.username) if parts.username else None,
        "password": urllib.parse.unquote(parts.password) if parts.password else None,
        "socket_timeout": None,
    }
    if parts.scheme == "rediss":
        options["ssl"] = True
    return options


@dataclasses.dataclass(frozen=True, slots=True)
class BullJobOptions:
    """Per-job options; `to_bullmq` produces BullMQ's `JobOptions` dict.

    Completed jobs are kept for a day (bounded in count) so `get` can still report results and
    a repeated `job_id` is still deduplicated; failed jobs are kept until replayed or cleaned.
    """

    attempts: int = 5
    backoff_s: float = 1.0
    delay_s: float = 0
    job_id: str | None = None
    keep_completed_s: int = KEEP_COMPLETED.age_s
    keep_completed_count: int = KEEP_COMPLETED.count

    def to_bullmq(self) -> dict[str, Any]:
        backoff_ms = max(MIN_BACKOFF_MS, round(self.backoff_s * 1000))
        options: dict[str, Any] = {
            "attempts": self.attempts,
            "backoff": {"type": "exponential", "delay": backoff_ms},
            "removeOnComplete": {"age": self.keep_completed_s, "count": self.keep_completed_count},
        }
        if self.delay_s > 0:
            options["delay"] = round(self.delay_s * 1000)
        if self.job_id is not None:
            options["jobId"] = self.job_id
        return options


@dataclasses.dataclass(frozen=True, slots=True)
class BullWorkerSettings:
    """Worker options; `to_bullmq` produces BullMQ's `WorkerOptions` dict with the fixes above."""

    concurrency: int = 8
    drain_delay_s: int = 1
    lock_duration_ms: int = 30_000
    stalled_interval_ms: int = 30_000
    max_stalled_count: int = 1
    name: str | None = None

    def to_bullmq(self, connection: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        options: dict[str, Any] = {
            "connection": dict(connection),
            "prefix": prefix,
            "autorun": False,
            "concurrency": self.concurrency,
            "drainDelay": self.drain_delay_s,
            "lockDuration": self.lock_duration_ms,
            "stalledInterval": self.stalled_interval_ms,
            "maxStalledCount": self.max_stalled_count,
        }
        if self.name is not None:
            options["name"] = self.name
        return options


class BullMQQueue:
    """`Queue` and `DeadLetters` on a BullMQ queue; `job_id` is BullMQ's deduplicating `jobId`."""

    def __init__(
        self,
        redis_url: str,
        queue_name: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        policies: Mapping[str, RetryPolicy] | None = None,
    ) -> None:
        self.name = queue_name
        self.policies: Mapping[str, RetryPolicy] = dict(policies or {})
        self._queue = bullmq.Queue(
            queue_name, {"connection": redis_connection_options(redis_url), "prefix": prefix}
        )

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
        """Add a job; with an existing `job_id`, BullMQ keeps the first and returns its id."""
        policy = self.policies.get(name, DEFAULT_RETRY)
        attempts, backoff_s = policy.resolve(attempts, backoff_s)
        check_options(delay_s=delay_s, attempts=attempts, backoff_s=backoff_s)
        encode_payload(data)
        options = BullJobOptions(
            attempts=attempts,
            backoff_s=backoff_s,
            delay_s=delay_s,
            job_id=None if job_id is None else check_job_id(job_id),
        )
        job = await self._queue.add(name, dict(data), options.to_bullmq())
        return str(job.id)

    async def get(self, job_id: str) -> JobInfo | None:
        """The job's snapshot; the state is read first so `completed` always has its result."""
        state = await self._queue.getJobState(job_id)
        job = await self._queue.getJob(job_id)
        return None if job is None else _info(job, _STATES.get(str(state), "unknown"))

    async def list_failed(self, limit: int = 100) -> list[JobInfo]:
        return [_info(job, "failed") for job in await self._queue.getFailed(0, limit - 1)]

    async def replay(self, job_id: str) -> bool:
        job = await self._queue.getJob(job_id)
        if job is None or await self._queue.getJobState(job_id) != "failed":
            return False
        await job.retry("failed", {"resetAttemptsMade": True, "resetAttemptsStarted": True})
        return True

    async def close(self) -> None:
        await self._queue.close()


def _info(job: bullmq.Job, state: JobState) -> JobInfo:
    return JobInfo(
        id=str(job.id),
        name=str(job.name),
        state=state,
        data=job.data if isinstance(job.data, dict) else {},
        attempts_made=int(job.attemptsMade),
        progress=job.progress,
        result=job.returnvalue,
        failed_reason=job.failedReason,
    )


class _AttemptFailedError(Exception):
    """Carries our failure reason into BullMQ, which records `str(error)` as `failedReason`."""


class BullMQWorker:
    """`WorkerRunner` on a BullMQ worker; handlers see our `Job`, never BullMQ's."""

    def __init__(
        self,
        redis_url: str,
        queue_name: str,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 8,
        prefix: str = DEFAULT_PREFIX,
        settings: BullWorkerSettings | None = None,
    ) -> None:
        self.name = queue_name
        self._handlers = dict(handlers)
        chosen = settings or BullWorkerSettings(concurrency=concurrency)
        options = chosen.to_bullmq(redis_connection_options(redis_url), prefix)
        self._worker = bullmq.Worker(queue_name, self._process, options)
        self._worker.on("error", self._on_error)
        self._stopped = False

    async def run(self) -> None:
        """Process jobs until `stop()`.

        Asking the blocking connection for the Redis version first lets BullMQ use fractional
        block timeouts (its `canDoubleTimeout`); otherwise every delay is rounded up to whole
        seconds (deps.md §4, bug 3).
        """
        if self._stopped:
            return  # closed connections cannot be reused: a stopped worker stays stopped
        blocking = self._worker.blockingRedisConnection
        if blocking is not None:
            await blocking.getRedisVersion()
        if not self._stopped:
            await self._worker.run()

    async def stop(self) -> None:
        """Stop fetching, wait for in-flight jobs, close connections."""
        if self._stopped:
            return
        self._stopped = True
        await self._worker.close()

    async def _process(self, raw: bullmq.Job, token: str) -> Any:
        if not isinstance(raw.data, dict):
            raise bullmq.UnrecoverableError("job data must be a JSON object")
        job = Job(
            id=str(raw.id),
            name=str(raw.name),
            data=raw.data,
            attempt=int(raw.attemptsMade) + 1,
            report=raw.updateProgress,
            # A Node producer may leave `attempts` out: BullMQ then tries the job once.
            max_attempts=int(raw.opts.get("attempts") or 1),
        )
        outcome = await run_attempt(self._handlers, self.name, job)
        if isinstance(outcome, Completed):
            return outcome.result
        if isinstance(outcome, Parked):
            await raw.moveToDelayed(round(time.time() * 1000 + outcome.delay_s * 1000), token)
            raise bullmq.DelayedError()
        self._raise_failure(outcome)

    @staticmethod
    def _raise_failure(outcome: Failed) -> NoReturn:
        """Raise what makes BullMQ record `outcome`: no retry for a permanent failure."""
        error_type = bullmq.UnrecoverableError if outcome.permanent else _AttemptFailedError
        raise error_type(outcome.reason) from outcome.error

    def _on_error(self, error: BaseException, *_: Any) -> None:
        _log.error("bullmq worker error", queue=self.name, exc_info=error)
