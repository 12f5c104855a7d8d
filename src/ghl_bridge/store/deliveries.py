"""Deliveries: one row per (subscription, event), and the record of every attempt.

Routing inserts with ON CONFLICT DO NOTHING on (subscription_id, event_id), so an event that is
processed twice (a redelivered job, a replay) routes once. An attempt is claimed with a
compare-and-set on (generation, attempts): two workers holding the same job cannot both send.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.errors import StoreError
from ghl_bridge.store.models import DELIVERY_STATUSES, Delivery, new_id

LOG_CAP = 20  # attempts kept per delivery; older ones are dropped, the counters stay
MAX_ERROR_CHARS = 500
FINAL = ("delivered", "failed", "dead")


class NotReplayable(Exception):
    """The delivery is still pending: it will be attempted anyway."""


def _insert_routes(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(Delivery).values(rows)
        return pg.on_conflict_do_nothing(index_elements=["subscription_id", "event_id"]).returning(
            Delivery.id
        )
    if dialect == "sqlite":
        lite = sqlite.insert(Delivery).values(rows)
        return lite.on_conflict_do_nothing(
            index_elements=["subscription_id", "event_id"]
        ).returning(Delivery.id)
    raise StoreError(f"unsupported database dialect {dialect!r}")


class DeliveryRepo(Repository):
    async def route(
        self, *, tenant_id: str, event_id: str, event_type: str, subscription_ids: Sequence[str]
    ) -> list[Delivery]:
        """Record the event for each subscription (once each, whatever the concurrency) and
        return every delivery of this event still waiting for its first attempt — the new ones,
        and any an earlier run recorded but could not queue."""
        now = self._clock()
        rows = [
            {
                "id": new_id("dlv_"),
                "tenant_id": tenant_id,
                "subscription_id": sub_id,
                "event_id": event_id,
                "event_type": event_type,
                "status": "pending",
                "generation": 1,
                "attempts": 0,
                "next_attempt_at": now,
                "log": "[]",
                "created_at": now,
                "updated_at": now,
            }
            for sub_id in dict.fromkeys(subscription_ids)
        ]
        async with self._sessions.begin() as session:
            if rows:
                await session.execute(_insert_routes(session, rows))
            found = await session.scalars(
                select(Delivery).where(
                    Delivery.event_id == event_id,
                    Delivery.status == "pending",
                    Delivery.attempts == 0,
                )
            )
            return list(found.all())

    async def get(self, delivery_id: str, *, tenant_id: str | None = None) -> Delivery | None:
        """The delivery, or None — also when it belongs to another tenant than ``tenant_id``."""
        async with self._sessions() as session:
            row = await session.get(Delivery, delivery_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            return None
        return row

    async def list(
        self, subscription_id: str, *, status: str | None = None, limit: int = 50
    ) -> Sequence[Delivery]:
        """A subscription's deliveries, newest first."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise ValueError(f"status must be one of {DELIVERY_STATUSES}")
        stmt = select(Delivery).where(Delivery.subscription_id == subscription_id)
        if status is not None:
            stmt = stmt.where(Delivery.status == status)
        stmt = stmt.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit)
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def claim(self, delivery_id: str, generation: int, attempts: int) -> bool:
        """Take attempt ``attempts + 1`` of this generation; False if someone else did, the
        delivery was replayed, or it is no longer pending."""
        stmt = (
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.generation == generation,
                Delivery.attempts == attempts,
                Delivery.status == "pending",
            )
            .values(attempts=attempts + 1, updated_at=self._clock())
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(stmt)).scalar_one_or_none() is not None

    async def record(
        self,
        delivery_id: str,
        generation: int,
        *,
        status: str,
        entry: dict[str, Any],
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Write an attempt's outcome: the new status, when to try next (pending only), the
        last status and error, and ``entry`` appended to the capped log."""
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"status must be one of {DELIVERY_STATUSES}")
        now = self._clock()
        async with self._sessions.begin() as session:
            row = await session.get(Delivery, delivery_id, with_for_update=True)
            if row is None or row.generation != generation:
                return  # deleted with its subscription, or replayed meanwhile
            log = json.loads(row.log or "[]")
            log.append(entry)
            row.log = json.dumps(log[-LOG_CAP:], separators=(",", ":"))
            row.status = status
            row.last_status_code = status_code
            row.last_error = None if error is None else error[:MAX_ERROR_CHARS]
            row.next_attempt_at = next_attempt_at if status == "pending" else None
            row.updated_at = now
            if status == "delivered":
                row.delivered_at = now

    async def defer(self, delivery_id: str, generation: int, until: datetime) -> None:
        """Move the next attempt without spending one (the target's circuit is open)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.generation == generation)
                .values(next_attempt_at=until, updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )

    async def replay(self, delivery_id: str, *, tenant_id: str) -> Delivery | None:
        """Start a new generation of a finished delivery: pending now, attempts from zero, the
        log kept. None if the tenant has no such delivery; `NotReplayable` if it is pending."""
        now = self._clock()
        async with self._sessions.begin() as session:
            row = await session.get(Delivery, delivery_id, with_for_update=True)
            if row is None or row.tenant_id != tenant_id:
                return None
            if row.status not in FINAL:
                raise NotReplayable(delivery_id)
            row.generation += 1
            row.attempts = 0
            row.status = "pending"
            row.next_attempt_at = now
            row.updated_at = now
        return row

    async def backlog(self) -> dict[str, int]:
        """How many deliveries still wait for their target (pending) or were given up on
        (dead), for the metrics: one indexed aggregate."""
        stmt = (
            select(Delivery.status, func.count())
            .where(Delivery.status.in_(("pending", "dead")))
            .group_by(Delivery.status)
        )
        async with self._sessions() as session:
            found = {status: int(count) for status, count in (await session.execute(stmt)).all()}
        return {status: found.get(status, 0) for status in ("pending", "dead")}

    async def overdue(self, older_than: datetime, limit: int = 500) -> Sequence[Delivery]:
        """Pending deliveries whose next attempt was due before ``older_than``: their job was
        lost (Redis restarted without its data) or never queued."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Delivery)
                .where(Delivery.status == "pending", Delivery.next_attempt_at < older_than)
                .order_by(Delivery.next_attempt_at)
                .limit(limit)
            )
            return rows.all()
