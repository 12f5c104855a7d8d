"""The ``action`` job on the ``ghl-bridge-actions`` queue: the contract a Node.js BullMQ producer
uses to run actions (data ``{"tenant","locationId","action","input","idempotencyKey","dryRun"}``;
the job's return value is the action's output).

A job fails for good (no retries burning GHL budget) unless waiting can help: a rate limit or an
open circuit waits and retries; a 5xx or a dropped connection retries only an action that is
safe to run twice, because a create that reached GHL before the connection dropped would be
made again. ``failedReason`` starts with the stable error code (``validation_error: ...``).
"""

from __future__ import annotations

from typing import Any

from ghl_bridge.actions.service import OPERATOR, ActionService, KeyPolicy
from ghl_bridge.failures import describe
from ghl_bridge.jobs.port import Handler, Job, PermanentFailure, RetryLater


def action_job_handler(service: ActionService, policy: KeyPolicy = OPERATOR) -> Handler:
    async def handle(job: Job) -> Any:
        data = job.data
        for key in ("tenant", "locationId", "action"):
            if not isinstance(data.get(key), str) or not data.get(key):
                raise PermanentFailure(
                    f"validation_error: job data needs a non-empty string {key!r}"
                )
        try:
            return await service.run(
                data["tenant"],
                data["action"],
                data["locationId"],
                data.get("input") or {},
                # A retried job must not write twice: key it by its job id when the producer
                # gave no key of its own.
                idempotency_key=data.get("idempotencyKey") or f"job:{job.id}",
                dry_run=data.get("dryRun") is True,
                policy=policy,
            )
        except Exception as exc:
            failure = describe(exc)
            if failure is None:
                raise  # a bug of ours: the queue's backoff and failed set keep it visible
            if failure.code in ("rate_limited", "circuit_open"):
                wait = float(failure.headers.get("Retry-After", "10"))
                raise RetryLater(wait, failure.reason()) from exc
            if failure.code == "ghl_unavailable":
                if _retry_safe(service, data["action"]):
                    raise  # transient, and running it again is harmless: the queue retries
                raise PermanentFailure(
                    f"{failure.reason()} (not retried: {data['action']} is not safe to run"
                    " twice and GHL may have done it; check before running it again)"
                ) from exc
            raise PermanentFailure(failure.reason()) from exc

    return handle


def _retry_safe(service: ActionService, name: str) -> bool:
    action = service.registry.get(name)
    return action is not None and action.retry_safe
