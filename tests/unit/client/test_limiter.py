from __future__ import annotations

import asyncio
import time

import pytest

from ghl_bridge.client.errors import RateBudgetExhausted
from ghl_bridge.client.resilience.limiter import MemoryRateLimiter, header_pause_s


def test_header_pause_when_burst_spent() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "10000"}
    assert header_pause_s(headers) == 10.0


def test_header_lookup_is_case_insensitive_with_a_multidict() -> None:
    from multidict import CIMultiDict

    headers = CIMultiDict(
        {"x-ratelimit-remaining": "0", "x-ratelimit-interval-milliseconds": "1000"}
    )
    assert header_pause_s(headers) == 1.0


def test_header_pause_when_daily_spent_uses_daily_reset() -> None:
    headers = {
        "X-RateLimit-Remaining": "40",
        "X-RateLimit-Daily-Remaining": "0",
        "X-RateLimit-Daily-Reset": "72750000",
    }
    assert header_pause_s(headers) == 72750.0


@pytest.mark.parametrize(
    "headers", [{}, {"X-RateLimit-Remaining": "5"}, {"X-RateLimit-Remaining": "junk"}]
)
def test_no_pause_while_budget_left(headers: dict[str, str]) -> None:
    assert header_pause_s(headers) is None


async def test_moving_window_admits_max_then_refuses_before_deadline() -> None:
    limiter = MemoryRateLimiter(3, 1000)
    deadline = time.monotonic() + 0.05
    for _ in range(3):
        await limiter.acquire("loc", deadline=deadline)
    with pytest.raises(RateBudgetExhausted):
        await limiter.acquire("loc", deadline=deadline)
    await limiter.acquire("other-location", deadline=deadline)  # budgets are per resource


async def test_pause_blocks_until_it_passes() -> None:
    limiter = MemoryRateLimiter(100, 10_000)
    limiter.pause("loc", 0.2)
    started = time.monotonic()
    await asyncio.wait_for(limiter.acquire("loc", deadline=started + 5), 5)
    assert time.monotonic() - started >= 0.19
