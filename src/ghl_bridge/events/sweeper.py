"""Keep every unsettled webhook event (``pending`` or ``failed``) backed by a live queue job.

The database is the source of truth; the queue only carries ids. The sweeper looks at events
unsettled for more than ``older_than_s`` and asks the queue about each one's current job
(`event_job_id`):
- no such job: Redis lost its data, or an enqueue failed after the row was committed, or the
  event was raised internally and never queued → queue it again (same job id, so a job that
  appears meanwhile is not doubled);
- the job failed: the queue gave up without the processor dead-lettering the event (its worker
  died during the last attempt) → dead-letter it now, so it shows up for a replay instead of
  staying pending forever;
- anything else (waiting, delayed for a retry, running): leave it.

A long backlog is walked a batch per round, resuming after the last event seen, so a lost job
behind thousands of healthy ones is still found.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import structlog

from ghl_bridge.events.replay import event_job_id
from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.jobs.port import Queue
from ghl_bridge.store.inbox import InboxRepo

log = structlog.get_logger("ghl_bridge.sweeper")

GAVE_UP = "the queue gave up on this event's job: "


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one round did."""

    checked: int
    requeued: int
    dead_lettered: int


class InboxSweeper:
    def __init__(
        self,
        inbox: InboxRepo,
        queue: Queue,
        *,
        older_than_s: float = 60.0,
        interval_s: float = 30.0,
        batch: int = 500,
    ) -> None:
        self._inbox = inbox
        self._queue = queue
        self._older_than_s = older_than_s
        self._interval_s = interval_s
        self._batch = batch
        self._after: tuple[datetime, str] | None = None

    async def sweep_once(self) -> int:
        """Check one batch of unsettled events; return how many were queued again."""
        return (await self.sweep()).requeued

    async def sweep(self) -> Sweep:
        """Check one batch (from where the last round stopped, wrapping to the oldest)."""
        events = await self._inbox.unsettled_older_than(
            self._older_than_s, self._batch, after=self._after
        )
        self._after = (
            (events[-1].received_at, events[-1].id) if len(events) == self._batch else None
        )
        requeued = dead = 0
        for event in events:
            job_id = event_job_id(event)
            job = await self._queue.get(job_id)
            if job is None:
                await self._queue.enqueue(WEBHOOK_PROCESS_JOB, {"eventId": event.id}, job_id=job_id)
                requeued += 1
            elif job.state == "failed":
                reason = GAVE_UP + (job.failed_reason or "no reason recorded")
                dead += await self._inbox.mark_dead(event.id, reason)
        if requeued or dead:
            log.info("sweeper.swept", requeued=requeued, dead_lettered=dead)
        return Sweep(checked=len(events), requeued=requeued, dead_lettered=dead)

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # keep sweeping; the next round retries
                log.warning("sweeper.failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)
