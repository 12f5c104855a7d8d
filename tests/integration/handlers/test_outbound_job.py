"""The ``subscription.deliver`` job against a real local receiver, on SQLite and PostgreSQL:
SSRF refused again at delivery time (nothing sent), the per-host circuit, malformed and
repeated jobs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.support.receiver import Receiver, receiver

from ghl_bridge.client.resilience.circuit import CircuitBreakers
from ghl_bridge.events.outbound import OutboundDeliverer
from ghl_bridge.events.subscriptions import SubscriptionService, seal_context
from ghl_bridge.jobs.port import Job, RetryLater
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.models import Delivery, Subscription, new_id
from ghl_bridge.store.subscriptions import SubscriptionRepo
from ghl_bridge.store.tenants import TenantRepo
from ghl_bridge.vault import KeyRing, Vault


class _NoQueue:
    async def enqueue(self, *args: Any, **kwargs: Any) -> str:
        return "unused"


@dataclass
class World:
    sessions: Any
    vault: Vault
    tenant_id: str
    event_id: str
    hook: Receiver

    def service(self, *, allow_private: bool) -> SubscriptionService:
        return SubscriptionService(
            SubscriptionRepo(self.sessions),
            DeliveryRepo(self.sessions),
            self.vault,
            _NoQueue(),  # type: ignore[arg-type]
            allow_private=allow_private,
        )

    async def delivery_to(self, url: str) -> Delivery:
        """A subscription stored as if validated earlier (DNS may change since), routed."""
        sub_id = new_id("sub_")
        secrets = json.dumps([{"secret": "whsec_" + "A" * 43 + "=", "expiresAt": None}])
        await SubscriptionRepo(self.sessions).create(
            Subscription(
                id=sub_id,
                tenant_id=self.tenant_id,
                name="t",
                event_types='["*"]',
                predicates="[]",
                target_kind="webhook",
                url=url,
                secrets_sealed=self.vault.seal(secrets, context=seal_context(sub_id)),
                scopes="read write",
                active=True,
            )
        )
        [delivery] = await DeliveryRepo(self.sessions).route(
            tenant_id=self.tenant_id,
            event_id=self.event_id,
            event_type="X",
            subscription_ids=[sub_id],
        )
        return delivery


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    tenant, _ = await TenantRepo(sessions).create("acme")
    event_id, _ = await InboxRepo(sessions).record(
        "wh-1",
        event_type="ContactCreate",
        location_id="loc1",
        company_id=None,
        tenant_id=tenant.id,
        payload=json.dumps({"type": "ContactCreate", "id": "c1"}),
        signature_scheme="ed25519",
        received_at=datetime.now(UTC),
    )
    try:
        async with receiver() as hook:
            yield World(
                sessions, Vault(KeyRing.parse(KeyRing.generate("k1"))), tenant.id, event_id, hook
            )
    finally:
        await engine.dispose()


def _job(delivery: Delivery | None, **data: Any) -> Job:
    async def report(_: Any) -> None:
        return None

    payload = {"deliveryId": delivery.id, "generation": delivery.generation} if delivery else {}
    return Job(
        id="j1", name="subscription.deliver", data={**payload, **data}, attempt=1, report=report
    )


def _deliverer(world: World, service: SubscriptionService, **kw: Any) -> OutboundDeliverer:
    return OutboundDeliverer(
        DeliveryRepo(world.sessions), service, InboxRepo(world.sessions), schedule=(0.0, 0.0), **kw
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_private_target_refused_at_delivery_time(world: World, host: str) -> None:
    """A literal is refused before the request, a name by the connector's resolver; both fail
    the delivery for good and nothing reaches the (loopback) receiver."""
    port = world.hook.url.split(":")[2].split("/")[0]
    delivery = await world.delivery_to(f"https://{host}:{port}/hook")
    deliverer = _deliverer(world, world.service(allow_private=False))
    try:
        outcome = await deliverer(_job(delivery))
    finally:
        await deliverer.aclose()
    assert outcome["status"] == "failed"
    row = await DeliveryRepo(world.sessions).get(delivery.id)
    assert row is not None and row.last_error is not None and "loopback" in row.last_error
    assert world.hook.received == []


async def test_circuit_opens_per_host_without_spending_attempts(world: World) -> None:
    world.hook.default = 500
    delivery = await world.delivery_to(world.hook.url)
    circuits = CircuitBreakers(threshold=2, ttl_s=60)
    deliverer = _deliverer(
        world, world.service(allow_private=True), circuits=circuits, circuit_ttl_s=60
    )
    try:
        for _ in range(2):
            with pytest.raises(RetryLater) as waited:
                await deliverer(_job(delivery))
            assert waited.value.delay_s == 0
            delivery = await DeliveryRepo(world.sessions).get(delivery.id)  # type: ignore[assignment]
        with pytest.raises(RetryLater) as parked:
            await deliverer(_job(delivery))
    finally:
        await deliverer.aclose()
    assert parked.value.delay_s == 60
    row = await DeliveryRepo(world.sessions).get(delivery.id)
    assert row is not None and row.attempts == 2 and row.status == "pending"
    assert len(world.hook.received) == 2


async def test_4xx_is_retried_but_does_not_open_the_circuit(world: World) -> None:
    world.hook.default = 404
    delivery = await world.delivery_to(world.hook.url)
    circuits = CircuitBreakers(threshold=1, ttl_s=60)
    deliverer = _deliverer(world, world.service(allow_private=True), circuits=circuits)
    try:
        for _ in range(2):
            with pytest.raises(RetryLater):
                await deliverer(_job(delivery))
            delivery = await DeliveryRepo(world.sessions).get(delivery.id)  # type: ignore[assignment]
        outcome = await deliverer(_job(delivery))
    finally:
        await deliverer.aclose()
    assert outcome["status"] == "dead" and len(world.hook.received) == 3


async def test_malformed_stale_and_repeated_jobs_are_no_ops(world: World) -> None:
    delivery = await world.delivery_to(world.hook.url)
    deliverer = _deliverer(world, world.service(allow_private=True))
    try:
        assert (await deliverer(_job(None)))["status"] == "gone"
        assert (await deliverer(_job(None, deliveryId="dlv_nope", generation=1)))[
            "status"
        ] == "gone"
        assert (await deliverer(_job(delivery, generation="1")))["status"] == "gone"
        assert (await deliverer(_job(delivery, generation=7)))["stale"] is True
        assert (await deliverer(_job(delivery)))["status"] == "delivered"
        again = await deliverer(_job(delivery))  # a redelivered job
    finally:
        await deliverer.aclose()
    assert again == {"deliveryId": delivery.id, "status": "delivered", "stale": True}
    assert len(world.hook.received) == 1


async def test_sweeper_requeues_lost_and_failed_delivery_jobs(world: World) -> None:
    """The database says what is due: a delivery whose job was lost is queued again, and one
    whose job failed for good (no handler in that worker) is run again."""
    import asyncio

    from tests.support.polling import eventually

    from ghl_bridge.events.outbound import DeliverySweeper
    from ghl_bridge.events.schedule import job_id
    from ghl_bridge.jobs.inprocess import InProcessQueue, InProcessWorker
    from ghl_bridge.store.types import utcnow

    delivery = await world.delivery_to(world.hook.url)
    queue = InProcessQueue(world.sessions, "outbound-test")
    later = lambda: utcnow() + timedelta(minutes=5)  # noqa: E731 - the sweep runs "later"
    sweeper = DeliverySweeper(DeliveryRepo(world.sessions), queue, clock=later)
    assert await sweeper.sweep_once() == 1  # never queued: queued now
    name = job_id(delivery.id, delivery.generation)
    info = await queue.get(name)
    assert info is not None and info.state == "waiting"

    worker = InProcessWorker(queue, {}, concurrency=1)  # knows no job names at all
    task = asyncio.create_task(worker.run())

    async def failed() -> bool:
        got = await queue.get(name)
        return got is not None and got.state == "failed"

    await eventually(failed)
    await worker.stop()
    await task
    await sweeper.sweep_once()
    info = await queue.get(name)
    assert info is not None and info.state == "waiting"  # replayed, not stuck
