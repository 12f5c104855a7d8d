"""Retention: how long handled webhook events (and their delivered outbound deliveries) stay.

Every delivery GHL sends is a row in the inbox; an agency with hundreds of busy sub-accounts
writes hundreds of thousands a day, and nothing else ever removes them. Past the retention
(``EVENT_RETENTION_DAYS``, default 30; 0 keeps everything) a processed event whose deliveries
all reached their target is deleted with them. What still needs a person or a replay stays
whatever its age: events pending, failed or dead, and events with an undelivered or dead
delivery. GHL redelivers within hours, so the inbox's deduplication by ``webhookId`` loses
nothing; a replay of a pruned event answers 404. Completed queue jobs are pruned by the
queue itself (`jobs.port.KEEP_COMPLETED`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter

from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.types import utcnow

log = structlog.get_logger("ghl_bridge.retention")

DEFAULT_INTERVAL_S = 3600.0


@cache
def events_pruned(registry: CollectorRegistry = REGISTRY) -> Counter:
    return Counter(
        "ghl_retention_events_pruned",
        "Handled webhook events deleted past the retention, with their delivered deliveries",
        registry=registry,
    )


class RetentionSweeper:
    """Deletes handled events older than ``days``, now and every ``interval_s``."""

    def __init__(
        self,
        inbox: InboxRepo,
        days: float,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if days <= 0 or interval_s <= 0:
            raise ValueError("days and interval_s must be positive (0 days: do not run one)")
        self._inbox = inbox
        self._keep = timedelta(days=days)
        self._interval_s = interval_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"RetentionSweeper(days={self._keep.total_seconds() / 86_400:g})"

    async def prune(self) -> int:
        """One round: how many events went."""
        removed = await self._inbox.prune_settled(self._clock() - self._keep)
        if removed:
            events_pruned().inc(removed)
            log.info("retention.pruned", events=removed)
        return removed

    async def run(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception as exc:  # keep going; the next round retries
                log.warning("retention.failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)
