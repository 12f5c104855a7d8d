"""Background jobs: one queue port, two adapters (DESIGN §2).

`inprocess` keeps jobs as rows in the database (embedded mode, one process); `bullmq` uses
BullMQ on Redis (distributed mode, N workers, and the contract Node.js producers use). Code
outside this package builds queues and workers through `make_queue` / `make_worker` and only
depends on the `Queue` and `WorkerRunner` protocols.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ghl_bridge.jobs.names import (
    ACTION_JOB,
    ACTIONS_QUEUE,
    EVENTS_QUEUE,
    WEBHOOK_PROCESS_JOB,
)
from ghl_bridge.jobs.payload import MAX_PAYLOAD_BYTES, SECRET_KEY_MARKERS, encode_payload
from ghl_bridge.jobs.port import (
    DeadLetters,
    Handler,
    Job,
    JobInfo,
    JobState,
    PayloadRejectedError,
    PermanentFailure,
    Queue,
    RetryLater,
    RetryPolicy,
    WorkerRunner,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from ghl_bridge.jobs.bullmq import (
        BullJobOptions,
        BullMQQueue,
        BullMQWorker,
        BullWorkerSettings,
        redis_connection_options,
    )
    from ghl_bridge.jobs.inprocess import InProcessQueue, InProcessWorker

# The adapters pull in SQLAlchemy or BullMQ (about half a second of imports); handlers that only
# need the port types should not pay for that, so the adapters load on first use.
_LAZY = {
    "BullJobOptions": "ghl_bridge.jobs.bullmq",
    "BullMQQueue": "ghl_bridge.jobs.bullmq",
    "BullMQWorker": "ghl_bridge.jobs.bullmq",
    "BullWorkerSettings": "ghl_bridge.jobs.bullmq",
    "redis_connection_options": "ghl_bridge.jobs.bullmq",
    "InProcessQueue": "ghl_bridge.jobs.inprocess",
    "InProcessWorker": "ghl_bridge.jobs.inprocess",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


QueueKind = Literal["inprocess", "bullmq"]


def make_queue(
    kind: QueueKind,
    *,
    queue_name: str,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    redis_url: str | None = None,
    prefix: str = "bull",
    policies: Mapping[str, RetryPolicy] | None = None,
    database_url: str | None = None,
) -> Queue:
    """Build the producer side of `queue_name` for the configured mode; `policies` are the
    retry policies of its job names (see `RetryPolicy`). For `inprocess`, `database_url` lets
    its commits wake the workers of other processes on this host (`HostWake`)."""
    if kind == "inprocess":
        if sessionmaker is None:
            raise ValueError("the inprocess queue needs a sessionmaker")
        from ghl_bridge.jobs.host_wake import HostWake
        from ghl_bridge.jobs.inprocess import InProcessQueue

        wake = HostWake.for_queue(database_url, queue_name) if database_url else None
        return InProcessQueue(sessionmaker, queue_name, policies=policies, wake=wake)
    if kind == "bullmq":
        if redis_url is None:
            raise ValueError("the bullmq queue needs a redis_url")
        from ghl_bridge.jobs.bullmq import BullMQQueue

        return BullMQQueue(redis_url, queue_name, prefix=prefix, policies=policies)
    raise ValueError(f"unknown queue kind {kind!r}")


def make_worker(
    kind: QueueKind,
    *,
    queue_name: str,
    handlers: Mapping[str, Handler],
    queue: Queue | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    redis_url: str | None = None,
    concurrency: int | None = None,
    prefix: str = "bull",
) -> WorkerRunner:
    """Build the worker for `queue_name`.

    For `inprocess`, pass the `InProcessQueue` the producers use as `queue`: its enqueues then
    wake the worker at once instead of at the next poll.
    """
    if kind == "inprocess":
        from ghl_bridge.jobs.inprocess import InProcessQueue, InProcessWorker

        if isinstance(queue, InProcessQueue) and queue.name == queue_name:
            source = queue
        elif sessionmaker is not None:
            source = InProcessQueue(sessionmaker, queue_name)
        else:
            raise ValueError("the inprocess worker needs its InProcessQueue or a sessionmaker")
        return InProcessWorker(source, handlers, concurrency=concurrency or 4)
    if kind == "bullmq":
        if redis_url is None:
            raise ValueError("the bullmq worker needs a redis_url")
        from ghl_bridge.jobs.bullmq import BullMQWorker

        return BullMQWorker(
            redis_url, queue_name, handlers, concurrency=concurrency or 8, prefix=prefix
        )
    raise ValueError(f"unknown queue kind {kind!r}")


__all__ = [
    "ACTIONS_QUEUE",
    "ACTION_JOB",
    "EVENTS_QUEUE",
    "MAX_PAYLOAD_BYTES",
    "SECRET_KEY_MARKERS",
    "WEBHOOK_PROCESS_JOB",
    "BullJobOptions",
    "BullMQQueue",
    "BullMQWorker",
    "BullWorkerSettings",
    "DeadLetters",
    "Handler",
    "InProcessQueue",
    "InProcessWorker",
    "Job",
    "JobInfo",
    "JobState",
    "PayloadRejectedError",
    "PermanentFailure",
    "Queue",
    "QueueKind",
    "RetryLater",
    "RetryPolicy",
    "WorkerRunner",
    "encode_payload",
    "make_queue",
    "make_worker",
    "redis_connection_options",
]
