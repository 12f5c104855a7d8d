"""The backlog the metrics read, on SQLite and PostgreSQL: events waiting or dead, the oldest
still waiting, and outbound deliveries waiting or dead."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.store.conftest import FakeClock
from tests.support.records import action_subscription, contact_event

from ghl_bridge.store import InboxRepo, TenantRepo
from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.subscriptions import SubscriptionRepo


async def test_backlog_counts_what_waits_and_what_is_dead(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    inbox, deliveries = InboxRepo(sessions, clock=clock), DeliveryRepo(sessions, clock=clock)
    assert await inbox.backlog() == ({"pending": 0, "failed": 0, "dead": 0}, None)
    assert await deliveries.backlog() == {"pending": 0, "dead": 0}

    tenant, _ = await TenantRepo(sessions).create("acme")
    sub = await SubscriptionRepo(sessions, clock=clock).create(action_subscription(tenant.id))
    ids = []
    for n, age_min in enumerate((50, 40, 30, 20, 10)):
        received = clock.now - timedelta(minutes=age_min)
        ids.append(await contact_event(inbox, f"wh-{n}", tenant_id=tenant.id, received_at=received))
    await inbox.mark_dead(ids[0], "gave up")  # the oldest: dead, not waiting
    await inbox.mark_failed(ids[1], "retrying")
    await inbox.mark_processed(ids[4])
    routed = [
        (
            await deliveries.route(
                tenant_id=tenant.id, event_id=i, event_type="X", subscription_ids=[sub.id]
            )
        )[0]
        for i in ids[2:5]
    ]
    await deliveries.claim(routed[0].id, 1, 0)
    await deliveries.record(routed[0].id, 1, status="dead", entry={}, status_code=500, error="x")
    await deliveries.claim(routed[1].id, 1, 0)
    await deliveries.record(
        routed[1].id, 1, status="delivered", entry={}, status_code=200, error=None
    )

    counts, oldest = await inbox.backlog()
    assert counts == {"pending": 2, "failed": 1, "dead": 1}
    assert oldest == clock.now - timedelta(minutes=40)  # the failed one, still waiting
    assert await deliveries.backlog() == {"pending": 1, "dead": 1}
