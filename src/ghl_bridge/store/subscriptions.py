"""Subscriptions: a tenant's routing rules. Every read is confined to one tenant.

The repository stores what the events layer validated and sealed; it never sees a plaintext
signing secret. Imports nothing above the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.models import ApiKey, Subscription

MAX_PER_TENANT = 500


def seal_context(subscription_id: str) -> str:
    """AAD binding sealed secrets to their row: they cannot be copied to another. Here, not in
    events/, because key rotation (oauth/) re-seals them too."""
    return f"subscription:{subscription_id}:secrets"


class TooManySubscriptions(Exception):
    """The tenant already has `MAX_PER_TENANT` subscriptions."""


class SubscriptionRepo(Repository):
    async def create(self, row: Subscription) -> Subscription:
        """Insert a subscription built by the caller (its id chosen beforehand: the sealed
        secrets are bound to it). Raises `TooManySubscriptions`."""
        now = self._clock()
        row.created_at = row.updated_at = now
        async with self._sessions.begin() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.tenant_id == row.tenant_id)
            )
            if (count or 0) >= MAX_PER_TENANT:
                raise TooManySubscriptions(row.tenant_id)
            session.add(row)
        return row

    async def get(
        self, subscription_id: str, *, tenant_id: str | None = None
    ) -> Subscription | None:
        """The subscription, or None — also when it belongs to another tenant than ``tenant_id``."""
        async with self._sessions() as session:
            row = await session.get(Subscription, subscription_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            return None
        return row

    async def list(self, tenant_id: str) -> Sequence[Subscription]:
        """The tenant's subscriptions, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Subscription)
                .where(Subscription.tenant_id == tenant_id)
                .order_by(Subscription.created_at, Subscription.id)
            )
            return rows.all()

    async def active(self, tenant_id: str) -> Sequence[Subscription]:
        """The tenant's active subscriptions (what an event of this tenant is matched against)."""
        return (await self.active_for([tenant_id]))[tenant_id]

    async def active_for(self, tenant_ids: Sequence[str]) -> dict[str, Sequence[Subscription]]:
        """`active` for several tenants in one query (every tenant asked for has a list)."""
        found: dict[str, list[Subscription]] = {tenant: [] for tenant in tenant_ids}
        if not found:
            return {}
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Subscription)
                .where(Subscription.tenant_id.in_(found), Subscription.active.is_(True))
                .order_by(Subscription.created_at, Subscription.id)
            )
            for row in rows:
                found[row.tenant_id].append(row)
        return {tenant: found[tenant] for tenant in found}

    async def delete(self, subscription_id: str, *, tenant_id: str) -> bool:
        """Delete a subscription and (cascade) its deliveries; False if the tenant has none."""
        async with self._sessions.begin() as session:
            gone = await session.execute(
                delete(Subscription)
                .where(Subscription.id == subscription_id, Subscription.tenant_id == tenant_id)
                .returning(Subscription.id)
            )
            return gone.scalar_one_or_none() is not None

    async def update(
        self, subscription_id: str, *, tenant_id: str, **values: Any
    ) -> Subscription | None:
        """Set these columns (and ``updated_at``); the row as stored then, or None if the
        tenant has no such subscription. Routing reads the change with its next batch."""
        async with self._sessions.begin() as session:
            row: Subscription | None = await session.scalar(
                update(Subscription)
                .where(Subscription.id == subscription_id, Subscription.tenant_id == tenant_id)
                .values(updated_at=self._clock(), **values)
                .returning(Subscription)
                .execution_options(synchronize_session=False)
            )
            return row

    async def set_secrets(self, subscription_id: str, sealed: str, *, tenant_id: str) -> bool:
        """Replace the sealed secret list (rotation); False if the tenant has no such row."""
        return await self._set(subscription_id, tenant_id, secrets_sealed=sealed)

    async def _set(self, subscription_id: str, tenant_id: str, **values: Any) -> bool:
        async with self._sessions.begin() as session:
            done = await session.execute(
                update(Subscription)
                .where(Subscription.id == subscription_id, Subscription.tenant_id == tenant_id)
                .values(updated_at=self._clock(), **values)
                .returning(Subscription.id)
                .execution_options(synchronize_session=False)
            )
            return done.scalar_one_or_none() is not None

    async def sealed_not_under(
        self, prefix: str, *, after_id: str | None = None, limit: int = 500
    ) -> Sequence[Subscription]:
        """Subscriptions whose secrets are not sealed under the key ``prefix`` names (key
        rotation), in id order from ``after_id``."""
        query = select(Subscription).where(
            Subscription.secrets_sealed.is_not(None),
            Subscription.secrets_sealed.not_like(f"{prefix}%"),
        )
        if after_id is not None:
            query = query.where(Subscription.id > after_id)
        async with self._sessions() as session:
            rows = await session.scalars(query.order_by(Subscription.id).limit(limit))
            return rows.all()

    async def count_sealed_not_under(self, prefix: str) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).where(
                    Subscription.secrets_sealed.is_not(None),
                    Subscription.secrets_sealed.not_like(f"{prefix}%"),
                )
            )
            return int(count or 0)

    async def reseal_secrets(self, subscription_id: str, old: str, new: str) -> bool:
        """Swap the sealed secrets only if they are still ``old``: a rotation of the secret
        itself that lands in between wins, and the row is picked up on the next pass."""
        async with self._sessions.begin() as session:
            done = await session.execute(
                update(Subscription)
                .where(Subscription.id == subscription_id, Subscription.secrets_sealed == old)
                .values(secrets_sealed=new)
                .returning(Subscription.id)
                .execution_options(synchronize_session=False)
            )
            return done.scalar_one_or_none() is not None

    async def creator_revoked(self, row: Subscription) -> bool:
        """Whether the API key that created ``row`` has been revoked (or deleted) since: its
        action runs stop then, as the key's own calls would."""
        if row.key_id is None:
            return False
        async with self._sessions() as session:
            key = await session.get(ApiKey, row.key_id)
        return key is None or key.revoked_at is not None
