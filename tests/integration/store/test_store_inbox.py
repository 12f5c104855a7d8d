"""InboxRepo: webhook deliveries recorded once (even under concurrency) and byte-exact."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.store import InboxRepo, NotFound, TenantRepo, WebhookEvent

if TYPE_CHECKING:
    from conftest import FakeClock


@pytest.fixture
def repo(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> InboxRepo:
    return InboxRepo(sessions, clock=clock)


def _event(webhook_id: str, **overrides: Any) -> dict[str, Any]:
    payload = json.dumps({"type": "ContactCreate", "webhookId": webhook_id, "locationId": "loc_1"})
    values: dict[str, Any] = {
        "event_type": "ContactCreate",
        "location_id": "loc_1",
        "company_id": "cmp_1",
        "tenant_id": None,
        "payload": payload,
        "signature_scheme": "ed25519",
        "received_at": datetime(2025, 1, 15, 12, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return values


async def _count(sessions: async_sessionmaker[AsyncSession], webhook_id: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(WebhookEvent.webhook_id == webhook_id)
        )
    return int(count or 0)


async def test_record_creates_a_pending_event(repo: InboxRepo) -> None:
    event_id, created = await repo.record("wh_1", **_event("wh_1"))

    assert created is True
    assert event_id.startswith("evt_")
    event = await repo.get(event_id)
    assert event is not None
    assert (event.webhook_id, event.event_type, event.status) == (
        "wh_1",
        "ContactCreate",
        "pending",
    )
    assert (event.location_id, event.company_id, event.tenant_id) == ("loc_1", "cmp_1", None)
    assert event.signature_scheme == "ed25519"
    assert event.received_at == datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert (event.retry_count, event.processed_at, event.last_error) == (0, None, None)
    assert await repo.get("evt_missing") is None


async def test_duplicate_returns_the_existing_id(
    repo: InboxRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first_id, first_created = await repo.record("wh_dup", **_event("wh_dup"))
    second_id, second_created = await repo.record(
        "wh_dup", **_event("wh_dup", payload="{}", signature_scheme="rsa")
    )

    assert (first_created, second_created) == (True, False)
    assert second_id == first_id
    assert await _count(sessions, "wh_dup") == 1
    kept = await repo.get(first_id)
    assert kept is not None and kept.signature_scheme == "ed25519"


async def test_twenty_concurrent_records_of_one_webhook(
    repo: InboxRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    results = await asyncio.gather(
        *(repo.record("wh_burst", **_event("wh_burst")) for _ in range(20))
    )

    assert sum(created for _, created in results) == 1
    assert len({event_id for event_id, _ in results}) == 1
    assert await _count(sessions, "wh_burst") == 1


async def test_concurrent_records_of_distinct_webhooks(
    repo: InboxRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    results = await asyncio.gather(
        *(repo.record(f"wh_{i}", **_event(f"wh_{i}")) for i in range(20))
    )
    assert all(created for _, created in results)
    assert len({event_id for event_id, _ in results}) == 20
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookEvent)) == 20


async def test_large_payload_is_stored_byte_exact(repo: InboxRepo) -> None:
    # Whitespace, key order, escapes, CRLF, non-ASCII and astral characters must all survive.
    chunk = '{ "name" : "Zoë 🦄 日本語",\r\n\t"note": "a\\u0000b \\"q\\" \\\\ ", "n": 1.10 }  \n'
    raw = ("[" + ",".join([chunk] * 30_000) + "]").encode("utf-8")
    assert len(raw) > 2_000_000

    event_id, created = await repo.record("wh_big", **_event("wh_big", payload=raw.decode("utf-8")))
    assert created
    stored = await repo.get(event_id)
    assert stored is not None
    assert stored.payload.encode("utf-8") == raw


async def test_mark_processed(repo: InboxRepo, clock: FakeClock) -> None:
    event_id, _ = await repo.record("wh_p", **_event("wh_p"))
    clock.advance(3)
    await repo.mark_processed(event_id)
    event = await repo.get(event_id)
    assert event is not None
    assert (event.status, event.processed_at) == ("processed", clock.now)
    with pytest.raises(NotFound, match="webhook event"):
        await repo.mark_processed("evt_missing")


async def test_mark_failed_counts_and_truncates(repo: InboxRepo) -> None:
    event_id, _ = await repo.record("wh_f", **_event("wh_f"))
    await repo.mark_failed(event_id, "handler timed out")
    await repo.mark_failed(event_id, "x" * 5000)

    event = await repo.get(event_id)
    assert event is not None
    assert event.status == "failed"
    assert event.retry_count == 2
    assert event.last_error == "x" * 2000
    with pytest.raises(NotFound):
        await repo.mark_failed("evt_missing", "boom")


async def test_mark_pending_for_replay(repo: InboxRepo) -> None:
    event_id, _ = await repo.record("wh_r", **_event("wh_r"))
    await repo.mark_processed(event_id)
    await repo.mark_pending(event_id)
    event = await repo.get(event_id)
    assert event is not None
    assert (event.status, event.processed_at) == ("pending", None)
    with pytest.raises(NotFound):
        await repo.mark_pending("evt_missing")


async def test_list_filters_and_orders_newest_first(
    repo: InboxRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tenant, _ = await TenantRepo(sessions).create("acme")
    start = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    ids = []
    for i in range(6):
        event_id, _ = await repo.record(
            f"wh_l{i}",
            **_event(
                f"wh_l{i}",
                location_id="loc_a" if i % 2 else "loc_b",
                tenant_id=tenant.id if i < 3 else None,
                received_at=start + timedelta(seconds=i),
            ),
        )
        ids.append(event_id)
    await repo.mark_processed(ids[5])
    await repo.mark_failed(ids[4], "nope")

    assert [e.id for e in await repo.list()] == ids[::-1]
    assert [e.id for e in await repo.list(limit=2)] == [ids[5], ids[4]]
    assert [e.id for e in await repo.list(status="pending")] == [ids[3], ids[2], ids[1], ids[0]]
    assert [e.id for e in await repo.list(location_id="loc_a")] == [ids[5], ids[3], ids[1]]
    assert [e.id for e in await repo.list(status="pending", location_id="loc_a")] == [
        ids[3],
        ids[1],
    ]
    assert [e.id for e in await repo.list(tenant_id=tenant.id)] == [ids[2], ids[1], ids[0]]
    assert [e.id for e in await repo.list(status="failed")] == [ids[4]]
    assert len(await repo.list(limit=0)) == 1
    with pytest.raises(ValueError, match="status"):
        await repo.list(status="weird")


async def test_pending_older_than(repo: InboxRepo, clock: FakeClock) -> None:
    old_id, _ = await repo.record("wh_old", **_event("wh_old", received_at=clock.now))
    done_id, _ = await repo.record("wh_done", **_event("wh_done", received_at=clock.now))
    await repo.mark_processed(done_id)
    clock.advance(50)
    mid_id, _ = await repo.record("wh_mid", **_event("wh_mid", received_at=clock.now))
    clock.advance(50)
    await repo.record("wh_new", **_event("wh_new", received_at=clock.now))

    assert [e.id for e in await repo.pending_older_than(60)] == [old_id]
    assert [e.id for e in await repo.pending_older_than(30)] == [old_id, mid_id]
    assert [e.id for e in await repo.pending_older_than(30, limit=1)] == [old_id]
    assert await repo.pending_older_than(500) == []


async def test_record_validation(repo: InboxRepo) -> None:
    with pytest.raises(ValueError, match="signature_scheme"):
        await repo.record("wh_v", **_event("wh_v", signature_scheme="hmac"))
    with pytest.raises(ValueError, match="received_at"):
        await repo.record(
            "wh_v",
            **_event("wh_v", received_at=datetime(2025, 1, 1)),
        )
    assert await repo.list() == []
