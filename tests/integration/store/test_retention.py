"""Retention on SQLite and PostgreSQL: what goes (handled events past the retention with their
delivered deliveries, old audit records, expired idempotency records) and what stays whatever
its age (work ahead, dead letters, deliveries not delivered)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.integration.store.conftest import FakeClock
from tests.support.records import action_subscription, contact_event

from ghl_bridge.config import Settings
from ghl_bridge.retention import RetentionSweeper, Rule, rows_pruned
from ghl_bridge.runtime import Runtime
from ghl_bridge.store import InboxRepo, TenantRepo
from ghl_bridge.store.audit import AuditFilter, AuditRepo
from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.idempotency import IdempotencyRepo
from ghl_bridge.store.models import Delivery, new_id
from ghl_bridge.store.subscriptions import SubscriptionRepo
from ghl_bridge.vault import KeyRing


class _World:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.inbox = InboxRepo(sessions, clock=clock)
        self.deliveries = DeliveryRepo(sessions, clock=clock)
        self.tenant = ""
        self.subscription = ""

    async def setup(self) -> None:
        tenant, _ = await TenantRepo(self.sessions).create("acme")
        sub = await SubscriptionRepo(self.sessions, clock=self.clock).create(
            action_subscription(tenant.id, "all")
        )
        self.tenant, self.subscription = tenant.id, sub.id

    async def event(self, name: str, received_at: datetime, *, status: str = "processed") -> str:
        event_id = await contact_event(
            self.inbox, name, tenant_id=self.tenant, received_at=received_at
        )
        if status == "processed":
            await self.inbox.mark_processed(event_id)
        elif status == "dead":
            await self.inbox.mark_dead(event_id, "gave up")
        elif status == "failed":
            await self.inbox.mark_failed(event_id, "try again")
        return event_id

    async def delivery(self, event_id: str, status: str) -> str:
        [delivery] = await self.deliveries.route(
            tenant_id=self.tenant,
            event_id=event_id,
            event_type="ContactCreate",
            subscription_ids=[self.subscription],
        )
        if status != "pending":
            await self.deliveries.claim(delivery.id, 1, 0)
            await self.deliveries.record(
                delivery.id, 1, status=status, entry={}, status_code=200, error=None
            )
        return delivery.id

    async def delivery_count(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)


async def test_only_handled_events_past_the_retention_go_with_their_deliveries(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = _World(sessions, clock)
    await world.setup()
    old = clock.now - timedelta(days=40)
    gone = [await world.event(f"old-{n}", old + timedelta(minutes=n)) for n in range(3)]
    await world.delivery(gone[0], "delivered")
    kept = {
        "recent": await world.event("recent", clock.now - timedelta(days=1)),
        "pending": await world.event("pending", old, status="pending"),
        "failed": await world.event("failed", old, status="failed"),
        "dead": await world.event("dead", old, status="dead"),
        "retrying delivery": await world.event("retrying", old),
        "dead delivery": await world.event("dead-delivery", old),
    }
    await world.delivery(kept["retrying delivery"], "pending")
    await world.delivery(kept["dead delivery"], "dead")
    assert await world.delivery_count() == 3

    removed = await world.inbox.prune_settled(clock.now - timedelta(days=30), chunk=2)
    assert removed == 3  # in two chunks
    assert [await world.inbox.get(e) for e in gone] == [None] * 3
    still = {name: await world.inbox.get(event_id) for name, event_id in kept.items()}
    assert [name for name, event in still.items() if event is None] == []
    assert await world.delivery_count() == 2  # the delivered one went with its event
    assert await world.inbox.prune_settled(clock.now - timedelta(days=30)) == 0


async def test_the_sweeper_prunes_by_its_clock_and_counts(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = _World(sessions, clock)
    await world.setup()
    event_id = await world.event("e", clock.now)
    sweeper = RetentionSweeper(
        [Rule.older_than("events", 7, world.inbox.prune_settled)], clock=clock
    )
    before = rows_pruned().labels("events")._value.get()
    assert await sweeper.prune() == {"events": 0}
    clock.advance(7 * 86_400 + 1)
    assert await sweeper.prune() == {"events": 1}
    assert await world.inbox.get(event_id) is None
    assert rows_pruned().labels("events")._value.get() == before + 1


async def test_one_failing_kind_does_not_stop_the_others(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async def broken(_: datetime) -> int:
        raise ConnectionError("database gone")

    world = _World(sessions, clock)
    await world.setup()
    await world.event("e", clock.now - timedelta(days=2))
    sweeper = RetentionSweeper(
        [Rule("broken", broken), Rule.older_than("events", 1, world.inbox.prune_settled)],
        clock=clock,
    )
    assert await sweeper.prune() == {"events": 1}


async def test_audit_records_past_their_retention_go(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    audit = AuditRepo(sessions, clock=clock)
    rows = [
        {
            "id": new_id("aud_"),
            "at": clock.now - timedelta(days=age),
            "tenant_id": None,
            "actor": "test",
            "kind": "ghl_call",
            "resource_id": "loc1",
            "operation": "contacts.get",
            "status": "200",
        }
        for age in (100, 95, 91, 89, 1)
    ]
    await audit.insert_many(rows)
    assert await audit.prune(clock.now - timedelta(days=90), chunk=2) == 3
    page = await audit.page(AuditFilter(tenant_id=None), limit=10)
    assert [r.id for r in page.records] == [rows[4]["id"], rows[3]["id"]]


async def test_expired_idempotency_records_go_and_live_ones_stay(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tenant, _ = await TenantRepo(sessions).create("acme")
    keys = IdempotencyRepo(sessions, clock=clock)
    for key in ("old-1", "old-2"):
        await keys.claim(tenant.id, key, action="a", location_id="l", fingerprint="f")
    clock.advance(25 * 3600)
    await keys.claim(tenant.id, "fresh", action="a", location_id="l", fingerprint="f")
    assert await keys.prune_expired(clock.now, chunk=1) == 2
    again = await keys.claim(tenant.id, "fresh", action="a", location_id="l", fingerprint="f")
    assert again.state == "in_progress"  # still held: not pruned
    assert (
        await keys.claim(tenant.id, "old-1", action="a", location_id="l", fingerprint="f")
    ).state == "new"


@pytest.mark.parametrize(
    ("events", "audit", "kinds"),
    [(30.0, 90.0, ["idempotency", "events", "audit"]), (0.0, 0.0, ["idempotency"])],
)
async def test_the_runtime_runs_the_retention_it_is_configured_for(
    database_url: str, tmp_path: Path, events: float, audit: float, kinds: list[str]
) -> None:
    settings = Settings(
        database_url=database_url,
        encryption_keys=SecretStr(KeyRing.generate("k1")),
        event_retention_days=events,
        audit_retention_days=audit,
        reconcile_interval_s=0,
    )
    runtime = await Runtime.start(settings, with_worker=True, data_dir=tmp_path)
    try:
        assert "retention" in {task.get_name() for task in runtime._tasks}
        assert [rule.kind for rule in runtime.retention_rules()] == kinds
    finally:
        await runtime.close()
