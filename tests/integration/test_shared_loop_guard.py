"""The trigger-loop guard with its counts in Redis: every worker process counts into one
window, re-runs are not counted, a hold lasts a window, and without Redis each process falls
back to its own counts instead of routing unguarded."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from tests.integration.conftest import SecondsClock

from ghl_bridge.events.loop_guard import RedisLoopGuard, loops_held


def _guards(
    redis: Redis,
    prefix: str,
    clock: SecondsClock,
    registry: CollectorRegistry,
    window_s: float = 60,
) -> tuple[RedisLoopGuard, RedisLoopGuard]:
    """Two workers' guards on one Redis."""
    return tuple(  # type: ignore[return-value]
        RedisLoopGuard(
            redis, prefix=prefix, limit=3, window_s=window_s, clock=clock, registry=registry
        )
        for _ in range(2)
    )


async def test_two_workers_share_one_count(redis: Redis, redis_prefix: str) -> None:
    clock, registry = SecondsClock(), CollectorRegistry()
    a, b = _guards(redis, redis_prefix, clock, registry)
    decisions = []
    for n in range(5):  # the loop's events land on either worker
        guard = a if n % 2 == 0 else b
        [ok] = await guard.allow_many([("sub1", "contact1", f"evt{n}")])
        decisions.append(ok)
    assert decisions == [True, True, True, False, False]  # held after the limit, in total
    assert await a.allow_many([("sub1", "contact2", "evt9"), ("sub2", "contact1", "evt9")]) == [
        True,
        True,
    ]  # other records and other rules carry on
    assert await b.allow_many([("sub1", None, "evt10")]) == [True]  # no record: not guarded
    assert loops_held(registry)._value.get() == 2
    seen = f"{redis_prefix}:loop:sub1:contact1:seen"
    assert 0 < await redis.pttl(seen) <= 60_000  # idle counts expire after a window


async def test_a_rerun_is_not_counted_and_a_hold_lasts_a_window(
    redis: Redis, redis_prefix: str
) -> None:
    clock, registry = SecondsClock(), CollectorRegistry()
    a, b = _guards(redis, redis_prefix, clock, registry, window_s=0.3)
    for n in range(3):
        assert await a.allow_many([("sub1", "c", f"evt{n}")]) == [True]
    assert await b.allow_many([("sub1", "c", "evt0")]) == [True]  # a retried job: same event
    assert await b.allow_many([("sub1", "c", "evt3")]) == [False]  # the fourth: held
    await asyncio.sleep(0.4)  # the hold expires in Redis after one window
    clock.now += 0.4  # and the counted events leave the window
    assert await a.allow_many([("sub1", "c", "evt4")]) == [True]


async def test_without_redis_each_process_falls_back_to_its_own_counts() -> None:
    gone = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    guard = RedisLoopGuard(gone, limit=2, window_s=60, registry=CollectorRegistry())
    try:
        decided = [(await guard.allow_many([("s", "c", f"e{n}")]))[0] for n in range(3)]
    finally:
        await guard.aclose()
    assert decided == [True, True, False]


def test_limits_must_be_positive(redis: Redis) -> None:
    for limit, window in ((0, 60), (3, 0)):
        with pytest.raises(ValueError, match="positive"):
            RedisLoopGuard(redis, limit=limit, window_s=window)
