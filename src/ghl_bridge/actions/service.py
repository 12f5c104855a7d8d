"""Running an action for a tenant: existence, key policy, input, ownership of the location, GHL.

The same path serves REST, the BullMQ ``action`` job, and the CLI, so a check added here holds
everywhere. Order matters: a key that may not run an action learns that before anything about
its input, and input is checked before anything is asked of the database or GHL.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

import structlog
from pydantic import BaseModel, ValidationError

from ghl_bridge.actions.models import JSON
from ghl_bridge.actions.registry import Action, ActionContext, Kind, Registry
from ghl_bridge.actions.support import ActionSupport
from ghl_bridge.client import DryRunIntercepted, DryRunMode, GHLClient, dry_run
from ghl_bridge.client.errors import GHLAPIError, RateLimitedError, ServerError
from ghl_bridge.errors import (
    ActionNotAllowed,
    BridgeError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
)
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.idempotency import IdempotencyRepo, request_hash

log = structlog.get_logger("ghl_bridge.actions")

# What a key's scopes must hold to run an action of each kind.
NEEDS: dict[Kind, frozenset[str]] = {
    Kind.READ: frozenset({"read"}),
    Kind.WRITE: frozenset({"write"}),
    Kind.DESTRUCTIVE: frozenset({"write", "destructive"}),
    Kind.OUTBOUND: frozenset({"write", "outbound"}),
}


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """What one caller may run: scopes by action kind, optional action and location allowlists.

    ``actions`` entries are action names or area wildcards (``contacts.*``). ``None`` means no
    list. The queue and the CLI run as ``OPERATOR``: whoever can write to the queue or run the
    CLI already holds the service's own credentials.
    """

    scopes: frozenset[str]
    actions: tuple[str, ...] | None = None
    locations: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        scopes: Collection[str],
        actions: Collection[str] | None = None,
        locations: Collection[str] | None = None,
    ) -> KeyPolicy:
        return cls(
            frozenset(scopes),
            None if actions is None else tuple(actions),
            None if locations is None else frozenset(locations),
        )

    def check(self, action: Action, location_id: str, kind: Kind | None = None) -> None:
        kind = kind or action.kind
        missing = sorted(NEEDS[kind] - self.scopes)
        if missing:
            raise ActionNotAllowed(
                f"{action.name} is a {kind.value} action here; this API key lacks the"
                f" {' and '.join(repr(s) for s in missing)} scope",
                details={"action": action.name, "kind": kind.value, "missing": missing},
            )
        if self.actions is not None and not any(
            fnmatchcase(action.name, allowed) for allowed in self.actions
        ):
            raise ActionNotAllowed(
                f"this API key may not run {action.name}",
                details={"action": action.name, "allowed": list(self.actions)},
            )
        if self.locations is not None and location_id not in self.locations:
            raise ActionNotAllowed(
                f"this API key may not act on location {location_id}",
                details={"locationId": location_id},
            )


OPERATOR = KeyPolicy(frozenset({"read", "write", "destructive", "outbound"}))


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
        support: ActionSupport | None = None,
    ) -> None:
        self.registry = registry
        self._connections = connections
        self._ghl = ghl
        self._ledger = ledger
        self._adopter = adopter
        self.support = support or ActionSupport()

    def action(self, name: str) -> Action:
        action = self.registry.get(name)
        if action is None:
            raise NotFound(f"no action named {name!r}; GET /v1/actions lists them")
        return action

    def validate(self, action: Action, data: Any) -> BaseModel:
        """Parse ``data`` into the action's input model; InvalidInput lists every problem."""
        if not isinstance(data, dict):
            raise InvalidInput("input must be a JSON object")
        try:
            return action.input.model_validate(data)
        except ValidationError as exc:
            details = [
                {
                    "path": "/".join(str(p) for p in err["loc"]) or "(root)",
                    "message": err["msg"],
                }
                for err in exc.errors(include_url=False, include_input=False)[:20]
            ]
            raise InvalidInput(
                f"input does not match {action.name}'s schema", details=details
            ) from None

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

    async def admit(
        self, tenant_id: str, name: str, location_id: str, data: Any, policy: KeyPolicy
    ) -> tuple[Action, BaseModel]:
        """Every check short of running: the action exists, the key may run it here, the input
        is valid, the tenant owns the location. The async REST path calls it before queueing."""
        action = self.action(name)
        policy.check(action, location_id)
        payload = self.validate(action, data)
        if action.kind_for is not None:  # e.g. ghl.request: a DELETE needs more than a GET
            policy.check(action, location_id, action.kind_of(payload))
        await self.authorize(tenant_id, location_id)
        return action, payload

    async def run(
        self,
        tenant_id: str,
        name: str,
        location_id: str,
        data: Any,
        *,
        idempotency_key: str | None = None,
        dry_run: bool = False,
        policy: KeyPolicy = OPERATOR,
    ) -> JSON:
        action, payload = await self.admit(tenant_id, name, location_id, data, policy)
        if dry_run:
            return await self._dry_run(action, tenant_id, location_id, payload)
        ctx = ActionContext(self._ghl, tenant_id, location_id, self.support, idempotency_key)
        if idempotency_key is None or self._ledger is None:
            output = _dump(await action.run(ctx, payload))
        else:
            output = await self._run_once(action, ctx, payload)
        log.info("action.ran", action=name, tenant=tenant_id, location=location_id)
        return output

    async def _dry_run(
        self, action: Action, tenant_id: str, location_id: str, payload: BaseModel
    ) -> JSON:
        """Run up to the first GHL request that would change something (any request, for a
        read) and return it unsent. Reads an action needs to build that request (a field map,
        a stage name) are made; nothing is written, here or in our records."""
        mode: DryRunMode = "all" if action.kind_of(payload) is Kind.READ else "writes"
        ctx = ActionContext(self._ghl, tenant_id, location_id, self.support, dry_run=True)
        answer: JSON = {"dryRun": True, "action": action.name, "locationId": location_id}
        try:
            with dry_run(mode):
                await action.run(ctx, payload)
        except DryRunIntercepted as stop:
            return {**answer, "valid": True, "request": stop.request}
        # Some actions find nothing to send (the tag is already there, the contact already
        # left the campaign): that is the honest answer.
        return {**answer, "valid": True, "request": None}

    async def _run_once(self, action: Action, ctx: ActionContext, payload: BaseModel) -> JSON:
        """Run under the idempotency ledger: the same key gets the first outcome back."""
        assert self._ledger is not None and ctx.idempotency_key is not None
        key, tenant = ctx.idempotency_key, ctx.tenant_id
        claim = await self._ledger.claim(
            tenant,
            key,
            action=action.name,
            location_id=ctx.location_id,
            fingerprint=request_hash(action.name, ctx.location_id, payload.model_dump(mode="json")),
        )
        if claim.state == "mismatch":
            raise InvalidInput("this Idempotency-Key was already used for a different request")
        if claim.state == "in_progress":
            raise Conflict("a request with this Idempotency-Key is still running; retry later")
        if claim.state == "replay":
            return _replayed(claim.status, claim.response)
        try:
            output = _dump(await action.run(ctx, payload))
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


def _dump(output: BaseModel) -> JSON:
    return output.model_dump(mode="json", by_alias=True, exclude_none=True)


class ReplayedFailure(BridgeError):
    """The first request with this Idempotency-Key failed at GHL; the same failure is returned."""

    code = "ghl_error"

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
