"""The Redis-backed budget is shared: what one process learns or spends, another respects."""

from __future__ import annotations

import time

import pytest

from ghl_bridge.client.errors import RateBudgetExhausted
from ghl_bridge.client.resilience.limiter import BudgetLimiter


async def test_two_limiters_share_one_window_and_board(redis_url: str, redis_prefix: str) -> None:
    a = BudgetLimiter(3, 1000, redis_url=redis_url, prefix=redis_prefix)
    b = BudgetLimiter(3, 1000, redis_url=redis_url, prefix=redis_prefix)
    try:
        deadline = time.time() + 0.05
        await a.acquire("loc", deadline=deadline)
        await a.acquire("loc", deadline=deadline)
        await b.acquire("loc", deadline=deadline)
        with pytest.raises(RateBudgetExhausted):
            await b.acquire("loc", deadline=deadline)
        await a.observe(
            "loc2", {"X-RateLimit-Daily-Remaining": "0", "X-RateLimit-Daily-Reset": "3600000"}
        )
        with pytest.raises(RateBudgetExhausted, match="daily budget"):
            await b.acquire("loc2", deadline=time.time() + 5)
        await a.pause("loc3", 30)
        with pytest.raises(RateBudgetExhausted, match="pause"):
            await b.acquire("loc3", deadline=time.time() + 1)
    finally:
        await a.aclose()
        await b.aclose()
