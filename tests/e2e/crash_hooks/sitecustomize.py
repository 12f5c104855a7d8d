"""TEST-ONLY hooks for tests/e2e/test_crash_recovery.py, never shipped or imported by ghl-bridge.

That test puts this folder on PYTHONPATH of the `ghl-bridge worker` subprocess it starts (and
sets CRASH_TEST_EFFECTS_DSN), so Python imports this module at start-up. It then:
- adds an event sink that records each attempt, waits CRASH_TEST_DELAY_S (so a SIGKILL lands
  mid-processing), and records the event's effect once per webhookId (an idempotent handler);
- shortens BullMQ's lock and stalled-check timings (30 s each in production) so the restarted
  worker takes back the killed worker's jobs within seconds and the test stays bounded.
Without CRASH_TEST_EFFECTS_DSN it does nothing.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

DSN = os.environ.get("CRASH_TEST_EFFECTS_DSN")

if DSN:
    import asyncpg

    from ghl_bridge.events import processor
    from ghl_bridge.jobs import bullmq as bull

    DELAY_S = float(os.environ.get("CRASH_TEST_DELAY_S", "0.3"))

    async def record_effect(event: Any, body: dict[str, Any]) -> None:
        conn = await asyncpg.connect(DSN)
        try:
            await conn.execute(
                "INSERT INTO crash_attempts (webhook_id, pid) VALUES ($1, $2)",
                event.webhook_id,
                os.getpid(),
            )
            await asyncio.sleep(DELAY_S)
            await conn.execute(
                "INSERT INTO crash_effects (webhook_id) VALUES ($1) ON CONFLICT DO NOTHING",
                event.webhook_id,
            )
        finally:
            await conn.close()

    _processor_init = processor.EventProcessor.__init__
    _worker_init = bull.BullMQWorker.__init__

    def _with_sink(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["sinks"] = (*kwargs.get("sinks", ()), record_effect)
        _processor_init(self, *args, **kwargs)

    def _quick_stalls(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["settings"] = bull.BullWorkerSettings(
            concurrency=kwargs.get("concurrency", 8),
            lock_duration_ms=2000,
            stalled_interval_ms=1000,
        )
        _worker_init(self, *args, **kwargs)

    processor.EventProcessor.__init__ = _with_sink  # type: ignore[method-assign]
    bull.BullMQWorker.__init__ = _quick_stalls  # type: ignore[method-assign]
