"""Reconciliation checkpoints, and the inbox query reconciliation dedups against.

A checkpoint row per (location, kind) says up to when that location's records were searched.
``claim`` creates it on first use and takes a lease, so when several processes run the
reconciler (every serve and worker does) one of them searches a location at a time; the
checkpoint moves only in ``advance``, after a run succeeded, and a failed or crashed run
leaves it where it was (the lease simply expires).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.errors import StoreError
from ghl_bridge.store.models import RECONCILE_KINDS, ReconcileCheckpoint, WebhookEvent, new_id
from ghl_bridge.store.types import require_aware

MAX_ERROR_CHARS = 2000
MAX_EVENTS = 50_000  # a bound on one window's inbox scan; far above one interval's traffic


def _insert_if_missing(session: AsyncSession, values: dict[str, Any]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(ReconcileCheckpoint)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["location_id", "kind"])
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(ReconcileCheckpoint)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["location_id", "kind"])
        )
    raise StoreError(f"unsupported database dialect {dialect!r}")


class ReconcileRepo(Repository):
    """Checkpoints (claim, advance, fail, list) and the recent-events query."""

    async def claim(
        self,
        tenant_id: str,
        location_id: str,
        kind: str,
        *,
        start_at: datetime,
        lease_s: float,
    ) -> ReconcileCheckpoint | None:
        """The checkpoint of (location, kind), leased to the caller for ``lease_s`` seconds, or
        None while another run holds it. A first claim creates it at ``start_at``."""
        if kind not in RECONCILE_KINDS:
            raise ValueError(f"kind must be one of {RECONCILE_KINDS}")
        require_aware(start_at, "start_at")
        now = self._clock()
        values = {
            "id": new_id("rcp_"),
            "tenant_id": tenant_id,
            "location_id": location_id,
            "kind": kind,
            "checkpoint_at": start_at,
            "synthesized": 0,
            "updated_at": now,
        }
        take = (
            update(ReconcileCheckpoint)
            .where(
                ReconcileCheckpoint.location_id == location_id,
                ReconcileCheckpoint.kind == kind,
                or_(
                    ReconcileCheckpoint.lease_until.is_(None),
                    ReconcileCheckpoint.lease_until < now,
                ),
            )
            .values(lease_until=now + timedelta(seconds=lease_s), updated_at=now)
            .returning(ReconcileCheckpoint.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            await session.execute(_insert_if_missing(session, values))
            taken = (await session.execute(take)).scalar_one_or_none()
            if taken is None:
                return None
            return await session.get(ReconcileCheckpoint, taken)

    async def advance(self, checkpoint_id: str, checkpoint_at: datetime, synthesized: int) -> None:
        """A run succeeded up to ``checkpoint_at``: move there, count, release the lease."""
        require_aware(checkpoint_at, "checkpoint_at")
        now = self._clock()
        await self._set(
            checkpoint_id,
            checkpoint_at=checkpoint_at,
            synthesized=ReconcileCheckpoint.synthesized + synthesized,
            lease_until=None,
            last_run_at=now,
            last_error=None,
            updated_at=now,
        )

    async def fail(self, checkpoint_id: str, error: str) -> None:
        """A run failed: keep the checkpoint, note the error (a description, never a payload),
        release the lease so the next round retries."""
        now = self._clock()
        await self._set(
            checkpoint_id,
            lease_until=None,
            last_run_at=now,
            last_error=error[:MAX_ERROR_CHARS],
            updated_at=now,
        )

    async def _set(self, checkpoint_id: str, **values: Any) -> None:
        stmt = (
            update(ReconcileCheckpoint)
            .where(ReconcileCheckpoint.id == checkpoint_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            await session.execute(stmt)

    async def get(self, location_id: str, kind: str) -> ReconcileCheckpoint | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(ReconcileCheckpoint).where(
                    ReconcileCheckpoint.location_id == location_id,
                    ReconcileCheckpoint.kind == kind,
                )
            )

    async def list(self, tenant_id: str | None = None) -> Sequence[ReconcileCheckpoint]:
        stmt = select(ReconcileCheckpoint).order_by(
            ReconcileCheckpoint.location_id, ReconcileCheckpoint.kind
        )
        if tenant_id is not None:
            stmt = stmt.where(ReconcileCheckpoint.tenant_id == tenant_id)
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def events_since(
        self, location_id: str, event_types: Collection[str], since: datetime
    ) -> Sequence[tuple[str, str]]:
        """``(event_type, payload)`` of the location's inbox events of these types received
        since ``since`` (oldest first): what reconciliation compares the records against."""
        require_aware(since, "since")
        stmt = (
            select(WebhookEvent.event_type, WebhookEvent.payload)
            .where(
                WebhookEvent.location_id == location_id,
                WebhookEvent.event_type.in_(list(event_types)),
                WebhookEvent.received_at >= since,
            )
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
            .limit(MAX_EVENTS)
        )
        async with self._sessions() as session:
            return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
