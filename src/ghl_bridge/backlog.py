"""Backlog gauges: what waits in the database, read when Prometheus scrapes ``/metrics``.

Counters in a process only see that process; the backlog is the database's, shared by every
process, so it is read from there on each scrape (two indexed aggregates) and is the same
whichever `serve` process answers. What to alert on: ``ghl_webhook_events{status="dead"}``
growing (events that need a person or a replay), ``ghl_webhook_oldest_waiting_seconds`` past a
few minutes (processing is stuck or behind), ``ghl_outbound_deliveries{status="dead"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.types import utcnow


@cache
def _gauges(registry: CollectorRegistry = REGISTRY) -> tuple[Gauge, Gauge, Gauge]:
    return (
        Gauge(
            "ghl_webhook_events",
            "Webhook events waiting to be processed (pending, failed: retrying) or dead-lettered",
            ["status"],
            registry=registry,
        ),
        Gauge(
            "ghl_webhook_oldest_waiting_seconds",
            "Age of the oldest webhook event still waiting to be processed (0: none waits)",
            registry=registry,
        ),
        Gauge(
            "ghl_outbound_deliveries",
            "Outbound deliveries still waiting for their target (pending) or dead-lettered",
            ["status"],
            registry=registry,
        ),
    )


async def refresh(
    inbox: InboxRepo,
    deliveries: DeliveryRepo,
    *,
    clock: Callable[[], datetime] = utcnow,
    registry: CollectorRegistry = REGISTRY,
) -> None:
    """Set the gauges from the database, now."""
    events, oldest_age, outbound = _gauges(registry)
    counts, oldest = await inbox.backlog()
    for status, count in counts.items():
        events.labels(status).set(count)
    oldest_age.set(0 if oldest is None else max(0.0, (clock() - oldest).total_seconds()))
    for status, count in (await deliveries.backlog()).items():
        outbound.labels(status).set(count)
