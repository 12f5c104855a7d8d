"""The Redis window: one budget for every process, counted until a window after each answer."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from tests.integration.conftest import SecondsClock

from ghl_bridge.client.resilience.window import RedisWindow


async def test_settle_moves_the_slot_to_the_answer(redis: Redis, redis_prefix: str) -> None:
    clock = SecondsClock()
    a, b = RedisWindow(redis, redis_prefix, clock), RedisWindow(redis, redis_prefix, clock)
    slow, _ = await a.take("loc", 2, 10)
    fast, _ = await b.take("loc", 2, 10)
    assert slow is not None and fast is not None
    assert (await b.take("loc", 2, 10))[0] is None  # shared: a's slot counts for b
    clock.now += 0.1
    await b.settle(fast)
    clock.now += 2.9
    await a.settle(slow)
    clock.now = 1_010.2
    taken = (await b.take("loc", 2, 10))[0]
    assert taken is not None and taken.counted == 1 and taken.taken_at == 1_010.2
    refused, wait = await b.take("loc", 2, 10)
    assert refused is None and abs(wait - 2.8) < 1e-6
    await a.spend("loc", 3)
    assert await b.count_since("loc", 1_010.2) == 4  # the new slot and the three spent now
    assert await redis.pttl(f"{redis_prefix}:window:loc") > 0  # idle sets expire


async def test_concurrent_takes_never_exceed_the_limit(redis: Redis, redis_prefix: str) -> None:
    windows = [RedisWindow(redis, redis_prefix) for _ in range(4)]
    results = await asyncio.gather(*(w.take("busy", 25, 10) for w in windows for _ in range(20)))
    assert sum(slot is not None for slot, _ in results) == 25
