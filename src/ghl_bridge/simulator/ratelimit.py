"""GHL's two rate limits per (app or PIT, location or company), and the headers that report them.

Burst: a moving window of `rate_limit_max` requests per `rate_limit_window_ms`. Daily: a budget
that resets once a day at a time of day of its own per resource — GHL's recorded
`X-RateLimit-Daily-Reset` values point to a per-resource anchor, not UTC midnight
(research/ghl-wire-facts.md §3.2). Rejected requests are not counted against either budget.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import dataclass, field

from ghl_bridge.simulator.config import SimConfig

__all__ = ["RateLimiter", "Verdict"]

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after_s: int


@dataclass(slots=True)
class _Budget:
    stamps: deque[float] = field(default_factory=deque)
    day_index: int = 0
    day_used: int = 0


class RateLimiter:
    """In-memory limiter driven by `SimConfig.clock`, so a fake clock moves its windows."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._budgets: dict[tuple[str, str], _Budget] = {}

    def hit(self, key: str, resource: str, *, force_limit: bool = False) -> Verdict:
        """Count one request unless a limit is reached; `force_limit` simulates a 429 fault."""
        config = self._config
        now = config.clock()
        budget = self._budgets.setdefault((key, resource), _Budget())
        window_s = config.rate_limit_window_ms / 1000
        while budget.stamps and budget.stamps[0] <= now - window_s:
            budget.stamps.popleft()
        anchor = self._anchor_s(resource)
        day_index = math.floor((now - anchor) / DAY_S)
        if day_index != budget.day_index:
            budget.day_index, budget.day_used = day_index, 0
        reset_in_s = anchor + (day_index + 1) * DAY_S - now
        burst_full = len(budget.stamps) >= config.rate_limit_max
        day_full = budget.day_used >= config.daily_limit
        allowed = not (burst_full or day_full or force_limit)
        if allowed:
            budget.stamps.append(now)
            budget.day_used += 1
        retry_after = 0
        if not allowed:
            oldest = budget.stamps[0] + window_s - now if budget.stamps else window_s
            retry_after = math.ceil(reset_in_s if day_full else max(oldest, 0.001))
        remaining = 0 if force_limit else max(config.rate_limit_max - len(budget.stamps), 0)
        headers = {
            "X-RateLimit-Limit-Daily": str(config.daily_limit),
            "X-RateLimit-Daily-Remaining": str(max(config.daily_limit - budget.day_used, 0)),
            # Milliseconds until the daily reset, always a whole number of seconds (observed).
            "X-RateLimit-Daily-Reset": str(math.ceil(reset_in_s) * 1000),
            "X-RateLimit-Interval-Milliseconds": str(config.rate_limit_window_ms),
            "X-RateLimit-Max": str(config.rate_limit_max),
            "X-RateLimit-Remaining": str(remaining),
        }
        return Verdict(allowed, headers, retry_after)

    def _anchor_s(self, resource: str) -> int:
        """Seconds after midnight UTC at which this resource's daily budget resets."""
        digest = hashlib.sha256(f"{self._config.seed}:{resource}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % DAY_S
