"""What GHL has told us about a resource's budget, shared by every process that calls it.

The moving window counts our own requests; the board keeps what only GHL's headers reveal:
a pause (a 429, or ``X-RateLimit-Remaining: 0``), the daily budget left and when it resets
(``X-RateLimit-Daily-Remaining`` / the undocumented ``X-RateLimit-Daily-Reset``), and the
burst limit GHL actually applies (``X-RateLimit-Max`` / ``-Interval-Milliseconds``: sandbox
agencies get 25 per 10 s). In memory for one process; a Redis hash per resource when shared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

_TTL_S = 2 * 86_400  # a day's reset plus slack; idle resources expire on their own


@dataclass(frozen=True, slots=True)
class BudgetState:
    pause_until: float = 0.0
    daily_remaining: int | None = None
    daily_reset_at: float | None = None
    max_requests: int | None = None
    window_ms: int | None = None

    def daily_spent(self, now: float) -> bool:
        if self.daily_remaining is None or self.daily_remaining > 0:
            return False
        return self.daily_reset_at is None or now < self.daily_reset_at


class Board(Protocol):
    async def get(self, key: str) -> BudgetState: ...
    async def pause(self, key: str, until: float) -> None: ...
    async def set_daily(self, key: str, remaining: int, reset_at: float | None) -> None: ...
    async def spend_daily(self, key: str) -> None: ...
    async def learn_limit(self, key: str, max_requests: int, window_ms: int) -> None: ...
    async def aclose(self) -> None: ...


class MemoryBoard:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._states: dict[str, BudgetState] = {}
        self._clock = clock

    async def get(self, key: str) -> BudgetState:
        state = self._states.get(key, BudgetState())
        if state.daily_reset_at is not None and self._clock() >= state.daily_reset_at:
            state = replace(state, daily_remaining=None, daily_reset_at=None)
            self._states[key] = state
        return state

    async def pause(self, key: str, until: float) -> None:
        state = self._states.get(key, BudgetState())
        if until > state.pause_until:
            self._states[key] = replace(state, pause_until=until)

    async def set_daily(self, key: str, remaining: int, reset_at: float | None) -> None:
        state = self._states.get(key, BudgetState())
        self._states[key] = replace(state, daily_remaining=remaining, daily_reset_at=reset_at)

    async def spend_daily(self, key: str) -> None:
        state = self._states.get(key)
        if state is not None and state.daily_remaining is not None:
            self._states[key] = replace(state, daily_remaining=state.daily_remaining - 1)

    async def learn_limit(self, key: str, max_requests: int, window_ms: int) -> None:
        state = self._states.get(key, BudgetState())
        self._states[key] = replace(state, max_requests=max_requests, window_ms=window_ms)

    async def aclose(self) -> None:
        return None


# Atomic "raise to at least": a late, shorter pause must not shorten a longer one.
_PAUSE = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'pause_until') or '0')
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'pause_until', ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""
# Decrement only a known daily budget; an unknown one stays unknown.
_SPEND = """
if redis.call('HEXISTS', KEYS[1], 'daily_remaining') == 1 then
  redis.call('HINCRBY', KEYS[1], 'daily_remaining', -1)
end
"""


class RedisBoard:
    """One hash per resource, so every process and worker sees the same pauses and budget."""

    def __init__(self, redis: Any, prefix: str, clock: Callable[[], float] = time.time) -> None:
        # A decode_responses client, shared with the window. Typed loosely: redis-py's stubs
        # model bytes/str responses we never get with decode.
        self._redis = redis
        self._prefix = prefix
        self._clock = clock

    def _key(self, key: str) -> str:
        return f"{self._prefix}:board:{key}"

    async def get(self, key: str) -> BudgetState:
        raw = await self._redis.hgetall(self._key(key))
        reset_at = _float(raw.get("daily_reset_at"))
        expired = reset_at is not None and self._clock() >= reset_at
        return BudgetState(
            pause_until=_float(raw.get("pause_until")) or 0.0,
            daily_remaining=None if expired else parse_int(raw.get("daily_remaining")),
            daily_reset_at=None if expired else reset_at,
            max_requests=parse_int(raw.get("max_requests")),
            window_ms=parse_int(raw.get("window_ms")),
        )

    async def pause(self, key: str, until: float) -> None:
        await self._redis.eval(_PAUSE, 1, self._key(key), repr(until), _TTL_S)

    async def set_daily(self, key: str, remaining: int, reset_at: float | None) -> None:
        fields: dict[str, str] = {"daily_remaining": str(remaining)}
        if reset_at is not None:
            fields["daily_reset_at"] = repr(reset_at)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(key), mapping=fields)
            pipe.expire(self._key(key), _TTL_S)
            await pipe.execute()

    async def spend_daily(self, key: str) -> None:
        await self._redis.eval(_SPEND, 1, self._key(key))

    async def learn_limit(self, key: str, max_requests: int, window_ms: int) -> None:
        mapping = {"max_requests": str(max_requests), "window_ms": str(window_ms)}
        await self._redis.hset(self._key(key), mapping=mapping)

    async def aclose(self) -> None:
        return None  # the client belongs to the limiter, which closes it once


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def parse_int(value: str | None) -> int | None:
    """A header or hash field as an int; None when absent or not a number."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
