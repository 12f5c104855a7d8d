from __future__ import annotations

import asyncio
import time

import pytest
from multidict import CIMultiDict

from ghl_bridge.client.errors import RateBudgetExhausted
from ghl_bridge.client.resilience.gate import Lane
from ghl_bridge.client.resilience.limiter import BudgetLimiter, header_pause_s, parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_spent_burst_window_is_no_reason_to_pause() -> None:
    """Remaining 0 on a success: the window frees slot by slot, as ours does."""
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "10000"}
    assert header_pause_s(headers) is None


def test_header_lookup_is_case_insensitive_with_a_multidict() -> None:
    headers = CIMultiDict({"x-ratelimit-daily-remaining": "0", "x-ratelimit-daily-reset": "1000"})
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100/10s", (100, 10_000)), ("25/10s", (25, 10_000)), ("600/1m", (600, 60_000))],
)
def test_parse_rate(text: str, expected: tuple[int, int]) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["", "100", "0/10s", "10/500ms", "x/10s", "10/10h"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


async def test_moving_window_admits_max_then_refuses_before_deadline() -> None:
    limiter = BudgetLimiter(3, 1000)
    deadline = time.time() + 0.05
    for _ in range(3):
        await limiter.acquire("loc", deadline=deadline)
    with pytest.raises(RateBudgetExhausted):
        await limiter.acquire("loc", deadline=deadline)
    await limiter.acquire("other-location", deadline=deadline)  # budgets are per resource


async def test_pause_blocks_until_it_passes() -> None:
    limiter = BudgetLimiter(100, 10_000)
    await limiter.pause("loc", 0.2)
    started = time.monotonic()
    await asyncio.wait_for(limiter.acquire("loc", deadline=time.time() + 5), 5)
    assert time.monotonic() - started >= 0.19


async def test_spent_daily_budget_is_refused_at_once_when_reset_is_after_deadline() -> None:
    limiter = BudgetLimiter(100, 10_000)
    await limiter.observe(
        "loc", {"X-RateLimit-Daily-Remaining": "0", "X-RateLimit-Daily-Reset": "3600000"}
    )
    started = time.monotonic()
    with pytest.raises(RateBudgetExhausted, match="daily budget"):
        await limiter.acquire("loc", deadline=time.time() + 30)
    assert time.monotonic() - started < 1  # refused early, not after waiting


async def test_daily_budget_counts_down_between_headers() -> None:
    limiter = BudgetLimiter(100, 10_000)
    await limiter.observe(
        "loc", {"X-RateLimit-Daily-Remaining": "2", "X-RateLimit-Daily-Reset": "3600000"}
    )
    await limiter.acquire("loc", deadline=time.time() + 1)
    await limiter.acquire("loc", deadline=time.time() + 1)
    with pytest.raises(RateBudgetExhausted, match="daily budget"):
        await limiter.acquire("loc", deadline=time.time() + 1)


async def test_stricter_limit_from_headers_is_learned() -> None:
    limiter = BudgetLimiter(100, 1000)
    await limiter.observe(
        "loc", {"X-RateLimit-Max": "2", "X-RateLimit-Interval-Milliseconds": "1000"}
    )
    deadline = time.time() + 0.05
    await limiter.acquire("loc", deadline=deadline)
    await limiter.acquire("loc", deadline=deadline)
    with pytest.raises(RateBudgetExhausted):
        await limiter.acquire("loc", deadline=deadline)


async def test_slots_spent_by_others_are_counted() -> None:
    """GHL says 1 left of 5 though we sent 1: another process or app spent 3."""
    limiter = BudgetLimiter(5, 1000)
    deadline = time.time() + 0.05
    slot = await limiter.acquire("loc", deadline=deadline)
    await limiter.settle(slot)
    await limiter.observe("loc", {"X-RateLimit-Remaining": "1", "X-RateLimit-Max": "5"}, slot)
    await limiter.acquire("loc", deadline=deadline)
    with pytest.raises(RateBudgetExhausted):
        await limiter.acquire("loc", deadline=deadline)


async def test_our_own_requests_that_left_the_window_are_not_taken_for_others() -> None:
    """GHL counted 3 of ours that our window, read later, no longer holds: no phantom spend."""
    clock = Clock()
    limiter = BudgetLimiter(4, 1000, clock=clock)
    deadline = clock.now + 60
    for _ in range(3):
        await limiter.settle(await limiter.acquire("loc", deadline=deadline))
    clock.now += 0.9
    slot = await limiter.acquire("loc", deadline=deadline)  # GHL sees 4 of 4 at its arrival
    clock.now += 0.2  # the answer comes late: the first three have left our window
    await limiter.settle(slot)
    await limiter.observe("loc", {"X-RateLimit-Remaining": "1", "X-RateLimit-Max": "4"}, slot)
    for _ in range(3):  # their slots are free again; nothing was added for "others"
        await limiter.acquire("loc", deadline=clock.now + 0.001)


async def test_bulk_leaves_a_reserve_for_interactive() -> None:
    limiter = BudgetLimiter(10, 1000, bulk_reserve=0.2)
    deadline = time.time() + 0.05
    for _ in range(8):
        await limiter.acquire("loc", deadline=deadline, lane=Lane.BULK)
    with pytest.raises(RateBudgetExhausted, match="interactive"):
        await limiter.acquire("loc", deadline=deadline, lane=Lane.BULK)
    await limiter.acquire("loc", deadline=deadline)  # interactive still finds room
    await limiter.acquire("loc", deadline=deadline)


async def test_interactive_waiters_go_before_bulk_waiters() -> None:
    limiter = BudgetLimiter(1, 1000)
    order: list[str] = []
    deadline = time.time() + 10
    await limiter.acquire("loc", deadline=deadline)  # the window is now full

    async def take(name: str, lane: Lane) -> None:
        await limiter.acquire("loc", deadline=deadline, lane=lane)
        order.append(name)

    bulk = [asyncio.create_task(take(f"bulk{i}", Lane.BULK)) for i in range(2)]
    await asyncio.sleep(0.01)
    interactive = asyncio.create_task(take("click", Lane.INTERACTIVE))
    await asyncio.wait_for(interactive, 5)
    for task in bulk:
        task.cancel()
    assert order == ["click"]
