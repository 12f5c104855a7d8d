"""The durable webhook inbox: every GHL delivery recorded once (unique ``webhook_id``).

Recording is INSERT … ON CONFLICT DO NOTHING, so concurrent redeliveries of the same webhook
create exactly one row on both PostgreSQL and SQLite.

An event's life: ``pending`` → ``processed``; or, when an attempt fails, ``failed`` (the queue
retries it) and, after the last attempt, ``dead`` (the dead letters, until a replay puts it back
to ``pending``). A failed or dead mark never overwrites ``processed``: once any run of an
event succeeded, a straggling run's failure is history, not news.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.cursors import decode_cursor, encode_cursor
from ghl_bridge.store.errors import NotFound, StoreError
from ghl_bridge.store.models import (
    EVENT_STATUSES,
    SIGNATURE_SCHEMES,
    Delivery,
    WebhookEvent,
    new_id,
)
from ghl_bridge.store.types import require_aware

MAX_ERROR_CHARS = 2000
MAX_LIST_LIMIT = 1000
# Statuses whose event still has work ahead of it in the queue: the sweeper watches these.
UNSETTLED = ("pending", "failed")


# `mark_processed_many`'s statement, built once (the processor marks a batch at a time).
_MARK_PROCESSED: Final = (
    update(WebhookEvent)
    .where(WebhookEvent.id.in_(bindparam("ids", expanding=True)))
    .values(status="processed", processed_at=bindparam("now"))
    .returning(WebhookEvent.id)
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True, slots=True)
class DeadPage:
    """A page of dead events, newest dead first; ``next_cursor`` is None on the last page."""

    events: Sequence[WebhookEvent]
    next_cursor: str | None


def _insert_ignoring_duplicate(session: AsyncSession, values: dict[str, Any]) -> Any:
    """The dialect's INSERT … ON CONFLICT (webhook_id) DO NOTHING RETURNING id."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(WebhookEvent).values(**values)
        return pg_stmt.on_conflict_do_nothing(index_elements=["webhook_id"]).returning(
            WebhookEvent.id
        )
    if dialect == "sqlite":
        lite_stmt = sqlite.insert(WebhookEvent).values(**values)
        return lite_stmt.on_conflict_do_nothing(index_elements=["webhook_id"]).returning(
            WebhookEvent.id
        )
    raise StoreError(f"unsupported database dialect {dialect!r}")


class InboxRepo(Repository):
    """Webhook events: record once, then mark processed or failed; feeds replay and the sweeper."""

    async def record(
        self,
        webhook_id: str,
        *,
        event_type: str,
        location_id: str | None,
        company_id: str | None,
        tenant_id: str | None,
        payload: str,
        signature_scheme: str,
        received_at: datetime,
    ) -> tuple[str, bool]:
        """Store a delivery unless its ``webhook_id`` is already there; returns ``(id, created)``.

        ``payload`` is kept byte-exact (the raw body, decoded UTF-8). A duplicate returns the
        existing row's id with ``created=False``. Safe under concurrent calls.
        """
        if signature_scheme not in SIGNATURE_SCHEMES:
            raise ValueError(f"signature_scheme must be one of {SIGNATURE_SCHEMES}")
        require_aware(received_at, "received_at")
        values: dict[str, Any] = {
            "id": new_id("evt_"),
            "webhook_id": webhook_id,
            "event_type": event_type,
            "location_id": location_id,
            "company_id": company_id,
            "tenant_id": tenant_id,
            "payload": payload,
            "signature_scheme": signature_scheme,
            "received_at": received_at,
            "status": "pending",
            "retry_count": 0,
        }
        async with self._sessions.begin() as session:
            stmt = _insert_ignoring_duplicate(session, values)
            inserted = (await session.execute(stmt)).scalar_one_or_none()
            if inserted is not None:
                return inserted, True
            # On PostgreSQL (READ COMMITTED) this statement sees the conflicting row, which
            # was committed before our insert returned.
            existing = await session.scalar(
                select(WebhookEvent.id).where(WebhookEvent.webhook_id == webhook_id)
            )
        if existing is None:  # pragma: no cover - the conflicting row cannot vanish
            raise StoreError(f"webhook {webhook_id!r} conflicted but was not found")
        return existing, False

    async def get(self, event_id: str) -> WebhookEvent | None:
        """The event with this id, or None."""
        async with self._sessions() as session:
            return await session.get(WebhookEvent, event_id)

    async def get_many(self, event_ids: Sequence[str]) -> dict[str, WebhookEvent]:
        """The events with these ids that exist, by id: one query (the processor's batches)."""
        if not event_ids:
            return {}
        async with self._sessions() as session:
            rows = await session.scalars(
                select(WebhookEvent).where(WebhookEvent.id.in_(set(event_ids)))
            )
            return {event.id: event for event in rows}

    async def mark_processed_many(self, event_ids: Sequence[str]) -> set[str]:
        """Mark these events handled in one statement; returns the ids that exist."""
        if not event_ids:
            return set()
        params = {"ids": list(set(event_ids)), "now": self._clock()}
        async with self._sessions.begin() as session:
            conn = await session.connection()
            return set((await conn.execute(_MARK_PROCESSED, params)).scalars())

    async def _set(self, event_id: str, **values: Any) -> None:
        stmt = (
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id)
            .values(**values)
            .returning(WebhookEvent.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            if (await session.execute(stmt)).scalar_one_or_none() is None:
                raise NotFound("webhook event", event_id)

    async def mark_processed(self, event_id: str) -> None:
        """Mark an event handled. Idempotent; raises `NotFound` for an unknown id."""
        if event_id not in await self.mark_processed_many([event_id]):
            raise NotFound("webhook event", event_id)

    async def mark_failed(self, event_id: str, error: str) -> None:
        """Mark an event failed, count the attempt and keep the error (first 2,000 characters).

        ``error`` must be a description, not a payload or token. Raises `NotFound`.
        """
        await self._set(
            event_id,
            status="failed",
            retry_count=WebhookEvent.retry_count + 1,
            last_error=error[:MAX_ERROR_CHARS],
        )

    async def _set_unless_processed(self, event_id: str, **values: Any) -> bool:
        """Update the event unless it is processed; True if it changed. Raises `NotFound`."""
        stmt = (
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id, WebhookEvent.status != "processed")
            .values(**values)
            .returning(WebhookEvent.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            if (await session.execute(stmt)).scalar_one_or_none() is not None:
                return True
            if await session.get(WebhookEvent, event_id) is None:
                raise NotFound("webhook event", event_id)
        return False

    async def record_failure(self, event_id: str, error: str, *, dead: bool) -> bool:
        """Record a failed attempt: count it and keep the error (first 2,000 characters); the
        event becomes ``failed`` (to be retried) or, with ``dead``, ``dead`` (dead-lettered).

        A processed event is left as it is (returns False). ``error`` must be a description,
        not a payload or token. Raises `NotFound`.
        """
        values: dict[str, Any] = {
            "status": "dead" if dead else "failed",
            "retry_count": WebhookEvent.retry_count + 1,
            "last_error": error[:MAX_ERROR_CHARS],
        }
        if dead:
            values["dead_at"] = self._clock()
        return await self._set_unless_processed(event_id, **values)

    async def mark_dead(self, event_id: str, error: str) -> bool:
        """Dead-letter an event whose queue job gave up without an attempt being recorded (its
        worker died during the last one); keeps the count. False if it is processed."""
        return await self._set_unless_processed(
            event_id, status="dead", dead_at=self._clock(), last_error=error[:MAX_ERROR_CHARS]
        )

    async def replay(
        self, event_id: str, *, tenant_id: str | None
    ) -> tuple[WebhookEvent, bool] | None:
        """Put the event back to ``pending`` for another run and count the replay; returns it
        and whether it changed, or None if there is no such event (of ``tenant_id``, when given:
        None means any tenant, for operators).

        An event already ``pending`` is returned unchanged: a run is queued already (or the
        sweeper re-queues it), so replaying it twice queues it once. The retry count and last
        error are kept as history.
        """
        where = [WebhookEvent.id == event_id]
        if tenant_id is not None:
            where.append(WebhookEvent.tenant_id == tenant_id)
        stmt = (
            update(WebhookEvent)
            .where(*where, WebhookEvent.status != "pending")
            .values(
                status="pending",
                processed_at=None,
                dead_at=None,
                replays=WebhookEvent.replays + 1,
            )
            .returning(WebhookEvent.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            changed = (await session.execute(stmt)).scalar_one_or_none() is not None
            event = await session.scalar(select(WebhookEvent).where(*where))
        return None if event is None else (event, changed)

    async def dead_page(
        self, *, tenant_id: str | None, limit: int = 50, cursor: str | None = None
    ) -> DeadPage:
        """Dead events, most recently dead first, ``limit`` (1-1000) at a time; pass
        ``next_cursor`` back for the next page (keyset paging: events dying meanwhile neither
        shift nor repeat a page). ``tenant_id`` None means every tenant. Raises `InvalidCursor`.
        """
        limit = max(1, min(limit, MAX_LIST_LIMIT))
        stmt = (
            select(WebhookEvent)
            .where(WebhookEvent.status == "dead")
            .order_by(WebhookEvent.dead_at.desc(), WebhookEvent.id.desc())
        )
        if tenant_id is not None:
            stmt = stmt.where(WebhookEvent.tenant_id == tenant_id)
        if cursor is not None:
            at, event_id = decode_cursor(cursor, "evt_")
            stmt = stmt.where(
                or_(
                    WebhookEvent.dead_at < at,
                    and_(WebhookEvent.dead_at == at, WebhookEvent.id < event_id),
                )
            )
        async with self._sessions() as session:
            rows = (await session.scalars(stmt.limit(limit + 1))).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return DeadPage(rows, _dead_cursor(rows[-1]) if more else None)

    async def unsettled_older_than(
        self, seconds: float, limit: int = 100, *, after: tuple[datetime, str] | None = None
    ) -> Sequence[WebhookEvent]:
        """Pending and failed events received more than ``seconds`` ago, oldest first, from
        just after ``after`` (``(received_at, id)`` of the last one seen) if given.

        The sweeper checks that each still has a job in the queue; ``after`` lets it walk past
        a long backlog of healthy ones instead of re-reading the same oldest batch.
        """
        cutoff = self._clock() - timedelta(seconds=seconds)
        stmt = (
            select(WebhookEvent)
            .where(WebhookEvent.status.in_(UNSETTLED), WebhookEvent.received_at < cutoff)
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
            .limit(max(1, min(limit, MAX_LIST_LIMIT)))
        )
        if after is not None:
            at, event_id = after
            stmt = stmt.where(
                or_(
                    WebhookEvent.received_at > at,
                    and_(WebhookEvent.received_at == at, WebhookEvent.id > event_id),
                )
            )
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def mark_pending(self, event_id: str) -> None:
        """Put an event back to ``pending`` for a replay (keeps its retry count and last error).

        Raises `NotFound` for an unknown id.
        """
        await self._set(event_id, status="pending", processed_at=None)

    async def list(
        self,
        status: str | None = None,
        limit: int = 50,
        location_id: str | None = None,
        *,
        tenant_id: str | None = None,
    ) -> Sequence[WebhookEvent]:
        """Newest events first, optionally filtered; ``limit`` is clamped to 1-1000."""
        if status is not None and status not in EVENT_STATUSES:
            raise ValueError(f"status must be one of {EVENT_STATUSES}")
        stmt = select(WebhookEvent).order_by(
            WebhookEvent.received_at.desc(), WebhookEvent.id.desc()
        )
        if status is not None:
            stmt = stmt.where(WebhookEvent.status == status)
        if location_id is not None:
            stmt = stmt.where(WebhookEvent.location_id == location_id)
        if tenant_id is not None:
            stmt = stmt.where(WebhookEvent.tenant_id == tenant_id)
        stmt = stmt.limit(max(1, min(limit, MAX_LIST_LIMIT)))
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def pending_older_than(self, seconds: float, limit: int = 100) -> Sequence[WebhookEvent]:
        """Pending events received more than ``seconds`` ago, oldest first.

        The sweeper re-enqueues these: they were stored but their queue message was lost.
        """
        cutoff = self._clock() - timedelta(seconds=seconds)
        stmt = (
            select(WebhookEvent)
            .where(WebhookEvent.status == "pending", WebhookEvent.received_at < cutoff)
            .order_by(WebhookEvent.received_at, WebhookEvent.id)
            .limit(max(1, min(limit, MAX_LIST_LIMIT)))
        )
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def backlog(self) -> tuple[dict[str, int], datetime | None]:
        """How many events wait (pending, failed) or are dead letters, by status, and when the
        oldest that still waits was received: one indexed aggregate, for the metrics."""
        stmt = (
            select(WebhookEvent.status, func.count(), func.min(WebhookEvent.received_at))
            .where(WebhookEvent.status.in_((*UNSETTLED, "dead")))
            .group_by(WebhookEvent.status)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        counts = {status: 0 for status in (*UNSETTLED, "dead")}
        oldest: datetime | None = None
        for status, count, first in rows:
            counts[status] = int(count)
            if status in UNSETTLED and first is not None:  # aware: min() keeps the column type
                oldest = first if oldest is None else min(oldest, first)
        return counts, oldest

    async def prune_settled(self, received_before: datetime, *, chunk: int = 1000) -> int:
        """Delete processed events received before ``received_before`` whose deliveries all
        reached their target (their delivery rows go with them); returns how many went.

        Kept whatever their age: events still pending or failed (work ahead), dead letters,
        and events with an outbound delivery not yet delivered (pending, retrying or dead: a
        replay needs the event). A chunk per transaction, oldest first, so the one SQLite
        writer is never held for long.
        """
        require_aware(received_before, "received_before")
        unsettled_delivery = (
            select(Delivery.id)
            .where(Delivery.event_id == WebhookEvent.id, Delivery.status != "delivered")
            .exists()
        )
        doomed = (
            select(WebhookEvent.id)
            .where(
                WebhookEvent.status == "processed",
                WebhookEvent.received_at < received_before,
                ~unsettled_delivery,
            )
            .order_by(WebhookEvent.received_at)
        )
        return await self._delete_in_chunks(WebhookEvent, doomed, chunk)


def _dead_cursor(event: WebhookEvent) -> str:
    assert event.dead_at is not None  # a dead page holds dead events only
    return encode_cursor(event.dead_at, event.id)
