"""Replaying a webhook event: run it through the processor again, on demand.

A replay puts the stored event back to ``pending`` and queues a ``webhook.process`` job for it.
It works on an event in any state: a dead one (its attempts ran out: fix the cause, then
replay), a processed one (handlers and sinks are idempotent, so a second run changes nothing
that the first already did, and re-delivers to targets added since), or a failed one (it runs
now instead of at its next backoff). Replaying an event that is already ``pending`` queues
nothing more: a run is on its way.

Each run of an event has its own job id, ``wh-<id>`` first and ``wh-<id>-r<n>`` for the n-th
replay, because both queues keep a finished job and ignore a second add of its id. The
sweeper reads the same name to check the current run is still queued.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.jobs.port import Queue
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import WebhookEvent

log = structlog.get_logger("ghl_bridge.events")


def event_job_id(event: WebhookEvent) -> str:
    """The queue job id of the event's latest run (the receiver queues ``wh-<id>``)."""
    return f"wh-{event.id}" if not event.replays else f"wh-{event.id}-r{event.replays}"


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay did: the event after it, and whether a run was queued by this call (False
    when the event was already pending, or when the queue was unreachable: the sweeper queues
    it within a minute or two)."""

    event: WebhookEvent
    queued: bool


class EventReplayer:
    """Replays for the REST API and the CLI; the tenant check happens in the same UPDATE."""

    def __init__(self, inbox: InboxRepo, queue: Queue) -> None:
        self._inbox = inbox
        self._queue = queue

    async def replay(self, event_id: str, *, tenant_id: str | None) -> Replayed | None:
        """Replay the event; None if there is none (for ``tenant_id``; None: any tenant)."""
        found = await self._inbox.replay(event_id, tenant_id=tenant_id)
        if found is None:
            return None
        event, changed = found
        if not changed:
            return Replayed(event, queued=False)
        try:
            await self._queue.enqueue(
                WEBHOOK_PROCESS_JOB, {"eventId": event.id}, job_id=event_job_id(event)
            )
        except Exception as exc:  # the row is pending and durable: the sweeper queues it
            log.warning(
                "webhook.replay_enqueue_failed", event_id=event.id, error=type(exc).__name__
            )
            return Replayed(event, queued=False)
        log.info("webhook.replayed", event_id=event.id, replays=event.replays)
        return Replayed(event, queued=True)
