"""The audit log on SQLite and PostgreSQL: batched writes that never block, drop-oldest under
overload, the tenant of a call resolved from its location's owner, filters and keyset paging."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs
from tests.support.polling import eventually

from ghl_bridge.store import ConnectionRepo, TenantRepo
from ghl_bridge.store.audit import (
    AuditFilter,
    AuditRepo,
    AuditWriter,
    acting_as,
    current_actor,
)
from ghl_bridge.store.cursors import InvalidCursor
from ghl_bridge.store.models import AuditRecord

if TYPE_CHECKING:
    from conftest import FakeClock


@dataclass(frozen=True)
class Attempt:
    """What the client's observer hands over (``client.AttemptRecord``'s shape)."""

    operation: str
    resource_id: str | None = "loc_1"
    status: str = "200"
    attempt: int = 1
    latency_ms: float = 12.5
    request_id: str = "req-1"
    trace_id: str | None = "trace-1"


class SpyRepo(AuditRepo):
    """The real repo, counting batches; ``gate`` (when set) holds writes until opened."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], **kw: Any) -> None:
        super().__init__(sessions, **kw)
        self.batches: list[int] = []
        self.gate: asyncio.Event | None = None
        self.fail = 0

    async def insert_many(self, rows: Any) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database unavailable")
        await super().insert_many(rows)
        self.batches.append(len(rows))


def _ticking(clock: FakeClock) -> Callable[[], datetime]:
    def tick() -> datetime:
        clock.advance(0.001)
        return clock.now

    return tick


@pytest.fixture
def repo(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> SpyRepo:
    return SpyRepo(sessions, clock=clock)


@pytest.fixture
async def tenants(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
    first, _ = await TenantRepo(sessions).create("first")
    second, _ = await TenantRepo(sessions).create("second")
    return first.id, second.id


async def _connect(sessions: async_sessionmaker[AsyncSession], tenant_id: str, loc: str) -> None:
    await ConnectionRepo(sessions).upsert(
        tenant_id,
        user_type="Location",
        company_id="cmp_1",
        location_id=loc,
        access_sealed="v1.k1.a",
        refresh_sealed=None,
        key_id="k1",
        expires_at=None,
        scopes="",
    )


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


async def _all(repo: AuditRepo, tenant_id: str | None) -> list[AuditRecord]:
    return list((await repo.page(AuditFilter(tenant_id), limit=1000)).records)


async def test_flush_writes_in_batches_and_resolves_the_owner(
    repo: SpyRepo, sessions: async_sessionmaker[AsyncSession], tenants: tuple[str, str]
) -> None:
    first, _ = tenants
    await _connect(sessions, first, "loc_1")
    writer = AuditWriter(repo, batch_size=3, interval_s=60)
    for n in range(7):
        writer.observe(Attempt(f"op-{n}"))
    assert await _count(sessions) == 0  # nothing written on the call's path
    assert await writer.flush() == 7
    assert repo.batches == [3, 3, 1]
    rows = await _all(repo, first)
    assert len(rows) == 7
    assert {r.tenant_id for r in rows} == {first}  # the location's owner
    row = rows[0]
    assert (row.kind, row.actor, row.resource_id, row.status) == (
        "ghl_call",
        "system",
        "loc_1",
        "200",
    )
    assert (row.latency_ms, row.trace_id, row.request_id, row.attempt) == (
        12.5,
        "trace-1",
        "req-1",
        1,
    )


async def test_background_task_writes_on_the_interval_and_at_batch_size(
    repo: SpyRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    by_time = AuditWriter(repo, batch_size=200, interval_s=0.05)
    by_time.start()
    by_time.observe(Attempt("one"))
    await eventually(lambda: _count(sessions))
    await by_time.aclose()

    by_size = AuditWriter(repo, batch_size=3, interval_s=60)  # the interval never comes
    by_size.start()
    for n in range(3):
        by_size.observe(Attempt(f"op-{n}"))

    async def all_four() -> bool:
        return await _count(sessions) == 4

    await eventually(all_four)
    await by_size.aclose()


async def test_close_writes_what_is_left(
    repo: SpyRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    writer = AuditWriter(repo, batch_size=200, interval_s=60)
    writer.start()
    for n in range(5):
        writer.observe(Attempt(f"op-{n}"))
    await writer.aclose()
    assert await _count(sessions) == 5
    assert writer.pending == 0


async def test_overload_drops_the_oldest_counts_and_logs_it(
    repo: SpyRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    writer = AuditWriter(repo, batch_size=2, interval_s=60, capacity=5)
    for n in range(8):
        writer.observe(Attempt(f"op-{n}"))  # never waits, however full the buffer
    assert (writer.pending, writer.dropped) == (5, 3)
    with capture_logs() as logs:
        await writer.flush()
    assert {r.operation for r in await _all(repo, None)} == {f"op-{n}" for n in range(3, 8)}
    [line] = [entry for entry in logs if entry["event"] == "audit.dropped"]
    assert (line["dropped"], line["total"]) == (3, 3)


async def test_a_slow_database_never_blocks_the_observer(
    repo: SpyRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    repo.gate = asyncio.Event()
    writer = AuditWriter(repo, batch_size=10, interval_s=60, capacity=50)
    writer.start()
    for n in range(200):  # the writer is stuck in its first INSERT meanwhile
        writer.observe(Attempt(f"op-{n}"))
        await asyncio.sleep(0)
    assert writer.pending <= 50 and writer.dropped >= 140
    repo.gate.set()
    await writer.aclose()
    assert await _count(sessions) == 200 - writer.dropped


async def test_a_failed_write_is_retried_not_lost(
    repo: SpyRepo, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo.fail = 1
    writer = AuditWriter(repo, batch_size=10, interval_s=60, clock=_ticking(clock))
    for n in range(4):
        writer.observe(Attempt(f"op-{n}"))
    with capture_logs() as logs:
        assert await writer.flush() == 0
    assert any(entry["event"] == "audit.write_failed" for entry in logs)
    assert writer.pending == 4
    assert await writer.flush() == 4
    assert [r.operation for r in await _all(repo, None)] == [f"op-{n}" for n in range(4)][::-1]


async def test_attribution_owner_then_actor_tenant(
    repo: SpyRepo, sessions: async_sessionmaker[AsyncSession], tenants: tuple[str, str]
) -> None:
    first, second = tenants
    await _connect(sessions, first, "loc_1")
    writer = AuditWriter(repo, interval_s=60)
    with acting_as("key:ghlb_abcdefg", second):
        assert current_actor().name == "key:ghlb_abcdefg"
        writer.observe(Attempt("get-access-token", resource_id=None))  # names no location
        writer.observe(Attempt("get-contact", resource_id="loc_1"))  # owned by first
        writer.observe(Attempt("get-contact", resource_id="loc_unknown"))
    assert current_actor().name == "system"
    writer.connection_changed(
        tenant_id=second, resource_id="loc_2", change="connected", status="active"
    )
    await writer.flush()
    rows = {(r.operation, r.resource_id): r for r in await _all(repo, None)}
    assert rows[("get-access-token", None)].tenant_id == second
    assert rows[("get-contact", "loc_1")].tenant_id == first
    assert rows[("get-contact", "loc_unknown")].tenant_id == second
    assert rows[("get-contact", "loc_1")].actor == "key:ghlb_abcdefg"
    change = rows[("connected", "loc_2")]
    assert (change.kind, change.tenant_id, change.status, change.actor) == (
        "connection",
        second,
        "active",
        "system",
    )
    assert change.latency_ms is None and change.trace_id is None


async def _seed(repo: AuditRepo, clock: FakeClock, tenants: tuple[str, str]) -> AuditWriter:
    """12 rows for the first tenant a second apart (alternating locations, statuses, kinds),
    and 3 for the second."""
    first, second = tenants
    writer = AuditWriter(repo, interval_s=60, clock=clock)
    for n in range(12):
        clock.advance(1)
        if n % 4 == 3:
            writer.connection_changed(
                tenant_id=first, resource_id="loc_a", change="refreshed", status="active"
            )
        else:
            status = "201" if n % 2 else "200"
            with acting_as("key:x", first):
                writer.observe(Attempt(f"op-{n % 3}", resource_id=None, status=status))
    for _ in range(3):
        clock.advance(1)
        writer.connection_changed(
            tenant_id=second, resource_id="loc_b", change="connected", status="active"
        )
    await writer.flush()
    return writer


async def test_filters_and_tenant_isolation(
    repo: SpyRepo, clock: FakeClock, tenants: tuple[str, str]
) -> None:
    first, second = tenants
    start = clock.now
    await _seed(repo, clock, tenants)

    async def ids(**kw: Any) -> list[str]:
        page = await repo.page(AuditFilter(kw.pop("tenant_id", first), **kw), limit=100)
        return [r.operation for r in page.records]

    assert len(await ids()) == 12
    assert await ids(tenant_id=second) == ["connected"] * 3
    assert await ids(tenant_id="tnt_nobody") == []
    assert await ids(kind="connection") == ["refreshed"] * 3
    assert await ids(resource_id="loc_a") == ["refreshed"] * 3
    assert set(await ids(operation="op-1")) == {"op-1"}
    assert len(await ids(status="201")) == 3  # n = 1, 5, 9
    assert len(await ids(since=start + timedelta(seconds=10))) == 3  # 10, 11, 12 s
    assert len(await ids(until=start + timedelta(seconds=3))) == 2  # 1, 2 s
    with pytest.raises(ValueError, match="kind"):
        await ids(kind="other")
    with pytest.raises(ValueError, match="timezone-aware"):
        await ids(since=start.replace(tzinfo=None))


async def test_keyset_pages_are_newest_first_complete_and_stable(
    repo: SpyRepo, clock: FakeClock, tenants: tuple[str, str]
) -> None:
    first, _ = tenants
    writer = await _seed(repo, clock, tenants)
    everything = [r.id for r in (await repo.page(AuditFilter(first), limit=100)).records]
    ats = [r.at for r in (await repo.page(AuditFilter(first), limit=100)).records]
    assert ats == sorted(ats, reverse=True)

    seen: list[str] = []
    page = await repo.page(AuditFilter(first), limit=5)
    seen += [r.id for r in page.records]
    # Rows appended meanwhile (newer) neither shift the next page nor repeat one.
    clock.advance(1)
    writer.connection_changed(
        tenant_id=first, resource_id="loc_a", change="revoked", status="revoked"
    )
    await writer.flush()
    while page.next_cursor is not None:
        page = await repo.page(AuditFilter(first), limit=5, cursor=page.next_cursor)
        seen += [r.id for r in page.records]
    assert seen == everything
    assert len(seen) == 12


async def test_same_instant_rows_are_split_by_id(
    repo: SpyRepo, clock: FakeClock, tenants: tuple[str, str]
) -> None:
    first, _ = tenants
    writer = AuditWriter(repo, interval_s=60, clock=clock)  # the clock stands still
    for _ in range(7):
        writer.connection_changed(
            tenant_id=first, resource_id="l", change="refreshed", status="active"
        )
    await writer.flush()
    seen: list[str] = []
    cursor = None
    while True:
        page = await repo.page(AuditFilter(first), limit=2, cursor=cursor)
        seen += [r.id for r in page.records]
        if (cursor := page.next_cursor) is None:
            break
    assert len(seen) == len(set(seen)) == 7


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        _b64("no separator"),
        _b64("2025-01-15T12:00:00|aud_x"),  # a naive time: never issued
        _b64("2025-01-15T12:00:00+00:00|evt_x"),  # not an audit id
        _b64("yesterday|aud_x"),
    ],
)
async def test_bad_cursors_are_refused(repo: SpyRepo, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        await repo.page(AuditFilter("tnt_x"), cursor=cursor)
