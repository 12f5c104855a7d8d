"""The cross-process refresh lock: exclusive, and a lapsed holder cannot free its successor."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from ghl_bridge.oauth.refresh_lock import AdvisoryRefreshLock, RedisRefreshLock
from ghl_bridge.store.db import make_engine


@pytest.mark.services
async def test_redis_lock_is_exclusive_and_lapsed_holders_do_not_free_others(
    redis_url: str, redis_prefix: str
) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    short = RedisRefreshLock(redis, redis_prefix, lease_s=0.2)
    order: list[str] = []
    try:
        async with short.hold("loc"):
            order.append("a-in")
            await asyncio.sleep(0.3)  # the lease lapses while A still works
            async with short.hold("loc"):  # B gets it...
                order.append("b-in")
                # ...and A leaving (compare-and-delete) must not free B's lease:
                key = f"{redis_prefix}:refresh-lock:loc"
                assert await redis.get(key) is not None
        assert order == ["a-in", "b-in"]
        normal = RedisRefreshLock(redis, redis_prefix)
        inside = 0

        async def hold() -> None:
            nonlocal inside
            async with normal.hold("loc2"):
                inside += 1
                assert inside == 1
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(hold() for _ in range(10)))
    finally:
        await redis.aclose()


@pytest.mark.services
async def test_advisory_lock_is_exclusive_across_engines(pg_url: str) -> None:
    engines = [make_engine(pg_url), make_engine(pg_url)]
    locks = [AdvisoryRefreshLock(e) for e in engines]
    inside = 0

    async def hold(lock: AdvisoryRefreshLock) -> None:
        nonlocal inside
        async with lock.hold("loc"):
            inside += 1
            assert inside == 1
            await asyncio.sleep(0.02)
            inside -= 1

    try:
        await asyncio.gather(*(hold(locks[i % 2]) for i in range(8)))
    finally:
        for engine in engines:
            await engine.dispose()
