"""Adapter configuration that needs no server: BullMQ option dicts, factories, wake-ups."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from ghl_bridge.jobs import (
    BullJobOptions,
    BullMQQueue,
    BullMQWorker,
    BullWorkerSettings,
    InProcessQueue,
    InProcessWorker,
    make_queue,
    make_worker,
)
from ghl_bridge.jobs.inprocess import _Signal


def test_job_options_map_to_bullmq_with_a_one_second_backoff_floor() -> None:
    options = BullJobOptions(attempts=4, backoff_s=0.2, delay_s=1.5, job_id="wh-1").to_bullmq()
    assert options == {
        "attempts": 4,
        "backoff": {"type": "exponential", "delay": 1000},
        "removeOnComplete": {"age": 86_400, "count": 10_000},
        "delay": 1500,
        "jobId": "wh-1",
    }
    plain = BullJobOptions(backoff_s=3).to_bullmq()
    assert plain["backoff"] == {"type": "exponential", "delay": 3000}
    assert "delay" not in plain
    assert "jobId" not in plain


def test_worker_settings_carry_the_redis_py_8_workarounds() -> None:
    options = BullWorkerSettings(concurrency=3, name="w1").to_bullmq(
        {"host": "h", "socket_timeout": None}, "pfx"
    )
    assert options["autorun"] is False
    assert options["drainDelay"] == 1
    assert options["connection"] == {"host": "h", "socket_timeout": None}
    assert (options["prefix"], options["concurrency"], options["name"]) == ("pfx", 3, "w1")


async def test_make_queue_and_make_worker_build_the_configured_adapter() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    sessions = async_sessionmaker(engine)
    try:
        queue = make_queue("inprocess", queue_name="q", sessionmaker=sessions)
        assert isinstance(queue, InProcessQueue)
        worker = make_worker("inprocess", queue_name="q", handlers={}, queue=queue)
        assert isinstance(worker, InProcessWorker)
        fresh = make_worker("inprocess", queue_name="q", handlers={}, sessionmaker=sessions)
        assert isinstance(fresh, InProcessWorker)
    finally:
        await engine.dispose()

    redis_queue = make_queue("bullmq", queue_name="q", redis_url="redis://127.0.0.1:1/0")
    redis_worker = make_worker("bullmq", queue_name="q", handlers={}, redis_url="redis://h/0")
    assert isinstance(redis_queue, BullMQQueue)
    assert isinstance(redis_worker, BullMQWorker)
    await redis_queue.close()
    await redis_worker.stop()


def test_factories_refuse_missing_settings() -> None:
    with pytest.raises(ValueError, match="sessionmaker"):
        make_queue("inprocess", queue_name="q")
    with pytest.raises(ValueError, match="redis_url"):
        make_queue("bullmq", queue_name="q")
    with pytest.raises(ValueError, match="sessionmaker"):
        make_worker("inprocess", queue_name="q", handlers={})
    with pytest.raises(ValueError, match="redis_url"):
        make_worker("bullmq", queue_name="q", handlers={})
    with pytest.raises(ValueError, match="unknown queue kind"):
        make_queue("kafka", queue_name="q")  # type: ignore[arg-type]


async def test_a_notify_between_looking_and_waiting_is_not_lost() -> None:
    signal = _Signal()
    seen = signal.snapshot()  # the worker looks for work and finds none ...
    signal.notify()  # ... a job is enqueued before it starts waiting ...
    await asyncio.wait_for(_Signal.wait(seen, timeout_s=30), 1)  # ... and it still wakes at once


async def test_one_notify_wakes_every_waiter() -> None:
    signal = _Signal()
    waiters = [asyncio.create_task(_Signal.wait(signal.snapshot(), 30)) for _ in range(3)]
    await asyncio.sleep(0)  # let them start waiting
    signal.notify()
    await asyncio.wait_for(asyncio.gather(*waiters), 1)


async def test_waiting_without_a_notify_ends_at_the_poll_interval() -> None:
    signal = _Signal()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _Signal.wait(signal.snapshot(), 0.05)
    assert loop.time() - started >= 0.04
