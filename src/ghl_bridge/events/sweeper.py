"""Re-enqueue webhook events that are pending in the inbox but were never (or no longer) queued.

The database is the source of truth; the queue only carries ids. If Redis lost its data, or an
enqueue failed after the row was committed, this puts the event back. Job ids are deterministic
(``wh-<eventId>``), so re-enqueueing an event that is still queued adds nothing.
"""

from __future__ import annotations

import asyncio

import structlog

from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.jobs.port import Queue
from ghl_bridge.store.inbox import InboxRepo

log = structlog.get_logger("ghl_bridge.sweeper")


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

    async def sweep_once(self) -> int:
        """Enqueue every pending event older than the threshold; return how many."""
        events = await self._inbox.pending_older_than(self._older_than_s, self._batch)
        for event in events:
            await self._queue.enqueue(
                WEBHOOK_PROCESS_JOB, {"eventId": event.id}, job_id=f"wh-{event.id}"
            )
        if events:
            log.info("sweeper.requeued", count=len(events))
        return len(events)

    async def run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception as exc:  # keep sweeping; the next round retries
                log.warning("sweeper.failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)
