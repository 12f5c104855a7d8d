"""The audit log: who did what to GHL and to connections, written in batches, read by tenant.

Calls never wait for the log: `AuditWriter` buffers entries in memory and a background task
writes them (every second, at 200, and on close). The buffer is bounded; under overload the
oldest entries are dropped and counted in a log line, because a GHL call blocked by its own
audit row would turn a slow database into an outage. Rows never hold tokens or bodies.

Who acts is a contextvar (`act_as`) set by the layer that knows (the API's key check, the
webhook processor, the OAuth callback); the tenant of a GHL call is its location's owner, looked
up at write time. Imports nothing above the store.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import and_, func, insert, or_, select

from ghl_bridge.store._repo import Clock, Repository
from ghl_bridge.store.cursors import decode_cursor, encode_cursor
from ghl_bridge.store.models import AUDIT_KINDS, AuditRecord, Connection, new_id
from ghl_bridge.store.types import require_aware, utcnow

log = structlog.get_logger("ghl_bridge.audit")

SYSTEM, WEBHOOK, OAUTH = "system", "webhook", "oauth"
CONNECTION_CHANGES = ("connected", "refreshed", "reconnected", "needs_reauth", "revoked")
MAX_PAGE = 1000
_OWNER_TTL_S = 300.0  # a location changes owner only by uninstall + reinstall elsewhere
_OWNER_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: an API key (``key:<display prefix>``), ``system``, ``webhook``, ``oauth``.

    ``tenant_id`` is the tenant the actor works for, when known: it attributes GHL calls that
    name no location (the OAuth code exchange, a refresh) to that tenant.
    """

    name: str
    tenant_id: str | None = None


_NOBODY = Actor(SYSTEM)  # frozen: safe to share as the default
_ACTOR: ContextVar[Actor] = ContextVar("ghl_bridge_audit_actor", default=_NOBODY)


def act_as(name: str, tenant_id: str | None = None) -> None:
    """Attribute what the current task (and tasks it starts) does from here on.

    Each request and each job runs in its own task with its own context, so this needs no reset
    there; use `acting_as` to scope it inside a longer-lived task.
    """
    _ACTOR.set(Actor(name, tenant_id))


@contextmanager
def acting_as(name: str, tenant_id: str | None = None) -> Iterator[None]:
    """`act_as` for the duration of a ``with`` block."""
    token = _ACTOR.set(Actor(name, tenant_id))
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> Actor:
    return _ACTOR.get()


class CallAttempt(Protocol):
    """One exchange with GHL as the client's observer reports it (``client.AttemptRecord``);
    described here because the store imports nothing of the client."""

    @property
    def operation(self) -> str: ...
    @property
    def resource_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def request_id(self) -> str: ...
    @property
    def trace_id(self) -> str | None: ...


class ConnectionAudit(Protocol):
    """Where oauth/ and events/ report connection changes; `NO_AUDIT` when nobody listens."""

    def connection_changed(
        self, *, tenant_id: str, resource_id: str, change: str, status: str
    ) -> None: ...


class _NoAudit:
    def connection_changed(
        self, *, tenant_id: str, resource_id: str, change: str, status: str
    ) -> None:
        return None


NO_AUDIT: ConnectionAudit = _NoAudit()


@dataclass(slots=True)  # not frozen: a frozen __init__ adds ~2 µs to every observed call
class AuditEntry:
    """A buffered fact, before its tenant is resolved. ``tenant_id`` is known for connection
    changes; for calls the location's owner decides, else ``actor_tenant_id``."""

    at: datetime
    kind: str
    actor: str
    operation: str
    status: str
    resource_id: str | None = None
    tenant_id: str | None = None
    actor_tenant_id: str | None = None
    latency_ms: float | None = None
    attempt: int | None = None
    trace_id: str | None = None
    request_id: str | None = None

    def row(self, tenant_id: str | None) -> dict[str, Any]:
        # Clipped to the columns: a row that cannot be stored would hold back the whole batch.
        return {
            "id": new_id("aud_"),
            "at": self.at,
            "tenant_id": tenant_id,
            "actor": self.actor[:64],
            "kind": self.kind,
            "resource_id": _clip(self.resource_id, 64),
            "operation": self.operation[:128],
            "status": self.status[:32],
            "latency_ms": self.latency_ms,
            "attempt": self.attempt,
            "trace_id": _clip(self.trace_id, 64),
            "request_id": _clip(self.request_id, 64),
        }


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


def encode_audit_cursor(record: AuditRecord) -> str:
    return encode_cursor(record.at, record.id)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to read. ``tenant_id`` has no default on purpose: None means every tenant (an
    operator's view) and must be asked for, never fallen into. ``since`` is inclusive,
    ``until`` exclusive; ``resource_id`` is the location (or company)."""

    tenant_id: str | None
    resource_id: str | None = None
    operation: str | None = None
    kind: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    records: Sequence[AuditRecord]
    next_cursor: str | None


class AuditRepo(Repository):
    """Audit rows: bulk append and a newest-first keyset-paged query."""

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append rows (one executemany, one transaction)."""
        if rows:
            async with self._sessions.begin() as session:
                await session.execute(insert(AuditRecord), list(rows))

    async def prune(self, before: datetime, *, chunk: int = 1000) -> int:
        """Delete the records older than ``before`` (retention), oldest first; how many went."""
        require_aware(before, "before")
        doomed = select(AuditRecord.id).where(AuditRecord.at < before).order_by(AuditRecord.at)
        return await self._delete_in_chunks(AuditRecord, doomed, chunk)

    async def owners(self, resource_ids: Collection[str]) -> dict[str, str]:
        """The tenant owning each of these locations/companies that has a connection."""
        stmt = select(Connection.resource_id, Connection.tenant_id).where(
            Connection.resource_id.in_(list(resource_ids))
        )
        async with self._sessions() as session:
            return {rid: tid for rid, tid in (await session.execute(stmt)).all()}

    async def usage(
        self,
        tenant_id: str,
        resource_id: str,
        since: datetime,
        until: datetime | None = None,
    ) -> dict[str, int]:
        """How many GHL call attempts this tenant made for ``resource_id`` since ``since``
        (inclusive; before ``until``, exclusive, when given), by status: ``{"200": 41, "429":
        2, "timeout": 1}``. Only the tenant's own rows count, so one tenant never sees
        another's traffic. Raises `ValueError` for a naive datetime."""
        require_aware(since, "since")
        require_aware(until, "until")
        stmt = (
            select(AuditRecord.status, func.count())
            .where(
                AuditRecord.tenant_id == tenant_id,
                AuditRecord.resource_id == resource_id,
                AuditRecord.kind == "ghl_call",
                AuditRecord.at >= since,
            )
            .group_by(AuditRecord.status)
        )
        if until is not None:
            stmt = stmt.where(AuditRecord.at < until)
        async with self._sessions() as session:
            return {status: int(count) for status, count in (await session.execute(stmt)).all()}

    async def page(
        self, where: AuditFilter, *, limit: int = 50, cursor: str | None = None
    ) -> AuditPage:
        """Newest first, ``limit`` (clamped to 1-1000) at a time; pass ``next_cursor`` back for
        the page after. Keyset paging: rows appended meanwhile neither shift nor repeat a page.
        Raises `InvalidCursor`, or `ValueError` for an unknown kind or a naive datetime."""
        if where.kind is not None and where.kind not in AUDIT_KINDS:
            raise ValueError(f"kind must be one of {AUDIT_KINDS}")
        require_aware(where.since, "since")
        require_aware(where.until, "until")
        limit = max(1, min(limit, MAX_PAGE))
        stmt = select(AuditRecord).order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        equal = {
            AuditRecord.tenant_id: where.tenant_id,
            AuditRecord.resource_id: where.resource_id,
            AuditRecord.operation: where.operation,
            AuditRecord.kind: where.kind,
            AuditRecord.status: where.status,
        }
        for column, value in equal.items():
            if value is not None:
                stmt = stmt.where(column == value)
        if where.since is not None:
            stmt = stmt.where(AuditRecord.at >= where.since)
        if where.until is not None:
            stmt = stmt.where(AuditRecord.at < where.until)
        if cursor is not None:
            at, record_id = decode_cursor(cursor, "aud_")
            stmt = stmt.where(
                or_(AuditRecord.at < at, and_(AuditRecord.at == at, AuditRecord.id < record_id))
            )
        async with self._sessions() as session:
            rows = (await session.scalars(stmt.limit(limit + 1))).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage(rows, encode_audit_cursor(rows[-1]) if more else None)


class AuditWriter:
    """Buffers audit entries and writes them in batches from a background task.

    ``observe`` is the GHL client's observer and ``connection_changed`` the `ConnectionAudit`
    of oauth/ and events/; both only append to memory. The task writes every ``interval_s``,
    or as soon as ``batch_size`` entries wait; ``aclose`` writes what is left. At ``capacity``
    the oldest entry is dropped for each new one (a failed write is retried, so drops also
    cover a database outage); drops are counted (``dropped``) and logged at the next write.
    """

    def __init__(
        self,
        repo: AuditRepo,
        *,
        batch_size: int = 200,
        interval_s: float = 1.0,
        capacity: int = 10_000,
        clock: Clock = utcnow,
    ) -> None:
        self._repo = repo
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._capacity = max(capacity, batch_size)
        self._clock = clock
        self._buffer: deque[AuditEntry] = deque()
        self._owners: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.dropped = 0
        self._unreported = 0

    def __repr__(self) -> str:
        return f"AuditWriter(pending={len(self._buffer)}, dropped={self.dropped})"

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def start(self) -> None:
        """Start the background writer (call from inside the event loop)."""
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._run(), name="audit-writer")

    def observe(self, attempt: CallAttempt) -> None:
        """The client's observer: one entry per exchange with GHL. Never blocks."""
        actor = _ACTOR.get()
        self._push(
            AuditEntry(
                at=self._clock(),
                kind="ghl_call",
                actor=actor.name,
                actor_tenant_id=actor.tenant_id,
                operation=attempt.operation,
                status=attempt.status,
                resource_id=attempt.resource_id,
                latency_ms=attempt.latency_ms,
                attempt=attempt.attempt,
                trace_id=attempt.trace_id,
                request_id=attempt.request_id,
            )
        )

    def connection_changed(
        self, *, tenant_id: str, resource_id: str, change: str, status: str
    ) -> None:
        """Record a connection change (``CONNECTION_CHANGES``); ``status`` is the connection's
        status after it. The actor is whoever is acting in this context."""
        self._owners[resource_id] = (tenant_id, time.monotonic())
        self._push(
            AuditEntry(
                at=self._clock(),
                kind="connection",
                actor=_ACTOR.get().name,
                operation=change,
                status=status,
                resource_id=resource_id,
                tenant_id=tenant_id,
            )
        )

    def _push(self, entry: AuditEntry) -> None:
        buffer = self._buffer
        if len(buffer) >= self._capacity:
            buffer.popleft()
            self.dropped += 1
            self._unreported += 1
        buffer.append(entry)
        if len(buffer) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    async def flush(self) -> int:
        """Write what is buffered now (not what arrives meanwhile); returns rows written.

        A failed write puts its batch back in front and stops; the next flush retries it.
        """
        async with self._lock:
            budget, written = len(self._buffer), 0
            while written < budget and self._buffer:
                size = min(self._batch_size, len(self._buffer), budget - written)
                batch = [self._buffer.popleft() for _ in range(size)]
                try:
                    await self._write(batch)
                except Exception as exc:
                    self._put_back(batch)
                    log.warning(
                        "audit.write_failed",
                        error=f"{type(exc).__name__}: {str(exc)[:200]}",
                        pending=len(self._buffer),
                    )
                    break
                written += size
            self._report_drops()
            return written

    async def _write(self, batch: list[AuditEntry]) -> None:
        now = time.monotonic()
        wanted = {
            e.resource_id
            for e in batch
            if e.tenant_id is None and e.resource_id and not self._owner(e.resource_id, now)
        }
        if wanted:
            if len(self._owners) > _OWNER_CACHE_MAX:
                self._owners.clear()
            for rid, tid in (await self._repo.owners(wanted)).items():
                self._owners[rid] = (tid, now)
        rows = []
        for e in batch:
            owner = self._owner(e.resource_id, now) if e.resource_id else None
            rows.append(e.row(e.tenant_id or owner or e.actor_tenant_id))
        await self._repo.insert_many(rows)

    def _owner(self, resource_id: str, now: float) -> str | None:
        cached = self._owners.get(resource_id)
        if cached is None or now - cached[1] > _OWNER_TTL_S:
            return None
        return cached[0]

    def _put_back(self, batch: list[AuditEntry]) -> None:
        self._buffer.extendleft(reversed(batch))
        while len(self._buffer) > self._capacity:
            self._buffer.popleft()
            self.dropped += 1
            self._unreported += 1

    def _report_drops(self) -> None:
        if self._unreported:
            log.warning("audit.dropped", dropped=self._unreported, total=self.dropped)
            self._unreported = 0

    async def _run(self) -> None:
        while not self._closing:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()
            if self._closing:
                return
            try:
                await self.flush()
            except Exception:  # pragma: no cover - flush handles write errors itself
                log.exception("audit.writer_failed")

    async def aclose(self, *, timeout_s: float = 10.0) -> None:
        """Stop the task and write what is left (giving up after ``timeout_s``). Idempotent."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        try:
            async with asyncio.timeout(timeout_s):
                if task is not None:
                    await task
                await self.flush()
        except TimeoutError:
            log.error("audit.close_timeout", pending=len(self._buffer))
        if self._buffer:
            log.error("audit.lost_on_close", lost=len(self._buffer))
            self._buffer.clear()
