"""Helpers shared by the queue tests: build each adapter, run workers, await outcomes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ghl_bridge.jobs import (
    BullMQQueue,
    BullMQWorker,
    DeadLetters,
    Handler,
    InProcessQueue,
    InProcessWorker,
    JobInfo,
    Queue,
    WorkerRunner,
)
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.migrate import upgrade

QUEUE_NAME = "test-queue"


class FullQueue(Queue, DeadLetters, Protocol):
    """What both adapters offer: the queue port plus its dead-letter set."""


@dataclass
class Backend:
    """One adapter under test: its queue, a way to run workers, and its backoff granularity."""

    kind: str
    queue: FullQueue
    make_worker: Callable[[Mapping[str, Handler]], WorkerRunner]
    backoff_s: float
    """The smallest backoff the adapter honours (BullMQ rounds anything below 1 s up)."""

    @asynccontextmanager
    async def worker(self, handlers: Mapping[str, Handler]) -> AsyncIterator[WorkerRunner]:
        """Run a worker for the duration of the block, then stop it gracefully."""
        runner = self.make_worker(handlers)
        task = asyncio.create_task(runner.run())
        try:
            yield runner
        finally:
            await runner.stop()
            await asyncio.wait_for(task, 10)


@asynccontextmanager
async def running(worker: InProcessWorker) -> AsyncIterator[InProcessWorker]:
    """Run an in-process worker for the block, then stop it gracefully."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await worker.stop()
        await asyncio.wait_for(task, 10)


def fast_worker(
    queue: InProcessQueue,
    handlers: Mapping[str, Handler],
    *,
    concurrency: int = 4,
    poll_interval_s: float = 0.02,
    lease_s: float = 30.0,
) -> InProcessWorker:
    """An in-process worker that polls often (tests wait on it)."""
    return InProcessWorker(
        queue, handlers, concurrency=concurrency, poll_interval_s=poll_interval_s, lease_s=lease_s
    )


async def wait_until(
    queue: Queue, job_id: str, predicate: Callable[[JobInfo], bool], timeout_s: float = 10.0
) -> JobInfo:
    """Poll `get` until `predicate` holds: the job's state lives in the store (a table or
    Redis), which offers nothing to await."""
    deadline = time.monotonic() + timeout_s
    info = await queue.get(job_id)
    while info is None or not predicate(info):
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never reached the expected state; last: {info}")
        await asyncio.sleep(0.01)
        info = await queue.get(job_id)
    return info


async def wait_for_state(
    queue: Queue, job_id: str, states: Collection[str], timeout_s: float = 10.0
) -> JobInfo:
    """Poll `get` until the job reaches one of `states`."""
    return await wait_until(queue, job_id, lambda info: info.state in states, timeout_s)


async def migrated_engine(url: str) -> AsyncEngine:
    await upgrade(url)
    return make_engine(url)


@asynccontextmanager
async def inprocess_backend(url: str) -> AsyncIterator[Backend]:
    engine = await migrated_engine(url)
    queue = InProcessQueue(make_sessionmaker(engine), QUEUE_NAME)

    def make(handlers: Mapping[str, Handler]) -> WorkerRunner:
        return InProcessWorker(queue, handlers, concurrency=4, poll_interval_s=0.05, lease_s=30)

    try:
        yield Backend("inprocess", queue, make, backoff_s=0.1)
    finally:
        await queue.close()
        await engine.dispose()


async def delete_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@asynccontextmanager
async def bullmq_backend(redis_url: str, prefix: str) -> AsyncIterator[Backend]:
    queue = BullMQQueue(redis_url, QUEUE_NAME, prefix=prefix)

    def make(handlers: Mapping[str, Handler]) -> WorkerRunner:
        return BullMQWorker(redis_url, QUEUE_NAME, handlers, concurrency=4, prefix=prefix)

    try:
        yield Backend("bullmq", queue, make, backoff_s=1.0)
    finally:
        await queue.close()
        await delete_prefix(redis_url, prefix)


class Calls:
    """Records handler invocations so tests can await them instead of sleeping."""

    def __init__(self) -> None:
        self.items: list[tuple[float, dict[str, Any], int]] = []
        self._changed = asyncio.Condition()

    async def add(self, data: dict[str, Any], attempt: int) -> None:
        async with self._changed:
            self.items.append((time.monotonic(), data, attempt))
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.items) >= count), timeout_s
            )

    def __len__(self) -> int:
        return len(self.items)
