"""Retention: what the service deletes once it is old, so no table grows for good.

An agency with hundreds of busy sub-accounts writes hundreds of thousands of webhook events and
GHL call records a day; nothing else ever removes them. One sweeper, hourly, in the worker
processes, deletes in transactions of a thousand rows (the one SQLite writer is never held
for long), each kind by its own rule:
- ``events``: processed webhook events received more than ``EVENT_RETENTION_DAYS`` ago (30)
  whose outbound deliveries all arrived, with those deliveries. Events pending, failed or dead
  and events with a delivery not yet delivered (or dead) stay whatever their age: a person or
  a replay still needs them. GHL redelivers within hours, so deduplication by ``webhookId``
  loses nothing; a replay of a pruned event answers 404.
- ``audit``: audit records (GHL call attempts, connection changes) older than
  ``AUDIT_RETENTION_DAYS`` (90).
- ``idempotency``: Idempotency-Key records past their expiry (24 h after first use); a key
  reused after that starts afresh either way.
0 days keeps that kind for good. Completed queue jobs are the queue's own
(`jobs.port.KEEP_COMPLETED`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter

from ghl_bridge.store.types import utcnow

log = structlog.get_logger("ghl_bridge.retention")

DEFAULT_INTERVAL_S = 3600.0
Clock = Callable[[], datetime]


@cache
def rows_pruned(registry: CollectorRegistry = REGISTRY) -> Counter:
    return Counter(
        "ghl_retention_pruned",
        "Rows deleted past their retention, by kind (events, audit, idempotency)",
        ["kind"],
        registry=registry,
    )


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind's pruning: ``prune(cutoff)`` deletes what is older than ``now - keep`` (or,
    with ``keep`` None, what expired by ``now``) and says how many rows went."""

    kind: str
    prune: Callable[[datetime], Awaitable[int]]
    keep: timedelta | None = None

    @classmethod
    def older_than(
        cls, kind: str, days: float, prune: Callable[[datetime], Awaitable[int]]
    ) -> Rule:
        if days <= 0:
            raise ValueError(f"{kind}: days must be positive (0 days: leave the rule out)")
        return cls(kind, prune, timedelta(days=days))


class RetentionSweeper:
    """Applies its rules now and every ``interval_s``; one kind's failure is logged and the
    others still run."""

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Clock = utcnow,
    ) -> None:
        if not rules or interval_s <= 0:
            raise ValueError("a retention sweeper needs rules and a positive interval_s")
        self._rules = tuple(rules)
        self._interval_s = interval_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"RetentionSweeper({', '.join(rule.kind for rule in self._rules)})"

    async def prune(self) -> dict[str, int]:
        """One round: rows deleted per kind (a kind that failed is left out)."""
        removed: dict[str, int] = {}
        now = self._clock()
        for rule in self._rules:
            try:
                went = await rule.prune(now if rule.keep is None else now - rule.keep)
            except Exception as exc:  # the next round retries
                log.warning("retention.failed", kind=rule.kind, error=type(exc).__name__)
                continue
            removed[rule.kind] = went
            if went:
                rows_pruned().labels(rule.kind).inc(went)
                log.info("retention.pruned", kind=rule.kind, rows=went)
        return removed

    async def run(self) -> None:
        while True:
            await self.prune()
            await asyncio.sleep(self._interval_s)
