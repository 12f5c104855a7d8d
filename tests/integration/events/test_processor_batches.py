"""EventProcessor.run_batch on real stores (SQLite and PostgreSQL): a batch of events is loaded
with one query and marked with one statement, each job gets its own result or error, and the
events of a batch share one subscription look-up in the routing sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.integration.jobs.harness import wait_for_state
from tests.support.records import action_subscription
from tests.support.statements import statements

from ghl_bridge.events.processor import EventProcessor
from ghl_bridge.events.routing import RoutingSink
from ghl_bridge.jobs import InProcessQueue, InProcessWorker
from ghl_bridge.jobs.port import BatchHandler, Job, PermanentFailure, RetryLater
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.models import WebhookEvent, new_id
from ghl_bridge.store.subscriptions import SubscriptionRepo
from ghl_bridge.store.tenants import TenantRepo


@dataclass
class Downstream:
    """The route of "Tick" events: records what it saw, fails for the events told to."""

    seen: list[str] = field(default_factory=list)
    failing: dict[str, Exception] = field(default_factory=dict)

    async def __call__(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        self.seen.append(event.id)
        if event.id in self.failing:
            raise self.failing[event.id]


@dataclass
class Parts:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    inbox: InboxRepo
    downstream: Downstream
    processor: EventProcessor


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[Parts]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    inbox, downstream = InboxRepo(sessions), Downstream()
    processor = EventProcessor(inbox, ConnectionRepo(sessions), {"Tick": downstream})
    try:
        yield Parts(engine, sessions, inbox, downstream, processor)
    finally:
        await engine.dispose()


async def _ignore(_: Any) -> None:
    return None


def _job(event_id: str | None, attempt: int = 1, of: int = 3) -> Job:
    data = {} if event_id is None else {"eventId": event_id}
    return Job(
        id=f"wh-{event_id}",
        name="webhook.process",
        data=data,
        attempt=attempt,
        report=_ignore,
        max_attempts=of,
    )


async def _events(
    inbox: InboxRepo, count: int, *, type_: str = "Tick", tenant_id: str | None = None
) -> list[str]:
    ids = []
    for _ in range(count):
        event_id, _created = await inbox.record(
            new_id("wh_"),
            event_type=type_,
            location_id="loc1",
            company_id=None,
            tenant_id=tenant_id,
            payload=json.dumps({"type": type_, "locationId": "loc1"}),
            signature_scheme="ed25519",
            received_at=datetime.now(UTC),
        )
        ids.append(event_id)
    return ids


def _touching(seen: list[str], verb: str, table: str) -> list[str]:
    return [s for s in seen if s.startswith(verb) and table in s]


async def test_a_batch_of_events_is_processed_with_one_load_and_one_mark(parts: Parts) -> None:
    ids = await _events(parts.inbox, 8)

    with statements(parts.engine) as seen:
        results = await parts.processor.run_batch([_job(i) for i in ids])

    assert results == [{"eventId": i, "status": "processed", "type": "Tick"} for i in ids]
    assert sorted(parts.downstream.seen) == sorted(ids)
    for event_id in ids:
        stored = await parts.inbox.get(event_id)
        assert stored is not None
        assert stored.status == "processed" and stored.processed_at is not None
    assert len(_touching(seen, "select", "webhook_events")) == 1
    assert len(_touching(seen, "update webhook_events", "")) == 1


async def test_concurrent_calls_share_their_load_and_mark(parts: Parts) -> None:
    ids = await _events(parts.inbox, 6)

    with statements(parts.engine) as seen:
        results = await asyncio.gather(*(parts.processor(_job(i)) for i in ids))

    assert [result["eventId"] for result in results] == ids
    assert len(_touching(seen, "select", "webhook_events")) == 1
    assert len(_touching(seen, "update webhook_events", "")) == 1
    stored = await parts.inbox.get_many(ids)
    assert [stored[i].status for i in ids] == ["processed"] * 6


async def test_an_unknown_event_fails_permanently_for_its_job_only(parts: Parts) -> None:
    ids = await _events(parts.inbox, 2)
    jobs = [_job(ids[0]), _job("evt_missing"), _job(None), _job(ids[1])]

    results = await parts.processor.run_batch(jobs)

    assert results[0] == {"eventId": ids[0], "status": "processed", "type": "Tick"}
    assert isinstance(results[1], PermanentFailure) and "evt_missing" in str(results[1])
    assert isinstance(results[2], PermanentFailure)
    assert results[3] == {"eventId": ids[1], "status": "processed", "type": "Tick"}


async def test_an_already_processed_event_is_a_repeat(parts: Parts) -> None:
    ids = await _events(parts.inbox, 2)
    await parts.inbox.mark_processed(ids[0])

    results = await parts.processor.run_batch([_job(ids[0]), _job(ids[1])])

    assert results == [
        {"eventId": ids[0], "status": "processed", "repeat": True},
        {"eventId": ids[1], "status": "processed", "type": "Tick"},
    ]
    assert parts.downstream.seen == [ids[1]]


async def test_a_failing_event_records_its_failure_on_that_event_only(parts: Parts) -> None:
    ids = await _events(parts.inbox, 4)
    parts.downstream.failing = {
        ids[1]: RuntimeError("downstream down"),
        ids[2]: RetryLater(30, "rate limited"),
    }

    first = await parts.processor.run_batch([_job(i) for i in ids])
    last = await parts.processor.run_batch([_job(ids[1], attempt=3)])

    assert first[0] == {"eventId": ids[0], "status": "processed", "type": "Tick"}
    assert isinstance(first[1], RuntimeError)
    assert isinstance(first[2], RetryLater)
    assert first[3] == {"eventId": ids[3], "status": "processed", "type": "Tick"}
    assert isinstance(last[0], RuntimeError)
    stored = {i: await parts.inbox.get(i) for i in ids}
    got = {i: (e.status, e.retry_count, e.last_error) for i, e in stored.items() if e is not None}
    assert got == {
        ids[0]: ("processed", 0, None),
        ids[1]: ("dead", 2, "RuntimeError: downstream down"),
        ids[2]: ("pending", 0, None),  # being told to wait is no failure
        ids[3]: ("processed", 0, None),
    }


async def test_a_failing_sink_records_its_failure_on_that_event_only(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        inbox = InboxRepo(make_sessionmaker(engine))
        ids = await _events(inbox, 3)

        async def sink(event: WebhookEvent, body: dict[str, Any]) -> None:
            if event.id == ids[1]:
                raise PermanentFailure("no such target")

        processor = EventProcessor(
            inbox, ConnectionRepo(make_sessionmaker(engine)), {"Tick": Downstream()}, sinks=[sink]
        )
        results = await processor.run_batch([_job(i) for i in ids])

        assert isinstance(results[1], PermanentFailure)
        assert [results[0]["eventId"], results[2]["eventId"]] == [ids[0], ids[2]]
        failed = await inbox.get(ids[1])
        assert failed is not None
        assert (failed.status, failed.last_error) == ("dead", "PermanentFailure: no such target")
        for event_id in (ids[0], ids[2]):
            done = await inbox.get(event_id)
            assert done is not None and done.status == "processed"
    finally:
        await engine.dispose()


async def test_events_of_a_batch_share_one_subscription_look_up(parts: Parts) -> None:
    tenants = TenantRepo(parts.sessions)
    acme, _ = await tenants.create("acme")
    beta, _ = await tenants.create("beta")
    subscriptions = SubscriptionRepo(parts.sessions)
    subscription = await subscriptions.create(
        action_subscription(acme.id, "ticks", event_types='["Tick"]')
    )
    deliveries = DeliveryRepo(parts.sessions)
    actions = InProcessQueue(parts.sessions, "actions-test")
    processor = EventProcessor(
        parts.inbox,
        ConnectionRepo(parts.sessions),
        {"Tick": parts.downstream},
        sinks=[RoutingSink(subscriptions, deliveries, actions)],
    )
    acme_events = await _events(parts.inbox, 3, tenant_id=acme.id)
    beta_events = await _events(parts.inbox, 2, tenant_id=beta.id)

    with statements(parts.engine) as seen:
        results = await processor.run_batch([_job(i) for i in acme_events + beta_events])

    assert [r["status"] for r in results] == ["processed"] * 5
    assert len(_touching(seen, "select", "from subscriptions")) == 1
    routed = await deliveries.list(subscription.id)
    assert sorted(d.event_id for d in routed) == sorted(acme_events)


async def test_the_in_process_worker_hands_the_processor_whole_batches(parts: Parts) -> None:
    assert isinstance(parts.processor, BatchHandler)
    queue = InProcessQueue(parts.sessions, "events-test")
    ids = await _events(parts.inbox, 5)
    job_ids = [await queue.enqueue("webhook.process", {"eventId": i}) for i in ids]
    worker = InProcessWorker(
        queue, {"webhook.process": parts.processor}, concurrency=16, poll_interval_s=0.02
    )

    with statements(parts.engine) as seen:
        task = asyncio.create_task(worker.run())
        try:
            infos = [await wait_for_state(queue, j, {"completed"}) for j in job_ids]
        finally:
            await worker.stop()
            await asyncio.wait_for(task, 10)

    assert [info.result for info in infos] == [
        {"eventId": i, "status": "processed", "type": "Tick"} for i in ids
    ]
    assert len(_touching(seen, "select", "from webhook_events")) == 1


async def test_each_event_of_a_batch_is_reported_done_as_it_ends(parts: Parts) -> None:
    """A slow handler (an INSTALL waiting on GHL) holds back no other event: each is reported
    done, processed and marked, while the slow one still runs."""
    release = asyncio.Event()

    async def slow(event: WebhookEvent, body: dict[str, Any]) -> None:
        await release.wait()

    parts.processor.add_route("Slow", slow)
    fast_ids = await _events(parts.inbox, 3)
    [slow_id] = await _events(parts.inbox, 1, type_="Slow")
    order = [fast_ids[0], slow_id, *fast_ids[1:]]
    reported: dict[int, Any] = {}
    three_done = asyncio.Event()

    def done(index: int, result: Any) -> None:
        reported[index] = result
        if len(reported) == 3:
            three_done.set()

    batch = asyncio.create_task(parts.processor.run_batch([_job(i) for i in order], done))
    await asyncio.wait_for(three_done.wait(), 10)
    assert sorted(reported) == [0, 2, 3]
    assert all(reported[n]["status"] == "processed" for n in (0, 2, 3))
    for event_id in fast_ids:
        stored = await parts.inbox.get(event_id)
        assert stored is not None and stored.status == "processed"
    assert not batch.done()

    release.set()
    results = await asyncio.wait_for(batch, 10)
    assert reported[1] == results[1] == {"eventId": slow_id, "status": "processed", "type": "Slow"}


@dataclass
class Recorder:
    """A `BatchSink` that records how it was called and fails the events told to."""

    batches: list[list[str]] = field(default_factory=list)
    singles: list[str] = field(default_factory=list)
    failing: dict[str, Exception] = field(default_factory=dict)

    async def __call__(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        self.singles.append(event.id)
        if event.id in self.failing:
            raise self.failing[event.id]

    async def route_many(
        self, events: Sequence[tuple[WebhookEvent, dict[str, Any]]]
    ) -> list[Exception | None]:
        self.batches.append([event.id for event, _ in events])
        return [self.failing.get(event.id) for event, _ in events]


async def test_events_without_a_handler_are_routed_as_one_batch(parts: Parts) -> None:
    recorder = Recorder()
    processor = EventProcessor(
        parts.inbox, ConnectionRepo(parts.sessions), {"Tick": parts.downstream}, sinks=[recorder]
    )
    plain = await _events(parts.inbox, 5, type_="ContactCreate")
    [tick] = await _events(parts.inbox, 1)
    recorder.failing = {
        plain[1]: RuntimeError("target down"),
        plain[2]: RetryLater(30, "rate limited"),
        plain[3]: PermanentFailure("no such target"),
    }
    reported: dict[int, Any] = {}
    jobs = [_job(i) for i in [*plain, tick]]

    with statements(parts.engine) as seen:
        results = await processor.run_batch(jobs, reported.__setitem__)

    assert recorder.batches == [plain]  # one call for the five, none per event
    assert recorder.singles == [tick]  # a type with a handler of its own goes alone
    assert reported == dict(enumerate(results))
    assert results[0] == {"eventId": plain[0], "status": "processed", "type": "ContactCreate"}
    assert [type(r) for r in results[1:4]] == [RuntimeError, RetryLater, PermanentFailure]
    assert results[4]["status"] == results[5]["status"] == "processed"
    assert len(_touching(seen, "select", "from webhook_events")) == 1
    stored = {i: await parts.inbox.get(i) for i in [*plain, tick]}
    got = {i: (e.status, e.retry_count) for i, e in stored.items() if e is not None}
    assert got == {
        plain[0]: ("processed", 0),
        plain[1]: ("failed", 1),
        plain[2]: ("pending", 0),  # being told to wait is no failure
        plain[3]: ("dead", 1),
        plain[4]: ("processed", 0),
        tick: ("processed", 0),
    }


async def test_a_batch_whose_sink_raises_fails_each_of_its_events_for_a_retry(
    parts: Parts,
) -> None:
    class Broken(Recorder):
        async def route_many(
            self, events: Sequence[tuple[WebhookEvent, dict[str, Any]]]
        ) -> list[Exception | None]:
            raise ConnectionError("database gone")

    processor = EventProcessor(parts.inbox, ConnectionRepo(parts.sessions), sinks=[Broken()])
    ids = await _events(parts.inbox, 3, type_="ContactCreate")
    results = await processor.run_batch([_job(i) for i in ids])
    assert all(isinstance(r, ConnectionError) for r in results)
    stored = await parts.inbox.get_many(ids)
    assert [(stored[i].status, stored[i].retry_count) for i in ids] == [("failed", 1)] * 3


async def test_an_unreadable_payload_is_dead_in_a_batch_too(parts: Parts) -> None:
    processor = EventProcessor(parts.inbox, ConnectionRepo(parts.sessions), sinks=[Recorder()])
    [good] = await _events(parts.inbox, 1, type_="ContactCreate")
    bad, _ = await parts.inbox.record(
        new_id("wh_"),
        event_type="ContactCreate",
        location_id="loc1",
        company_id=None,
        tenant_id=None,
        payload="[1, 2]",
        signature_scheme="ed25519",
        received_at=datetime.now(UTC),
    )
    results = await processor.run_batch([_job(bad), _job(good)])
    assert isinstance(results[0], PermanentFailure)
    assert results[1]["status"] == "processed"
    dead = await parts.inbox.get(bad)
    assert dead is not None and dead.status == "dead"


async def test_a_plain_sink_still_sees_every_event(parts: Parts) -> None:
    seen: list[str] = []

    async def sink(event: WebhookEvent, body: dict[str, Any]) -> None:
        seen.append(event.id)

    processor = EventProcessor(parts.inbox, ConnectionRepo(parts.sessions), sinks=[sink])
    ids = await _events(parts.inbox, 4, type_="ContactCreate")
    results = await processor.run_batch([_job(i) for i in ids])
    assert [r["status"] for r in results] == ["processed"] * 4
    assert sorted(seen) == sorted(ids)


async def test_the_routing_sink_routes_a_batch_with_one_look_up(parts: Parts) -> None:
    tenants = TenantRepo(parts.sessions)
    acme, _ = await tenants.create("acme")
    subscriptions = SubscriptionRepo(parts.sessions)
    subscription = await subscriptions.create(
        action_subscription(acme.id, "creates", event_types='["ContactCreate"]')
    )
    deliveries = DeliveryRepo(parts.sessions)
    sink = RoutingSink(subscriptions, deliveries, InProcessQueue(parts.sessions, "actions-test"))
    processor = EventProcessor(parts.inbox, ConnectionRepo(parts.sessions), sinks=[sink])
    creates = await _events(parts.inbox, 4, type_="ContactCreate", tenant_id=acme.id)
    others = await _events(parts.inbox, 2, type_="ContactDelete", tenant_id=acme.id)
    nobody = await _events(parts.inbox, 1, type_="ContactCreate")  # of no tenant

    with statements(parts.engine) as seen:
        results = await processor.run_batch([_job(i) for i in creates + others + nobody])

    assert [r["status"] for r in results] == ["processed"] * 7
    assert len(_touching(seen, "select", "from subscriptions")) == 1
    routed = await deliveries.list(subscription.id)
    assert sorted(d.event_id for d in routed) == sorted(creates)
    again = await processor.run_batch([_job(i) for i in creates])  # a re-run routes nothing new
    assert all(r.get("repeat") for r in again)
    assert len(await deliveries.list(subscription.id)) == 4
