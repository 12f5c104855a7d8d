"""The moving window of our own requests to one resource, counted by when GHL may have seen them.

GHL counts a request when it arrives; we can only know that it arrived somewhere between the
moment we sent it and the moment its answer came back. So a slot is taken (stamped with the
send time) before sending, and *settled* — re-stamped with the time the answer came back — once
the attempt is over. A request then stays in our window until at least a full window after GHL
could have counted it, and a new request can never reach GHL while GHL still counts the old one,
however the event loop, the network or GHL's front end delayed either of them.

This is why the window is ours and not the `limits` package's (DESIGN.md §5 chose `limits`):
its moving window stores bare timestamps and cannot move an entry. Counting send times, 4
processes on one Redis budget saw 2-5 429s per 2,748 calls (0-1 with a 100 ms guard and 2 %
headroom); see docs/benchmarks.md. The semantics are the same exact moving window.

In memory, one ordered dict per resource: stamps are taken from one clock and a settled entry
moves to the end, so the dict stays in stamp order and trimming pops from the front. Shared,
one Redis sorted set per resource (member = slot token, score = stamp), updated by Lua so that
"count, then take" is atomic across processes.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["MemoryWindow", "RedisWindow", "Slot", "Window"]


@dataclass(frozen=True, slots=True)
class Slot:
    """One request's place in a resource's window, to be settled when the attempt ends."""

    key: str
    token: str
    taken_at: float  # when the slot was taken: no later than GHL can have seen the request
    counted: int  # our requests in the window when it was taken, this one excluded


class Window(Protocol):
    async def take(self, key: str, allowed: int, window_s: float) -> tuple[Slot | None, float]:
        """A slot if fewer than ``allowed`` requests count in the last ``window_s`` seconds;
        otherwise ``(None, seconds until the oldest counted request leaves the window)``."""
        ...

    async def settle(self, slot: Slot) -> None:
        """Re-stamp the slot with now: the attempt is over, GHL has counted it by now if ever."""
        ...

    async def count_since(self, key: str, at: float) -> int:
        """How many counted requests are stamped at ``at`` or later (in flight or answered)."""
        ...

    async def spend(self, key: str, n: int) -> None:
        """Count ``n`` requests someone else made just now (learnt from GHL's headers)."""
        ...

    async def aclose(self) -> None: ...


class MemoryWindow:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._entries: dict[str, OrderedDict[str, float]] = {}
        self._tokens = itertools.count()
        self._clock = clock

    def _trimmed(self, key: str, window_s: float) -> OrderedDict[str, float]:
        entries = self._entries.get(key)
        if entries is None:
            entries = self._entries[key] = OrderedDict()
        horizon = self._clock() - window_s
        while entries:
            token, stamp = next(iter(entries.items()))
            if stamp > horizon:
                break
            del entries[token]
        return entries

    async def take(self, key: str, allowed: int, window_s: float) -> tuple[Slot | None, float]:
        entries = self._trimmed(key, window_s)
        now = self._clock()
        if len(entries) < allowed:
            token = str(next(self._tokens))
            counted = len(entries)
            entries[token] = now
            return Slot(key, token, now, counted), 0.0
        oldest = next(iter(entries.values()))
        return None, max(0.0, oldest + window_s - now)

    async def settle(self, slot: Slot) -> None:
        entries = self._entries.setdefault(slot.key, OrderedDict())
        entries[slot.token] = self._clock()
        entries.move_to_end(slot.token)

    async def count_since(self, key: str, at: float) -> int:
        # Newest last: walk back only over what came after ``at``.
        n = 0
        for stamp in reversed(self._entries.get(key, OrderedDict()).values()):
            if stamp < at:
                break
            n += 1
        return n

    async def spend(self, key: str, n: int) -> None:
        entries = self._entries.setdefault(key, OrderedDict())
        now = self._clock()
        for _ in range(n):
            entries[f"x{next(self._tokens)}"] = now

    async def aclose(self) -> None:
        return None


# KEYS[1] the sorted set; ARGV: now, window_s, allowed, token, idle TTL in ms. Stamps are the
# callers' clocks: every process of one deployment reads one host clock or NTP-disciplined ones.
_TAKE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local counted = redis.call('ZCARD', KEYS[1])
if counted < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {1, counted}
end
return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
"""
# Plain ZADD, not XX: a slot trimmed while its request was still in flight (an answer slower
# than a whole window) counts again from now, which is what GHL may be doing.
# ARGV: now, idle TTL in ms, then one or more tokens to stamp with now.
_SETTLE = """
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
# How long an idle resource's set outlives its last use; GHL's windows are 10 s (60 s at most).
_IDLE_TTL_MS = 120_000


class RedisWindow:
    """The window in one Redis sorted set per resource, shared by every process."""

    def __init__(self, redis: Any, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        # Tokens unique across processes: pid and a random part, then a counter.
        self._origin = f"{os.getpid():x}.{os.urandom(3).hex()}."
        self._tokens = itertools.count()
        self._take = redis.register_script(_TAKE)
        self._settle = redis.register_script(_SETTLE)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:window:{key}"

    def _token(self) -> str:
        return f"{self._origin}{next(self._tokens)}"

    async def take(self, key: str, allowed: int, window_s: float) -> tuple[Slot | None, float]:
        now = self._clock()
        token = self._token()
        args = [repr(now), window_s, allowed, token, _IDLE_TTL_MS]
        taken, detail = await self._take(keys=[self._key(key)], args=args)
        if taken:
            return Slot(key, token, now, int(detail)), 0.0
        return None, max(0.0, float(detail) + window_s - now)

    async def settle(self, slot: Slot) -> None:
        args = [repr(self._clock()), _IDLE_TTL_MS, slot.token]
        await self._settle(keys=[self._key(slot.key)], args=args)

    async def count_since(self, key: str, at: float) -> int:
        return int(await self._redis.zcount(self._key(key), repr(at), "+inf"))

    async def spend(self, key: str, n: int) -> None:
        if n > 0:
            tokens = [self._token() for _ in range(n)]
            args = [repr(self._clock()), _IDLE_TTL_MS, *tokens]
            await self._settle(keys=[self._key(key)], args=args)

    async def aclose(self) -> None:
        await self._redis.aclose()
