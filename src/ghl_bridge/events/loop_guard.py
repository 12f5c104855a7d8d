"""Stop a subscription from triggering itself on the same record without end.

A rule that writes to the record whose change triggered it — on ``ContactTagUpdate`` add a tag,
on ``NoteCreate`` add a note, an outbound webhook whose receiver updates the contact through
our API — makes GHL send another event for that record, which matches the rule again. Left
alone that loop spends the location's GHL rate limit (100 requests / 10 s) on nothing and
floods the target; Zapier and n8n users meet it as runaway task counts (research/peers.md).

`LoopGuard` counts, per (subscription, record), the distinct events routed within a sliding
window. Past ``limit`` the pair is held for one window: its further events are not routed to
that subscription (other subscriptions, and other records, are unaffected), a warning is
logged once per hold and ``ghl_subscription_loops_held_total`` counts each held event. A
re-run of an event already counted (a retried job, a replay) is not counted again.

The record is the contact the event is about (``contactId``, else the event's own ``id``): a
loop through a contact's notes, tasks or opportunities comes back on the same contact. Events
with neither are not guarded. `LoopGuard` keeps the counts in the worker's memory (one
process: the embedded mode); `RedisLoopGuard` keeps them in Redis, so every worker process
counts into the same window and a loop is held after ``limit`` events however many workers
share them. If Redis cannot answer, each process falls back to its own counts (a loop is still
held, after at most ``limit`` times the number of workers) rather than routing unguarded.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter

log = structlog.get_logger("ghl_bridge.events")

DEFAULT_LIMIT = 10
DEFAULT_WINDOW_S = 300.0
MAX_TRACKED = 100_000  # (subscription, record) pairs kept; the least recently seen go first
# One routing decision to make: (subscription id, record or None, event id).
Ask = tuple[str, str | None, str]


class Guard(Protocol):
    """What routing asks of a loop guard (`LoopGuard`, `RedisLoopGuard`)."""

    async def allow_many(self, asks: Sequence[Ask]) -> list[bool]: ...

    async def aclose(self) -> None: ...


@cache
def loops_held(registry: CollectorRegistry = REGISTRY) -> Counter:
    return Counter(
        "ghl_subscription_loops_held",
        "Events not routed to a subscription because it kept re-triggering on the same record",
        registry=registry,
    )


def subject_of(body: Mapping[str, Any]) -> str | None:
    """The record a webhook event is about, for loop counting: its contact, else itself."""
    for key in ("contactId", "id"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(slots=True)
class _Track:
    seen: deque[tuple[float, str]] = field(default_factory=deque)  # (when, event id), oldest first
    held_until: float = 0.0


class LoopGuard:
    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = MAX_TRACKED,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_tracked < 1:
            raise ValueError("limit, window_s and max_tracked must be positive")
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._max_tracked = max_tracked
        self._tracks: OrderedDict[tuple[str, str], _Track] = OrderedDict()
        self._held = loops_held(registry)

    def __repr__(self) -> str:
        return f"LoopGuard(limit={self._limit}, window_s={self._window_s})"

    async def allow_many(self, asks: Sequence[Ask]) -> list[bool]:
        """`allow` for each ask, in order (the interface `RedisLoopGuard` shares)."""
        return [self.allow(*ask) for ask in asks]

    async def aclose(self) -> None:
        return None

    def allow(self, subscription_id: str, subject: str | None, event_id: str) -> bool:
        """Whether ``event_id`` about ``subject`` may be routed to ``subscription_id``."""
        if subject is None:
            return True
        key = (subscription_id, subject)
        now = self._clock()
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track()
            if len(self._tracks) > self._max_tracked:
                self._tracks.popitem(last=False)
        else:
            self._tracks.move_to_end(key)
        seen = track.seen
        while seen and seen[0][0] <= now - self._window_s:
            seen.popleft()
        if any(known == event_id for _, known in seen):
            return now >= track.held_until  # a re-run: decided as before, not counted again
        if now < track.held_until:
            self._held.inc()
            return False
        if len(seen) >= self._limit:
            track.held_until = now + self._window_s
            self._held.inc()
            log.warning(
                "subscription.loop_held",
                subscription=subscription_id,
                record=subject,
                events=len(seen) + 1,
                window_s=self._window_s,
            )
            return False
        seen.append((now, event_id))
        return True


# KEYS: the pair's seen set (event id scored by time), its hold flag. ARGV: now (s), window (s),
# limit, event id. 0: held; 1: allowed; 2: held from now on (the caller warns).
_DECIDE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
local ms = math.ceil(window * 1000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], '1', 'PX', ms)
  return 2
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ms)
return 1
"""


class RedisLoopGuard:
    """`LoopGuard`'s rule with the counts in Redis, shared by every worker process: one
    round trip per batch of decisions (a pipeline of one script call each)."""

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str = "ghl-bridge",
        limit: int = DEFAULT_LIMIT,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.time,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit and window_s must be positive")
        self._redis = redis
        self._prefix = f"{prefix}:loop"
        self._limit = limit
        self._window_s = window_s
        self._clock = clock  # wall time: every process must agree on it
        self._decide = redis.register_script(_DECIDE)
        self._local = LoopGuard(limit=limit, window_s=window_s, registry=registry)
        self._held = loops_held(registry)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisLoopGuard:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url, socket_timeout=5, decode_responses=True), **options)

    def __repr__(self) -> str:
        return f"RedisLoopGuard(limit={self._limit}, window_s={self._window_s})"

    async def allow_many(self, asks: Sequence[Ask]) -> list[bool]:
        guarded = [n for n, (_, subject, _) in enumerate(asks) if subject is not None]
        decided = [True] * len(asks)
        if not guarded:
            return decided
        try:
            answers = await self._ask([asks[n] for n in guarded])
        except Exception as exc:  # Redis is away: this process's own counts, not no guard
            log.warning("subscription.loop_guard_local", error=type(exc).__name__)
            return await self._local.allow_many(asks)
        for n, answer in zip(guarded, answers, strict=True):
            decided[n] = answer == 1
            if not decided[n]:
                self._held.inc()
            if answer == 2:
                subscription_id, subject, _ = asks[n]
                log.warning(
                    "subscription.loop_held",
                    subscription=subscription_id,
                    record=subject,
                    events=self._limit + 1,
                    window_s=self._window_s,
                )
        return decided

    async def _ask(self, asks: Sequence[Ask]) -> list[int]:
        now = self._clock()
        pipe = self._redis.pipeline(transaction=False)
        for subscription_id, subject, event_id in asks:
            base = f"{self._prefix}:{subscription_id}:{subject}"
            await self._decide(
                keys=[f"{base}:seen", f"{base}:held"],
                args=[now, self._window_s, self._limit, event_id],
                client=pipe,
            )
        return [int(answer) for answer in await pipe.execute()]

    async def aclose(self) -> None:
        await self._redis.aclose()
