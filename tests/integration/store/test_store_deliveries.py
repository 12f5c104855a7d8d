"""Subscriptions and deliveries on SQLite and PostgreSQL: routing once under concurrency, the
attempt claim, the capped log, replay, overdue sweeping, tenant confinement, cascades."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.support.records import action_subscription, contact_event

from ghl_bridge.store import InboxRepo, TenantRepo
from ghl_bridge.store.deliveries import LOG_CAP, DeliveryRepo, NotReplayable
from ghl_bridge.store.subscriptions import SubscriptionRepo

if TYPE_CHECKING:
    from conftest import FakeClock


async def _world(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> tuple[str, str, str, str]:
    tenants = TenantRepo(sessions)
    tenant, _ = await tenants.create("acme")
    other, _ = await tenants.create("other")
    sub = await SubscriptionRepo(sessions, clock=clock).create(
        action_subscription(tenant.id, "all")
    )
    event_id = await contact_event(
        InboxRepo(sessions),
        "wh-1",
        tenant_id=tenant.id,
        received_at=datetime(2025, 1, 15, 12, 0, tzinfo=UTC),
    )
    return tenant.id, other.id, sub.id, event_id


async def test_routing_is_once_even_when_concurrent(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tenant, _, sub, event = await _world(sessions, clock)
    repo = DeliveryRepo(sessions, clock=clock)
    runs = await asyncio.gather(
        *[
            repo.route(tenant_id=tenant, event_id=event, event_type="X", subscription_ids=[sub])
            for _ in range(8)
        ]
    )
    assert {d.id for run in runs for d in run} == {runs[0][0].id}
    assert len(await repo.list(sub)) == 1


async def test_claim_is_taken_once_and_record_caps_the_log(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tenant, _, sub, event = await _world(sessions, clock)
    repo = DeliveryRepo(sessions, clock=clock)
    [delivery] = await repo.route(
        tenant_id=tenant, event_id=event, event_type="X", subscription_ids=[sub]
    )
    claims = await asyncio.gather(*[repo.claim(delivery.id, 1, 0) for _ in range(5)])
    assert claims.count(True) == 1
    assert not await repo.claim(delivery.id, 2, 1)  # another generation's job
    for n in range(LOG_CAP + 5):
        await repo.record(
            delivery.id, 1, status="pending", entry={"n": n}, status_code=500, error="x" * 900
        )
    row = await repo.get(delivery.id)
    assert row is not None
    assert [e["n"] for e in json.loads(row.log)] == list(range(5, LOG_CAP + 5))
    assert row.last_error is not None and len(row.last_error) == 500


async def test_replay_and_overdue(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tenant, other, sub, event = await _world(sessions, clock)
    repo = DeliveryRepo(sessions, clock=clock)
    [delivery] = await repo.route(
        tenant_id=tenant, event_id=event, event_type="X", subscription_ids=[sub]
    )
    with pytest.raises(NotReplayable):
        await repo.replay(delivery.id, tenant_id=tenant)
    clock.advance(120)
    assert [d.id for d in await repo.overdue(clock.now)] == [delivery.id]
    await repo.claim(delivery.id, 1, 0)
    await repo.record(delivery.id, 1, status="dead", entry={}, status_code=500, error="boom")
    assert await repo.overdue(clock.now) == []
    assert await repo.replay(delivery.id, tenant_id=other) is None  # not the other tenant's
    replayed = await repo.replay(delivery.id, tenant_id=tenant)
    assert replayed is not None
    assert (replayed.status, replayed.generation, replayed.attempts) == ("pending", 2, 0)
    # A late record from the first generation's job changes nothing.
    await repo.record(delivery.id, 1, status="failed", entry={}, status_code=None, error="late")
    row = await repo.get(delivery.id)
    assert row is not None and row.status == "pending"


async def test_subscriptions_are_confined_and_cascade(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tenant, other, sub, event = await _world(sessions, clock)
    subs, deliveries = SubscriptionRepo(sessions, clock=clock), DeliveryRepo(sessions, clock=clock)
    await deliveries.route(tenant_id=tenant, event_id=event, event_type="X", subscription_ids=[sub])
    assert await subs.get(sub, tenant_id=other) is None
    assert not await subs.delete(sub, tenant_id=other)
    assert [s.id for s in await subs.active(tenant)] == [sub]
    assert await subs.delete(sub, tenant_id=tenant)
    assert await deliveries.list(sub) == []
