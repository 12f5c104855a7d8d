"""Subscriptions as the API sees them: create, list, delete, rotate the signing secret, replay.

Signing secrets are made here (``whsec_`` + 32 random bytes, the Standard Webhooks form),
shown once, and stored only sealed by the vault, bound to their subscription. A rotation keeps
the old secret signing beside the new one for a grace period, so a receiver can switch over
without dropping a delivery.

A subscription acts for the API key that created it: its locations are narrowed to that key's
location allowlist, and the key's scopes and allowlists are stored with it (see
`store.models.Subscription`) to bound the actions it runs later.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ghl_bridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from ghl_bridge.events.routing import check_types, parse_predicates, placeholders
from ghl_bridge.events.schedule import enqueue_delivery
from ghl_bridge.events.targets import check_target
from ghl_bridge.jobs.port import Queue
from ghl_bridge.store.deliveries import DeliveryRepo, NotReplayable
from ghl_bridge.store.models import Delivery, Subscription, new_id
from ghl_bridge.store.subscriptions import (
    MAX_PER_TENANT,
    SubscriptionRepo,
    TooManySubscriptions,
    seal_context,
)
from ghl_bridge.store.types import utcnow
from ghl_bridge.vault import Vault

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
DEFAULT_GRACE = timedelta(hours=24)
MAX_TEMPLATE_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Creator:
    """The API key creating a subscription: what it may do is what the subscription may do."""

    key_id: str | None
    scopes: tuple[str, ...]
    actions: tuple[str, ...] | None = None
    locations: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    """A subscription as requested (shape already checked by the API's schema)."""

    name: str
    event_types: Sequence[str]
    target_kind: str
    locations: Sequence[str] | None = None
    predicates: Sequence[dict[str, Any]] = ()
    url: str | None = None
    action: str | None = None
    action_input: dict[str, Any] = field(default_factory=dict)
    active: bool = True


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class SubscriptionService:
    def __init__(
        self,
        repo: SubscriptionRepo,
        deliveries: DeliveryRepo,
        vault: Vault,
        queue: Queue,
        *,
        allow_private: bool = False,
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        self.repo = repo
        self.deliveries = deliveries
        self._vault = vault
        self._queue = queue
        self.allow_private = allow_private
        self._grace = grace

    def __repr__(self) -> str:
        return f"SubscriptionService(allow_private={self.allow_private!r})"

    async def create(
        self, tenant_id: str, spec: Spec, creator: Creator
    ) -> tuple[Subscription, str | None]:
        """Validate and store; returns the row and, for a webhook, its secret (shown once).

        Raises InvalidInput (unknown event types, malformed predicates or template, a refused
        URL) and Forbidden (a location outside the key's allowlist).
        """
        types = check_types(spec.event_types)
        predicates = [p.to_json() for p in parse_predicates(spec.predicates)]
        locations = _narrow(spec.locations, creator.locations)
        row = Subscription(
            id=new_id("sub_"),
            tenant_id=tenant_id,
            name=spec.name,
            event_types=_dump(types),
            location_ids=None if locations is None else _dump(locations),
            predicates=_dump(predicates),
            target_kind=spec.target_kind,
            key_id=creator.key_id,
            scopes=" ".join(creator.scopes),
            allowed_actions=None if creator.actions is None else " ".join(creator.actions),
            allowed_locations=None if creator.locations is None else " ".join(creator.locations),
            active=spec.active,
        )
        secret = None
        if spec.target_kind == "webhook":
            if not spec.url:
                raise InvalidInput("a webhook target needs a url")
            await check_target(spec.url, allow_private=self.allow_private)
            secret = new_secret()
            row.url = spec.url
            row.secrets_sealed = self._seal(row.id, [{"secret": secret, "expiresAt": None}])
        else:
            template = _dump(spec.action_input)
            if len(template.encode()) > MAX_TEMPLATE_BYTES:
                raise InvalidInput(f"the action input template is over {MAX_TEMPLATE_BYTES} bytes")
            placeholders(spec.action_input)
            row.action, row.action_input = spec.action, template
        try:
            return await self.repo.create(row), secret
        except TooManySubscriptions:
            raise Conflict(f"a tenant may have at most {MAX_PER_TENANT} subscriptions") from None

    async def get(self, tenant_id: str, subscription_id: str) -> Subscription:
        row = await self.repo.get(subscription_id, tenant_id=tenant_id)
        if row is None:  # another tenant's looks the same as none at all
            raise NotFound(f"no subscription {subscription_id!r}")
        return row

    async def delete(self, tenant_id: str, subscription_id: str) -> None:
        if not await self.repo.delete(subscription_id, tenant_id=tenant_id):
            raise NotFound(f"no subscription {subscription_id!r}")

    async def rotate(self, tenant_id: str, subscription_id: str) -> tuple[Subscription, str]:
        """A new secret signs from now on; the previous ones keep signing until the grace
        period ends (each keeps its earlier end if it already had one)."""
        row = await self.get(tenant_id, subscription_id)
        if row.target_kind != "webhook" or row.secrets_sealed is None:
            raise InvalidInput("only webhook subscriptions have a signing secret")
        now = utcnow()
        until = (now + self._grace).isoformat()
        kept = [
            {**entry, "expiresAt": entry.get("expiresAt") or until}
            for entry in self._entries(row)
            if not _expired(entry, now)
        ]
        secret = new_secret()
        sealed = self._seal(row.id, [{"secret": secret, "expiresAt": None}, *kept])
        await self.repo.set_secrets(row.id, sealed, tenant_id=tenant_id)
        row.secrets_sealed = sealed
        return row, secret

    def signing_secrets(self, row: Subscription, now: datetime) -> list[str]:
        """The secrets that sign a delivery now: the current one first, then any in grace."""
        return [e["secret"] for e in self._entries(row) if not _expired(e, now)]

    def secret_count(self, row: Subscription) -> int:
        return len(self.signing_secrets(row, utcnow())) if row.secrets_sealed else 0

    async def list_deliveries(
        self, tenant_id: str, subscription_id: str, *, status: str | None, limit: int
    ) -> Sequence[Delivery]:
        await self.get(tenant_id, subscription_id)
        return await self.deliveries.list(subscription_id, status=status, limit=limit)

    async def replay(self, tenant_id: str, delivery_id: str) -> Delivery:
        """Send a finished delivery again (a new generation, attempts from zero)."""
        try:
            row = await self.deliveries.replay(delivery_id, tenant_id=tenant_id)
        except NotReplayable:
            raise Conflict("this delivery is still pending; it will be attempted") from None
        if row is None:
            raise NotFound(f"no delivery {delivery_id!r}")
        await enqueue_delivery(self._queue, row.id, row.generation)
        return row

    def _seal(self, subscription_id: str, entries: list[dict[str, Any]]) -> str:
        return self._vault.seal(_dump(entries), context=seal_context(subscription_id))

    def _entries(self, row: Subscription) -> list[dict[str, Any]]:
        if row.secrets_sealed is None:
            return []
        opened = self._vault.unseal(row.secrets_sealed, context=seal_context(row.id))
        entries: list[dict[str, Any]] = json.loads(opened)
        return entries


def _narrow(requested: Sequence[str] | None, allowed: Collection[str] | None) -> list[str] | None:
    """A location-limited key subscribes within its locations only: its list by default, and
    a location outside it is refused (it would read another location's events)."""
    if allowed is None:
        return None if requested is None else list(dict.fromkeys(requested))
    if requested is None:
        return list(allowed)
    outside = [loc for loc in requested if loc not in allowed]
    if outside:
        raise Forbidden("this API key may not use these locations", details={"locations": outside})
    return list(dict.fromkeys(requested))


def _expired(entry: dict[str, Any], now: datetime) -> bool:
    ends = entry.get("expiresAt")
    return ends is not None and datetime.fromisoformat(ends) <= now


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
