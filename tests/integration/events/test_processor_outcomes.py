"""How the webhook processor records each kind of attempt outcome on the event, without a queue
(the Job says which attempt it is): a failure before the last is ``failed``, on the last it is
``dead``, a RetryLater is not counted, and a processed event is not run again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ghl_bridge.events.processor import EventProcessor
from ghl_bridge.jobs.port import Job, RetryLater
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.models import WebhookEvent


class Handler:
    def __init__(self) -> None:
        self.error: Exception | None = RuntimeError("down")
        self.runs = 0

    async def __call__(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        self.runs += 1
        if self.error is not None:
            raise self.error


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[tuple[InboxRepo, EventProcessor, Handler]]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    inbox, handler = InboxRepo(sessions), Handler()
    processor = EventProcessor(inbox, ConnectionRepo(sessions))
    processor.add_route("Flaky", handler)
    try:
        yield inbox, processor, handler
    finally:
        await engine.dispose()


async def _ignore(_: Any) -> None:
    return None


def _job(event_id: str, attempt: int, of: int = 3) -> Job:
    data = {"eventId": event_id}
    return Job(
        id="wh-x",
        name="webhook.process",
        data=data,
        attempt=attempt,
        report=_ignore,
        max_attempts=of,
    )


async def _event(inbox: InboxRepo) -> str:
    event_id, _ = await inbox.record(
        "wh-1",
        event_type="Flaky",
        location_id="loc1",
        company_id=None,
        tenant_id=None,
        payload=json.dumps({"type": "Flaky"}),
        signature_scheme="ed25519",
        received_at=datetime.now(UTC),
    )
    return event_id


async def test_failed_then_dead_on_the_last_attempt(parts: Any) -> None:
    inbox, processor, _handler = parts
    event_id = await _event(inbox)
    for attempt, status in ((1, "failed"), (2, "failed"), (3, "dead")):
        with pytest.raises(RuntimeError):
            await processor(_job(event_id, attempt))
        event = await inbox.get(event_id)
        assert event is not None and (event.status, event.retry_count) == (status, attempt)
    assert event.dead_at is not None and event.last_error == "RuntimeError: down"


async def test_retry_later_is_not_a_failure(parts: Any) -> None:
    inbox, processor, handler = parts
    event_id = await _event(inbox)
    handler.error = RetryLater(5)
    with pytest.raises(RetryLater):
        await processor(_job(event_id, 3))  # even on the last attempt: it is not one
    event = await inbox.get(event_id)
    assert event is not None and (event.status, event.retry_count) == ("pending", 0)


async def test_processed_event_is_not_run_again(parts: Any) -> None:
    inbox, processor, handler = parts
    event_id = await _event(inbox)
    handler.error = None
    assert (await processor(_job(event_id, 1)))["status"] == "processed"
    again = await processor(_job(event_id, 1))
    assert again["repeat"] is True and handler.runs == 1
