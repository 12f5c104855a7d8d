"""The ``action`` job on the ``ghl-bridge-actions`` queue: the contract a Node.js BullMQ producer
uses to run actions (data ``{"tenant","locationId","action","input","idempotencyKey"}``; the job's
return value is the action's output)."""

from __future__ import annotations

from typing import Any

from ghl_bridge.actions.service import ActionService
from ghl_bridge.client.errors import (
    GHLAPIError,
    RateLimitedError,
    ReauthorizationRequired,
    ServerError,
)
from ghl_bridge.errors import BridgeError
from ghl_bridge.jobs.port import Handler, Job, PermanentFailure, RetryLater


def action_job_handler(service: ActionService) -> Handler:
    async def handle(job: Job) -> Any:
        data = job.data
        for key in ("tenant", "locationId", "action"):
            if not isinstance(data.get(key), str) or not data.get(key):
                raise PermanentFailure(f"job data needs a non-empty string {key!r}")
        try:
            return await service.run(
                data["tenant"],
                data["action"],
                data["locationId"],
                data.get("input") or {},
                # A retried job must not write twice: key it by its job id when the producer
                # gave no key of its own.
                idempotency_key=data.get("idempotencyKey") or f"job:{job.id}",
            )
        except (
            BridgeError
        ) as exc:  # invalid input, not allowed, unknown action: retrying won't help
            raise PermanentFailure(f"{exc.code}: {exc.message}") from exc
        except ReauthorizationRequired as exc:
            raise PermanentFailure(str(exc)) from exc
        except RateLimitedError as exc:
            raise RetryLater(exc.retry_after or 10.0, "GHL rate limit") from exc
        except GHLAPIError as exc:
            if isinstance(exc, ServerError):
                raise  # transient: the queue retries with backoff
            raise PermanentFailure(str(exc)) from exc

    return handle
