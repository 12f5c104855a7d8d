"""BullMQ-specific behaviour: jobs from a foreign (Node-style) producer, and connection settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import bullmq
import pytest
from tests.integration.jobs.harness import delete_prefix, wait_for_state

from ghl_bridge.jobs import (
    ACTION_JOB,
    ACTIONS_QUEUE,
    BullMQQueue,
    BullMQWorker,
    Job,
    redis_connection_options,
)

pytestmark = pytest.mark.services


@pytest.fixture
async def prefix(redis_url: str, redis_prefix: str) -> AsyncIterator[str]:
    yield redis_prefix
    await delete_prefix(redis_url, redis_prefix)


async def test_a_job_added_by_a_raw_bullmq_producer_is_processed(
    redis_url: str, prefix: str
) -> None:
    """What a Node.js workflow engine does: `queue.add("action", {...})` with its own client."""
    seen: list[dict[str, Any]] = []

    async def run_action(job: Job) -> dict[str, Any]:
        seen.append(job.data)
        return {"contact": {"id": "c_1"}, "action": job.data["action"]}

    producer = bullmq.Queue(
        ACTIONS_QUEUE, {"connection": redis_connection_options(redis_url), "prefix": prefix}
    )
    worker = BullMQWorker(redis_url, ACTIONS_QUEUE, {ACTION_JOB: run_action}, prefix=prefix)
    ours = BullMQQueue(redis_url, ACTIONS_QUEUE, prefix=prefix)
    run = asyncio.create_task(worker.run())
    try:
        data = {
            "tenant": "tnt_1",
            "locationId": "loc_1",
            "action": "contacts.create",
            "input": {"email": "a@example.com"},
            "idempotencyKey": "idem-1",
        }
        raw = await producer.add(ACTION_JOB, data, {"attempts": 3})
        info = await wait_for_state(ours, str(raw.id), {"completed"})
        stored = await bullmq.Job.fromId(producer, raw.id)
    finally:
        await worker.stop()
        await asyncio.wait_for(run, 10)
        await producer.close()
        await ours.close()

    assert seen == [data]
    assert info.result == {"contact": {"id": "c_1"}, "action": "contacts.create"}
    assert stored is not None
    assert stored.returnvalue == info.result


async def test_a_stopped_worker_stays_stopped(redis_url: str, prefix: str) -> None:
    worker = BullMQWorker(redis_url, "stop-test", {}, prefix=prefix)
    await worker.stop()
    await asyncio.wait_for(worker.run(), 2)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", {"host": "127.0.0.1", "port": 6379, "db": 0}),
        ("redis://cache.internal", {"host": "cache.internal", "port": 6379, "db": 0}),
        (
            "redis://worker:p%40ss@redis:6380/3",
            {"host": "redis", "port": 6380, "db": 3, "username": "worker", "password": "p@ss"},
        ),
        ("rediss://:secret@redis:6390/1", {"password": "secret", "ssl": True, "db": 1}),
    ],
)
def test_redis_urls_become_bullmq_connection_options(url: str, expected: dict[str, Any]) -> None:
    options = redis_connection_options(url)
    assert options["socket_timeout"] is None
    for key, value in expected.items():
        assert options[key] == value


@pytest.mark.parametrize("url", ["unix:///tmp/redis.sock", "redis://host/zero", "http://x"])
def test_unsupported_redis_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="Redis"):
        redis_connection_options(url)
