"""Actions run by subscriptions (an event triggers an action): under the creating key's policy.

A subscription stores the scopes and allowlists of the API key that created it; every run it
triggers is checked against exactly those, the way that key's own request would be. So a
read-only key cannot create a subscription that writes, and a key limited to some actions or
locations cannot reach past them through a subscription. The events layer cannot import the
actions layer (they are siblings), so it calls this through its `ActionRunner` protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ghl_bridge.actions.models import JSON
from ghl_bridge.actions.service import ActionService, KeyPolicy


class TriggerRunner:
    def __init__(self, service: ActionService) -> None:
        self._service = service

    async def run(
        self,
        tenant_id: str,
        name: str,
        location_id: str,
        data: dict[str, Any],
        *,
        idempotency_key: str,
        scopes: Sequence[str],
        actions: Sequence[str] | None,
        locations: Sequence[str] | None,
    ) -> JSON:
        """Run with the stored grant; the idempotency key makes a retried delivery run once."""
        return await self._service.run(
            tenant_id,
            name,
            location_id,
            data,
            idempotency_key=idempotency_key,
            policy=KeyPolicy.of(scopes, actions, locations),
        )

    def retry_safe(self, name: str) -> bool:
        """Whether running ``name`` twice is harmless (a 5xx after GHL acted may be retried)."""
        action = self._service.registry.get(name)
        return action is not None and action.retry_safe
