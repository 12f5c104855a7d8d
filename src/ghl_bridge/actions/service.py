"""Running an action for a tenant: existence, input schema, ownership of the location, then GHL.

The same path serves REST, the BullMQ ``action`` job, and the CLI, so a check added here holds
everywhere.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from ghl_bridge.actions.registry import JSON, Action, ActionContext, Registry
from ghl_bridge.client import GHLClient
from ghl_bridge.client.errors import GHLAPIError, RateLimitedError, ServerError
from ghl_bridge.errors import BridgeError, Conflict, Forbidden, InvalidInput, NotFound
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.idempotency import IdempotencyRepo, request_hash

log = structlog.get_logger("ghl_bridge.actions")


class LocationAdopter(Protocol):
    async def adopt_location(self, tenant_id: str, location_id: str) -> bool: ...


class ActionService:
    def __init__(
        self,
        registry: Registry,
        connections: ConnectionRepo,
        ghl: GHLClient,
        ledger: IdempotencyRepo | None = None,
        adopter: LocationAdopter | None = None,
    ) -> None:
        self.registry = registry
        self._connections = connections
        self._ghl = ghl
        self._ledger = ledger
        self._adopter = adopter

    def action(self, name: str) -> Action:
        action = self.registry.get(name)
        if action is None:
            raise NotFound(f"no action named {name!r}; GET /v1/actions lists them")
        return action

    def validate(self, action: Action, data: Any) -> JSON:
        """Check ``data`` against the action's input schema; InvalidInput lists every problem."""
        if not isinstance(data, dict):
            raise InvalidInput("input must be a JSON object")
        problems = sorted(action.validator.iter_errors(data), key=lambda e: list(e.path))
        if problems:
            details = [
                {"path": "/".join(str(p) for p in err.path) or "(root)", "message": err.message}
                for err in problems[:20]
            ]
            raise InvalidInput(f"input does not match {action.name}'s schema", details=details)
        return data

    async def authorize(self, tenant_id: str, location_id: str) -> None:
        """A tenant may act only on locations it has a connection for; anything else is 403.

        "Not connected" and "another tenant's" answer the same, so one tenant cannot probe
        which locations other tenants have.
        """
        owner = await self._connections.owner_of(location_id)
        if owner == tenant_id:
            return
        # A sub-account of the tenant's agency install is connected on first use.
        adopter = self._adopter
        if owner is None and adopter and await adopter.adopt_location(tenant_id, location_id):
            return
        raise Forbidden(f"this tenant has no connection for location {location_id}")

    async def run(
        self,
        tenant_id: str,
        name: str,
        location_id: str,
        data: Any,
        *,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> JSON:
        action = self.action(name)
        payload = self.validate(action, data)
        await self.authorize(tenant_id, location_id)
        if dry_run:
            return {"dryRun": True, "action": name, "locationId": location_id, "valid": True}
        ctx = ActionContext(self._ghl, tenant_id, location_id, idempotency_key)
        if idempotency_key is None or self._ledger is None:
            output = await action.run(ctx, payload)
        else:
            output = await self._run_once(action, ctx, payload)
        log.info("action.ran", action=name, tenant=tenant_id, location=location_id)
        return output

    async def _run_once(self, action: Action, ctx: ActionContext, payload: JSON) -> JSON:
        """Run under the idempotency ledger: the same key gets the first outcome back."""
        assert self._ledger is not None and ctx.idempotency_key is not None
        key, tenant = ctx.idempotency_key, ctx.tenant_id
        claim = await self._ledger.claim(
            tenant,
            key,
            action=action.name,
            location_id=ctx.location_id,
            fingerprint=request_hash(action.name, ctx.location_id, payload),
        )
        if claim.state == "mismatch":
            raise InvalidInput("this Idempotency-Key was already used for a different request")
        if claim.state == "in_progress":
            raise Conflict("a request with this Idempotency-Key is still running; retry later")
        if claim.state == "replay":
            return _replayed(claim.status, claim.response)
        try:
            output = await action.run(ctx, payload)
        except GHLAPIError as exc:
            if isinstance(exc, ServerError | RateLimitedError):
                await self._ledger.release(tenant, key)  # transient: the same key may try again
            else:  # GHL refused it; it would refuse it again
                failure = {"status": exc.status, "message": exc.message, "traceId": exc.trace_id}
                await self._ledger.finish(tenant, key, status="failed", response=failure)
            raise
        except BaseException:
            await self._ledger.release(tenant, key)
            raise
        await self._ledger.finish(tenant, key, status="succeeded", response=output)
        return output


class ReplayedFailure(BridgeError):
    """The first request with this Idempotency-Key failed at GHL; the same failure is returned."""

    code = "ghl_refused"

    def __init__(self, failure: dict[str, Any]) -> None:
        super().__init__(
            f"GHL refused the first request with this key: {failure.get('message')}",
            details=failure,
        )
        self.status = int(failure.get("status") or 400)


def _replayed(status: str | None, response: Any) -> JSON:
    if status == "succeeded" and isinstance(response, dict):
        return response
    raise ReplayedFailure(response if isinstance(response, dict) else {})
