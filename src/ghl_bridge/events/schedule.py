"""When an outbound delivery is attempted: the retry schedule, Retry-After, and its job.

The schedule is data (GHL_BRIDGE_OUTBOUND_RETRY_SCHEDULE, default ``5s,5m,30m,2h,5h,10h``):
the waits after the 1st, 2nd, … failed attempt, each with ±20 % jitter so a target that comes
back is not hit by every waiting delivery at once. A delivery whose schedule runs out is dead.
Pure functions, plus the one place that names a delivery's job.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime

from ghl_bridge.jobs.names import OUTBOUND_DELIVERY_JOB
from ghl_bridge.jobs.port import Queue

DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h"
JITTER = 0.2
MAX_WAIT_S = 86_400.0  # no single wait (schedule step or Retry-After) beyond a day
MAX_STEPS = 20
JOB_ATTEMPTS = 10  # job-level retries cover our own failures (the database), not the target's
_STEP = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_schedule(text: str) -> tuple[float, ...]:
    """``"5s,5m,2h"`` → (5.0, 300.0, 7200.0). Raises ValueError on a malformed step."""
    steps = []
    for raw in text.split(","):
        match = _STEP.match(raw.strip())
        if match is None:
            raise ValueError(f"retry schedule step {raw.strip()!r} is not like 5s, 5m or 2h")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
        if seconds > MAX_WAIT_S:
            raise ValueError(f"retry schedule step {raw.strip()!r} is over a day")
        steps.append(seconds)
    if not steps or len(steps) > MAX_STEPS:
        raise ValueError(f"the retry schedule needs 1-{MAX_STEPS} steps")
    return tuple(steps)


def next_delay(
    schedule: Sequence[float], attempts: int, rand: Callable[[], float] = random.random
) -> float | None:
    """The wait after ``attempts`` failed attempts, jittered; None once the schedule is spent
    (``len(schedule) + 1`` attempts in all)."""
    if attempts < 1 or attempts > len(schedule):
        return None
    return schedule[attempts - 1] * (1 - JITTER + 2 * JITTER * rand())


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as a wait in seconds, capped at a day;
    None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_WAIT_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_WAIT_S)


def job_id(delivery_id: str, generation: int) -> str:
    """One job per delivery generation: re-queueing it is a no-op, a replay gets a new one."""
    return f"{delivery_id}-g{generation}"


async def enqueue_delivery(
    queue: Queue, delivery_id: str, generation: int, delay_s: float = 0.0
) -> str:
    """Queue (idempotently) the job that attempts this delivery generation."""
    return await queue.enqueue(
        OUTBOUND_DELIVERY_JOB,
        {"deliveryId": delivery_id, "generation": generation},
        job_id=job_id(delivery_id, generation),
        delay_s=max(delay_s, 0.0),
        attempts=JOB_ATTEMPTS,
        backoff_s=5.0,
    )
