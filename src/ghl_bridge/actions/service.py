"""Running an action for a tenant: existence, input schema, ownership of the location, then GHL.

The same path serves REST, the BullMQ ``action`` job, and the CLI, so a check added here holds
everywhere.
"""

from __future__ import annotations

from typing import Any

import structlog

from ghl_bridge.actions.registry import JSON, Action, ActionContext, Registry
from ghl_bridge.client import GHLClient
from ghl_bridge.errors import Forbidden, InvalidInput, NotFound
from ghl_bridge.store.connections import ConnectionRepo

log = structlog.get_logger("ghl_bridge.actions")


class ActionService:
    def __init__(self, registry: Registry, connections: ConnectionRepo, ghl: GHLClient) -> None:
        self.registry = registry
        self._connections = connections
        self._ghl = ghl

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
        if owner != tenant_id:
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
        output = await action.run(ctx, payload)
        log.info("action.ran", action=name, tenant=tenant_id, location=location_id)
        return output
