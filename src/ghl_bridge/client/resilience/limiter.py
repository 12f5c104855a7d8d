"""Per-resource rate limiting: a moving window under GHL's budget, tightened by GHL's headers.

GHL allows 100 requests per 10 s and 200,000 per day per app per resource. We keep our own
moving window (exact, as measured in research/deps.md; a leaky bucket overshoots), shared across
processes through Redis when configured, and obey what GHL tells us in its headers: pauses,
the daily budget, a stricter limit, and slots that another process or app already spent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from ghl_bridge.client import facts
from ghl_bridge.client.errors import RateBudgetExhausted
from ghl_bridge.client.resilience.board import (
    Board,
    BudgetState,
    MemoryBoard,
    RedisBoard,
    parse_int,
)
from ghl_bridge.client.resilience.gate import Gate, Lane


class RateLimiter(Protocol):
    """Grants permission to send one request for a resource, waiting if needed."""

    async def acquire(self, key: str, *, deadline: float, lane: Lane = Lane.INTERACTIVE) -> None:
        """Wait for a slot; raise RateBudgetExhausted if none frees up before ``deadline``."""
        ...

    async def observe(self, key: str, headers: Mapping[str, str]) -> None:
        """Feed GHL's ``X-RateLimit-*`` headers back in."""
        ...

    async def pause(self, key: str, seconds: float) -> None:
        """Block ``key`` for ``seconds`` (after a 429)."""
        ...

    async def aclose(self) -> None: ...


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
    daily_left = parse_int(headers.get(facts.HEADER_RL_DAILY_REMAINING))
    if daily_left is not None and daily_left <= 0:
        reset_ms = parse_int(headers.get(facts.HEADER_RL_DAILY_RESET))
        if reset_ms is not None:
            return reset_ms / 1000
    remaining = parse_int(headers.get(facts.HEADER_RL_REMAINING))
    if remaining is not None and remaining <= 0:
        interval = parse_int(headers.get(facts.HEADER_RL_INTERVAL_MS)) or facts.BURST_WINDOW_MS
        return interval / 1000
    return None


class BudgetLimiter:
    """Per-resource budget: a moving window of our own requests, shared through Redis when
    ``redis_url`` is given, plus what GHL's headers say (``Board``).

    ``bulk_reserve`` is the share of each window that bulk work may not take, so interactive
    calls from other processes still find room; in this process interactive waiters also go
    first. Waiting longer than the caller's deadline raises RateBudgetExhausted at once, and so
    does a spent daily budget that resets after the deadline.
    """

    def __init__(
        self,
        max_requests: int = facts.BURST_MAX,
        window_ms: int = facts.BURST_WINDOW_MS,
        *,
        redis_url: str | None = None,
        prefix: str = "ghl-bridge:rl",
        bulk_reserve: float = 0.2,
        edge_guard_s: float = 0.1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max, self._window_ms = max_requests, window_ms
        if redis_url:
            storage: Any = RedisStorage(
                "async+" + redis_url, implementation="redispy", key_prefix=prefix
            )
            self._board: Board = RedisBoard(redis_url, prefix, clock)
        else:
            storage = MemoryStorage()
            self._board = MemoryBoard(clock)
        self._window = MovingWindowRateLimiter(storage)
        self._storage = storage
        self._bulk_reserve = bulk_reserve
        # We count send times, GHL counts arrival times: a request sent just as a slot frees
        # can reach GHL while the old one still counts there (latency jitter). Waiting a little
        # past the moment a slot frees keeps every request clear of GHL's window edge.
        self._edge_guard_s = edge_guard_s
        self._gates: dict[str, Gate] = {}
        self._clock = clock

    async def acquire(self, key: str, *, deadline: float, lane: Lane = Lane.INTERACTIVE) -> None:
        gate = self._gates.setdefault(key, Gate())
        gave_way = False
        while True:
            async with gate.turn(lane, front=gave_way):
                while True:
                    wait = await self._try_take(key, lane, deadline)
                    if wait is None:
                        return
                    if lane is Lane.INTERACTIVE:
                        await asyncio.sleep(wait)
                    elif await gate.sleep_unless_interactive(wait):
                        gave_way = True  # an interactive call queued: let it go first
                        break

    async def _try_take(self, key: str, lane: Lane, deadline: float) -> float | None:
        """None when a slot was taken; otherwise how long to wait before trying again."""
        now = self._clock()
        state = await self._board.get(key)
        if state.daily_spent(now):
            reset = state.daily_reset_at or now + 60
            return self._bounded(
                key, reset - now, deadline, f"its daily budget is spent until {reset:.0f}"
            )
        if state.pause_until > now:
            return self._bounded(key, state.pause_until - now, deadline, "GHL asked us to pause")
        item = self._item(state)
        if lane is Lane.BULK:
            stats = await self._window.get_window_stats(item, key)
            if stats.remaining <= int(item.amount * self._bulk_reserve):
                wait = max(0.01, stats.reset_time - time.time()) + self._edge_guard_s
                return self._bounded(key, wait, deadline, "the window is left to interactive calls")
        if await self._window.hit(item, key):
            await self._board.spend_daily(key)
            return None
        stats = await self._window.get_window_stats(item, key)
        wait = max(0.01, stats.reset_time - time.time()) + self._edge_guard_s
        return self._bounded(key, wait, deadline, "the window is full")

    def _bounded(self, key: str, wait: float, deadline: float, why: str) -> float:
        if self._clock() + wait > deadline:
            raise RateBudgetExhausted(
                f"no GHL rate-limit slot for {key} before the deadline: {why}"
            )
        return wait

    def _item(self, state: BudgetState) -> RateLimitItem:
        # A limit is a (max, window) pair: GHL's own wins when its rate is lower than ours
        # (sandbox agencies: 25 / 10 s). Mixing the two pairs would invent a stricter limit.
        max_requests, window_ms = self._max, self._window_ms
        ghl_max, ghl_window = state.max_requests, state.window_ms
        if ghl_max and ghl_window and ghl_max / ghl_window < max_requests / window_ms:
            max_requests, window_ms = ghl_max, ghl_window
        # Leave 2 % of the window (2 of GHL's 100): a request that waits in a busy event loop
        # between taking its slot and leaving can reach GHL bunched with later ones.
        allowed = max(1, max_requests - max_requests // 50)
        return RateLimitItemPerSecond(allowed, max(1, round(window_ms / 1000)))

    async def observe(self, key: str, headers: Mapping[str, str]) -> None:
        """Learn from GHL's headers: its limit, the daily budget, and spend by others."""
        max_requests = parse_int(headers.get(facts.HEADER_RL_MAX))
        interval = parse_int(headers.get(facts.HEADER_RL_INTERVAL_MS))
        if max_requests and interval and max_requests / interval < self._max / self._window_ms:
            await self._board.learn_limit(key, max_requests, interval)
        daily_left = parse_int(headers.get(facts.HEADER_RL_DAILY_REMAINING))
        if daily_left is not None:
            reset_ms = parse_int(headers.get(facts.HEADER_RL_DAILY_RESET))
            reset_at = self._clock() + reset_ms / 1000 if reset_ms is not None else None
            await self._board.set_daily(key, daily_left, reset_at)
        await self._catch_up(key, parse_int(headers.get(facts.HEADER_RL_REMAINING)))
        pause = header_pause_s(headers)
        if pause is not None:
            await self.pause(key, pause)

    async def _catch_up(self, key: str, ghl_remaining: int | None) -> None:
        """If GHL has fewer slots left than we think, someone else spent them: count them too.

        Only once GHL reports half the window or less left: before that the difference cannot
        cause a 429, and reading the window's stats scans every entry in it.
        """
        if ghl_remaining is None or ghl_remaining > self._max // 2:
            return
        item = self._item(await self._board.get(key))
        stats = await self._window.get_window_stats(item, key)
        missing = stats.remaining - ghl_remaining
        if missing > 0:
            await self._window.hit(item, key, cost=missing)

    async def pause(self, key: str, seconds: float) -> None:
        await self._board.pause(key, self._clock() + seconds)

    async def aclose(self) -> None:
        await self._board.aclose()


# The in-memory flavour, by its old name (embedded mode, tests).
MemoryRateLimiter = BudgetLimiter
