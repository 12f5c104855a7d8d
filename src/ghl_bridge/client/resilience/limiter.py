"""Per-resource rate limiting: a moving window under GHL's budget, tightened by GHL's headers.

GHL allows 100 requests per 10 s per app per resource. We keep our own moving window (exact, as
measured in research/deps.md; a leaky bucket overshoots) and also obey what GHL tells us: when
``X-RateLimit-Remaining`` reaches 0, or a 429 arrives, the resource is paused for the window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from ghl_bridge.client import facts
from ghl_bridge.client.errors import RateBudgetExhausted


class RateLimiter(Protocol):
    """Grants permission to send one request for a resource, waiting if needed."""

    async def acquire(self, key: str, *, deadline: float) -> None:
        """Wait for a slot; raise RateBudgetExhausted if none frees up before ``deadline``."""
        ...

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        """Feed GHL's ``X-RateLimit-*`` headers back in."""
        ...

    def pause(self, key: str, seconds: float) -> None:
        """Block ``key`` for ``seconds`` (after a 429)."""
        ...


def parse_rate(text: str) -> tuple[int, int]:
    """``"100/10s"`` → ``(100, 10_000)``: requests per window in ms. Also ``N/500ms``, ``N/1m``."""
    count, _, window = text.strip().partition("/")
    units = {"ms": 1, "s": 1000, "m": 60_000}
    for suffix in ("ms", "s", "m"):
        if window.endswith(suffix):
            number = window[: -len(suffix)] or "1"
            try:
                max_requests, window_ms = int(count), round(float(number) * units[suffix])
            except ValueError:
                break
            if max_requests > 0 and window_ms >= 1000:
                return max_requests, window_ms
            break
    raise ValueError(f"rate limit {text!r} is not like '100/10s' (window of at least 1 s)")


def header_pause_s(headers: Mapping[str, str]) -> float | None:
    """How long GHL's headers say to hold off, or None if they allow more requests.

    Pure: the burst window when the burst budget is spent, the daily reset when the day's is.
    """
    daily_left = _int(headers.get(facts.HEADER_RL_DAILY_REMAINING))
    if daily_left is not None and daily_left <= 0:
        reset_ms = _int(headers.get(facts.HEADER_RL_DAILY_RESET))
        if reset_ms is not None:
            return reset_ms / 1000
    remaining = _int(headers.get(facts.HEADER_RL_REMAINING))
    if remaining is not None and remaining <= 0:
        interval = _int(headers.get(facts.HEADER_RL_INTERVAL_MS)) or facts.BURST_WINDOW_MS
        return interval / 1000
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class MemoryRateLimiter:
    """In-process limiter for the embedded mode (one process owns all calls)."""

    def __init__(
        self,
        max_requests: int = facts.BURST_MAX,
        window_ms: int = facts.BURST_WINDOW_MS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._item = RateLimitItemPerSecond(max_requests, max(1, round(window_ms / 1000)))
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._paused_until: dict[str, float] = {}
        self._queues: dict[str, asyncio.Lock] = {}
        self._clock = clock

    async def acquire(self, key: str, *, deadline: float) -> None:
        # One waiter per resource at a time, in arrival order: without it every waiter wakes
        # at the window's reset and races, and an unlucky caller starves for seconds.
        async with self._queues.setdefault(key, asyncio.Lock()):
            await self._acquire(key, deadline)

    async def _acquire(self, key: str, deadline: float) -> None:
        while True:
            wait = self._paused_until.get(key, 0.0) - self._clock()
            if wait <= 0:
                if await self._limiter.hit(self._item, key):
                    return
                stats = await self._limiter.get_window_stats(self._item, key)
                wait = max(0.01, stats.reset_time - time.time())
            if self._clock() + wait > deadline:
                raise RateBudgetExhausted(
                    f"no rate-limit slot for {key} within the deadline (next in {wait:.1f}s)"
                )
            await asyncio.sleep(wait)

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        pause = header_pause_s(headers)
        if pause is not None:
            self.pause(key, pause)

    def pause(self, key: str, seconds: float) -> None:
        until = self._clock() + seconds
        if until > self._paused_until.get(key, 0.0):
            self._paused_until[key] = until
