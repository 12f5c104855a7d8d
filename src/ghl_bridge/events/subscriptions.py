"""Subscriptions as the API sees them: create, change, list, delete, rotate the signing secret,
replay.

Signing secrets are made here (``whsec_`` + 32 random bytes, the Standard Webhooks form),
shown once, and stored only sealed by the vault, bound to their subscription. A rotation keeps
the old secret signing beside the new one for a grace period, so a receiver can switch over
without dropping a delivery.

A subscription acts for the API key that created it: its locations are narrowed to that key's
location allowlist, and the key's scopes and allowlists are stored with it (see
`store.models.Subscription`) to bound the actions it runs later. A change keeps within those
stored limits too, and never touches the target: a new URL would need a new secret and address
check, a new action a new permission check, so that is a new subscription.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Collection, Sequence
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


@dataclass(frozen=True, slots=True)
class Changes:
    """A partial update (shape already checked by the API's schema): each field that is not None
    replaces the subscription's. ``locations`` replaces only when ``relocate`` is set, and None
    then means every location the subscription's creator may reach."""

    name: str | None = None
    active: bool | None = None
    event_types: Sequence[str] | None = None
    predicates: Sequence[dict[str, Any]] | None = None
    relocate: bool = False
    locations: Sequence[str] | None = None

    @property
    def reroutes(self) -> bool:
        """Whether what the subscription matches changes (not just its name or state)."""
        return self.event_types is not None or self.predicates is not None or self.relocate


# Checks that a key could create a subscription with this row's target matching these
# locations (None: all); raises as the API's create checks do.
Authorize = Callable[[Subscription, Sequence[str] | None], None]


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

    async def update(
        self,
        tenant_id: str,
        subscription_id: str,
        changes: Changes,
        caller: Creator,
        authorize: Authorize | None = None,
    ) -> Subscription:
        """Apply ``changes`` and return the row as stored. ``active=False`` pauses at once:
        routing reads the active subscriptions afresh for every batch of events.

        Validated as `create` validates. The locations are narrowed to the creator's allowlist
        (stored with the row), as at creation. A change to what the subscription matches must
        leave one the calling key could have created itself: within its locations, and passing
        ``authorize``. Renaming, pausing and resuming need neither. The same changes twice give
        the same row; one that changes nothing writes nothing. Raises NotFound (also for
        another tenant's), InvalidInput, Forbidden (and whatever ``authorize`` raises).
        """
        row = await self.get(tenant_id, subscription_id)
        values: dict[str, Any] = {}
        if changes.name is not None:
            values["name"] = changes.name
        if changes.event_types is not None:
            values["event_types"] = _dump(check_types(changes.event_types))
        if changes.predicates is not None:
            predicates = parse_predicates(changes.predicates)
            values["predicates"] = _dump([p.to_json() for p in predicates])
        locations = None if row.location_ids is None else json.loads(row.location_ids)
        if changes.relocate:
            allowed = _words(row.allowed_locations)
            locations = _narrow(changes.locations, allowed, "the API key that created it")
            values["location_ids"] = None if locations is None else _dump(locations)
        if changes.active is not None:
            values["active"] = changes.active
        if changes.reroutes:
            _within(locations, caller.locations)
            if authorize is not None:
                authorize(row, locations)
        changed = {column: v for column, v in values.items() if getattr(row, column) != v}
        if not changed:
            return row
        updated = await self.repo.update(subscription_id, tenant_id=tenant_id, **changed)
        if updated is None:  # deleted in the meantime
            raise NotFound(f"no subscription {subscription_id!r}")
        return updated

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


def _narrow(
    requested: Sequence[str] | None,
    allowed: Collection[str] | None,
    whose: str = "this API key",
) -> list[str] | None:
    """A location-limited key subscribes within its locations only: its list by default, and
    a location outside it is refused (it would read another location's events)."""
    if allowed is None:
        return None if requested is None else list(dict.fromkeys(requested))
    if requested is None:
        return list(allowed)
    outside = [loc for loc in requested if loc not in allowed]
    if outside:
        raise Forbidden(f"{whose} may not use these locations", details={"locations": outside})
    return list(dict.fromkeys(requested))


def _within(locations: Sequence[str] | None, allowed: Collection[str] | None) -> None:
    """A location-limited key may not shape a subscription that reads beyond its locations:
    not every location, and none outside its list (`_narrow`'s check)."""
    if allowed is not None and locations is None:
        raise Forbidden(
            "this API key may not use every location; name the locations",
            details={"allowed": list(allowed)},
        )
    _narrow(locations, allowed)


def _words(stored: str | None) -> tuple[str, ...] | None:
    """A space-separated allowlist as stored with a subscription (None: no list)."""
    return None if stored is None else tuple(stored.split())


def _expired(entry: dict[str, Any], now: datetime) -> bool:
    ends = entry.get("expiresAt")
    return ends is not None and datetime.fromisoformat(ends) <= now


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
