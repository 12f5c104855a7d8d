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
with neither are not guarded. The counts live in the worker's memory: with several worker
processes each sees its share, so a loop is held after at most ``limit`` times their number.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter

log = structlog.get_logger("ghl_bridge.events")

DEFAULT_LIMIT = 10
DEFAULT_WINDOW_S = 300.0
MAX_TRACKED = 100_000  # (subscription, record) pairs kept; the least recently seen go first


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
