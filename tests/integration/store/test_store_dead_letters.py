"""InboxRepo's retry bookkeeping: failed attempts counted, dead letters paged newest first,
replays scoped to a tenant, and a processed event never marked failed by a straggling run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.store import InboxRepo, NotFound, TenantRepo
from ghl_bridge.store.cursors import InvalidCursor

if TYPE_CHECKING:
    from conftest import FakeClock


@pytest.fixture
def repo(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> InboxRepo:
    return InboxRepo(sessions, clock=clock)


async def _record(repo: InboxRepo, webhook_id: str, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "event_type": "ContactCreate",
        "location_id": "loc_1",
        "company_id": None,
        "tenant_id": None,
        "payload": json.dumps({"type": "ContactCreate", "webhookId": webhook_id}),
        "signature_scheme": "ed25519",
        "received_at": datetime(2025, 1, 15, 11, 0, tzinfo=UTC),
    }
    values.update(overrides)
    event_id, _ = await repo.record(webhook_id, **values)
    return event_id


async def test_failures_count_then_dead_letter(repo: InboxRepo, clock: FakeClock) -> None:
    event_id = await _record(repo, "wh_1")
    assert await repo.record_failure(event_id, "RuntimeError: one", dead=False)
    clock.advance(5)
    assert await repo.record_failure(event_id, "RuntimeError: two" + "x" * 3000, dead=True)
    event = await repo.get(event_id)
    assert event is not None
    assert (event.status, event.retry_count, event.dead_at) == ("dead", 2, clock.now)
    assert event.last_error is not None and len(event.last_error) == 2000
    with pytest.raises(NotFound):
        await repo.record_failure("evt_missing", "boom", dead=True)


async def test_a_processed_event_is_never_marked_failed_or_dead(repo: InboxRepo) -> None:
    event_id = await _record(repo, "wh_p")
    await repo.mark_processed(event_id)
    assert not await repo.record_failure(event_id, "late straggler", dead=True)
    assert not await repo.mark_dead(event_id, "queue gave up")
    event = await repo.get(event_id)
    assert event is not None
    assert (event.status, event.retry_count, event.last_error) == ("processed", 0, None)
    with pytest.raises(NotFound):
        await repo.mark_dead("evt_missing", "x")


async def test_replay_resets_counts_and_is_scoped_to_the_tenant(
    repo: InboxRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tenants = TenantRepo(sessions)
    mine, _ = await tenants.create("mine")
    other, _ = await tenants.create("other")
    event_id = await _record(repo, "wh_r", tenant_id=mine.id)
    await repo.record_failure(event_id, "RuntimeError: down", dead=True)

    assert await repo.replay(event_id, tenant_id=other.id) is None
    assert await repo.replay("evt_missing", tenant_id=None) is None
    unchanged = await repo.get(event_id)
    assert unchanged is not None and unchanged.status == "dead"

    found = await repo.replay(event_id, tenant_id=mine.id)
    assert found is not None
    event, changed = found
    assert changed
    assert (event.status, event.dead_at, event.replays) == ("pending", None, 1)
    assert (event.retry_count, event.last_error) == (1, "RuntimeError: down")  # history kept

    # Already pending: a run is on its way, so a second replay changes nothing.
    again = await repo.replay(event_id, tenant_id=None)
    assert again is not None and again[1] is False and again[0].replays == 1


async def test_dead_page_is_newest_first_keyset_paged_and_tenant_scoped(
    repo: InboxRepo, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tenant, _ = await TenantRepo(sessions).create("acme")
    dead = []
    for i in range(5):
        event_id = await _record(repo, f"wh_d{i}", tenant_id=tenant.id)
        clock.advance(1)
        await repo.record_failure(event_id, f"E: {i}", dead=True)
        dead.append(event_id)
    foreign = await _record(repo, "wh_foreign")
    clock.advance(1)
    await repo.record_failure(foreign, "E: foreign", dead=True)
    alive = await _record(repo, "wh_alive", tenant_id=tenant.id)
    await repo.record_failure(alive, "E: will retry", dead=False)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await repo.dead_page(tenant_id=tenant.id, limit=2, cursor=cursor)
        seen += [e.id for e in page.events]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(dead)) and pages == 3
    everyone = await repo.dead_page(tenant_id=None, limit=100)
    assert [e.id for e in everyone.events] == [foreign, *reversed(dead)]


@pytest.mark.parametrize("cursor", ["nonsense", "!!!", "YWJj", "MjAyNS0wMS0xNXxhdWRfeA"])
async def test_dead_page_refuses_foreign_cursors(repo: InboxRepo, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        await repo.dead_page(tenant_id=None, cursor=cursor)


async def test_unsettled_walks_pending_and_failed_in_batches(
    repo: InboxRepo, clock: FakeClock
) -> None:
    start = clock.now - timedelta(hours=1)
    ids = [
        await _record(repo, f"wh_u{i}", received_at=start + timedelta(seconds=i)) for i in range(5)
    ]
    await repo.mark_processed(ids[1])
    await repo.record_failure(ids[2], "E: retry", dead=False)
    await repo.record_failure(ids[3], "E: dead", dead=True)
    first = await repo.unsettled_older_than(60, limit=2)
    assert [e.id for e in first] == [ids[0], ids[2]]
    rest = await repo.unsettled_older_than(60, limit=2, after=(first[-1].received_at, first[-1].id))
    assert [e.id for e in rest] == [ids[4]]
    assert await repo.unsettled_older_than(7200) == []
