"""Per-resource rate limiting: a moving window under GHL's budget, tightened by GHL's headers.

GHL allows 100 requests per 10 s and 200,000 per day per app per resource. We keep our own
moving window (exact, as measured in research/deps.md; a leaky bucket overshoots) that counts
each request until a window after its answer came back (window.py), shared across processes
through Redis when configured, and obey what GHL tells us in its headers: pauses, the daily
budget, a stricter limit, and slots that another process or app already spent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from redis.asyncio import Redis

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
from ghl_bridge.client.resilience.window import MemoryWindow, RedisWindow, Slot, Window


class RateLimiter(Protocol):
    """Grants permission to send one request for a resource, waiting if needed."""

    async def acquire(
        self, key: str, *, deadline: float, lane: Lane = Lane.INTERACTIVE
    ) -> Slot | None:
        """Wait for a slot; raise RateBudgetExhausted if none frees up before ``deadline``.

        The slot (None from limiters that keep no window) goes back to ``settle`` once the
        attempt is over, whatever its outcome."""
        ...

    async def settle(self, slot: Slot | None) -> None:
        """The attempt that took ``slot`` is over: GHL has counted it by now, if ever."""
        ...

    async def observe(self, key: str, headers: Mapping[str, str], slot: Slot | None = None) -> None:
        """Feed GHL's ``X-RateLimit-*`` headers back in (``slot``: the answered attempt's)."""
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

    Pure: the time until the daily reset when the day's budget is spent. A spent burst window
    (``X-RateLimit-Remaining: 0`` on a success) is no reason to pause: our window already holds
    our own requests and frees each slot when GHL does, and ``_catch_up`` counts what others
    spent. Pausing for the whole interval there cost a tenth of the throughput (measured).
    """
    daily_left = parse_int(headers.get(facts.HEADER_RL_DAILY_REMAINING))
    if daily_left is not None and daily_left <= 0:
        reset_ms = parse_int(headers.get(facts.HEADER_RL_DAILY_RESET))
        if reset_ms is not None:
            return reset_ms / 1000
    return None


# Ten of GHL's burst windows: more than can be in flight when the day's budget runs out.
_DAILY_CLOSE = 10 * facts.BURST_MAX


class BudgetLimiter:
    """Per-resource budget: a moving window of our own requests (``Window``), shared through
    Redis when ``redis_url`` is given, plus what GHL's headers say (``Board``).

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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max, self._window_ms = max_requests, window_ms
        if redis_url:
            redis = Redis.from_url(redis_url, socket_timeout=5, decode_responses=True)
            self._window: Window = RedisWindow(redis, prefix, clock)
            self._board: Board = RedisBoard(redis, prefix, clock)
        else:
            self._window = MemoryWindow(clock)
            self._board = MemoryBoard(clock)
        self._bulk_reserve = bulk_reserve
        self._gates: dict[str, Gate] = {}
        self._clock = clock
        # Within this many of the day's end, count the daily budget down request by request.
        self._daily_close = min(10 * max_requests, _DAILY_CLOSE)
        self._daily_known: set[str] = set()

    async def acquire(self, key: str, *, deadline: float, lane: Lane = Lane.INTERACTIVE) -> Slot:
        gate = self._gates.setdefault(key, Gate())
        gave_way = False
        while True:
            async with gate.turn(lane, front=gave_way):
                while True:
                    slot, wait = await self._try_take(key, lane, deadline)
                    if slot is not None:
                        return slot
                    if lane is Lane.INTERACTIVE:
                        await asyncio.sleep(wait)
                    elif await gate.sleep_unless_interactive(wait):
                        gave_way = True  # an interactive call queued: let it go first
                        break

    async def _try_take(self, key: str, lane: Lane, deadline: float) -> tuple[Slot | None, float]:
        """A slot, or how long to wait before trying again."""
        now = self._clock()
        state = await self._board.get(key)
        if state.daily_spent(now):
            reset = state.daily_reset_at or now + 60
            why = f"its daily budget is spent until {reset:.0f}"
            return None, self._bounded(key, reset - now, deadline, why)
        if state.pause_until > now:
            why = "GHL asked us to pause"
            return None, self._bounded(key, state.pause_until - now, deadline, why)
        allowed, window_s = self._limit(state)
        if lane is Lane.BULK:
            allowed -= int(allowed * self._bulk_reserve)
        slot, wait = await self._window.take(key, max(1, allowed), window_s)
        if slot is not None:
            if state.daily_remaining is not None and state.daily_remaining <= self._daily_close:
                await self._board.spend_daily(key)
            return slot, 0.0
        why = (
            "the window is full"
            if lane is Lane.INTERACTIVE
            else "the rest is for interactive calls"
        )
        return None, self._bounded(key, max(wait, 0.001), deadline, why)

    def _bounded(self, key: str, wait: float, deadline: float, why: str) -> float:
        if self._clock() + wait > deadline:
            raise RateBudgetExhausted(
                f"no GHL rate-limit slot for {key} before the deadline: {why}"
            )
        return wait

    def _limit(self, state: BudgetState) -> tuple[int, float]:
        """How many requests our window may hold, and its length in seconds."""
        # A limit is a (max, window) pair: GHL's own wins when its rate is lower than ours
        # (sandbox agencies: 25 / 10 s). Mixing the two pairs would invent a stricter limit.
        max_requests, window_ms = self._max, self._window_ms
        ghl_max, ghl_window = state.max_requests, state.window_ms
        if ghl_max and ghl_window and ghl_max / ghl_window < max_requests / window_ms:
            max_requests, window_ms = ghl_max, ghl_window
        # No headroom: the budget is per app and resource, so only our own processes spend it,
        # and the window counts each request until a window after GHL can have counted it.
        return max_requests, window_ms / 1000

    async def settle(self, slot: Slot | None) -> None:
        if slot is not None:
            await self._window.settle(slot)

    async def observe(self, key: str, headers: Mapping[str, str], slot: Slot | None = None) -> None:
        """Learn from GHL's headers: its limit, the daily budget, and spend by others."""
        max_requests = parse_int(headers.get(facts.HEADER_RL_MAX))
        interval = parse_int(headers.get(facts.HEADER_RL_INTERVAL_MS))
        if max_requests and interval and max_requests / interval < self._max / self._window_ms:
            await self._board.learn_limit(key, max_requests, interval)
        daily_left = parse_int(headers.get(facts.HEADER_RL_DAILY_REMAINING))
        # The day's budget matters only near its end: far from it, one write per process and
        # resource is enough (it carries the reset time), which saves a Redis call per answer.
        far = daily_left is not None and daily_left > self._daily_close
        if daily_left is not None and not (far and key in self._daily_known):
            self._daily_known.add(key)
            reset_ms = parse_int(headers.get(facts.HEADER_RL_DAILY_RESET))
            reset_at = self._clock() + reset_ms / 1000 if reset_ms is not None else None
            await self._board.set_daily(key, daily_left, reset_at)
        remaining = parse_int(headers.get(facts.HEADER_RL_REMAINING))
        if slot is not None:
            await self._catch_up(slot, remaining, max_requests or self._max)
        pause = header_pause_s(headers)
        if pause is not None:
            await self.pause(key, pause)

    async def _catch_up(self, slot: Slot, ghl_remaining: int | None, ghl_max: int) -> None:
        """If GHL counted more requests than we can have sent, someone else spent them: count
        them too.

        GHL counted when this request arrived, after we took its slot. Of ours, it can have
        counted at most those in our window then (``slot.counted``) and those taken since
        (this one included), so the difference is never our own requests that have left our
        window meanwhile. Only once GHL reports half the window or less left: before that the
        difference cannot cause a 429, and counting the shared window costs a Redis call.
        """
        if ghl_remaining is None or ghl_remaining > ghl_max // 2:
            return
        ours = slot.counted + await self._window.count_since(slot.key, slot.taken_at)
        missing = ghl_max - ghl_remaining - ours
        if missing > 0:
            await self._window.spend(slot.key, missing)

    async def pause(self, key: str, seconds: float) -> None:
        await self._board.pause(key, self._clock() + seconds)

    async def aclose(self) -> None:
        await self._board.aclose()
        await self._window.aclose()


# The in-memory flavour, by its old name (embedded mode, tests).
MemoryRateLimiter = BudgetLimiter
