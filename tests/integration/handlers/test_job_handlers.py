"""The queue's job handlers refuse malformed, unauthorised and unknown work permanently (no
retries burning GHL budget), and treat a repeated job as a no-op."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ghl_bridge.actions import ActionService, default_registry
from ghl_bridge.actions.jobs import action_job_handler
from ghl_bridge.client import ClientOptions, GHLClient, StaticTokens
from ghl_bridge.events.processor import EventProcessor
from ghl_bridge.jobs.port import Job, PermanentFailure
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.tenants import TenantRepo


class Repos:
    def __init__(self, sessions: Any) -> None:
        self.tenants = TenantRepo(sessions)
        self.connections = ConnectionRepo(sessions)
        self.inbox = InboxRepo(sessions)


@pytest.fixture
async def repos(database_url: str) -> AsyncIterator[Repos]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        yield Repos(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def _job(data: dict[str, Any], name: str = "action") -> Job:
    async def report(_: Any) -> None:
        return None

    return Job(id="job-1", name=name, data=data, attempt=1, report=report)


@pytest.fixture
async def handler(repos: Repos) -> AsyncIterator[Any]:
    # GHL is never reached by these cases: a base URL nothing listens on proves it.
    ghl = GHLClient(
        tokens=StaticTokens(default="unused"), options=ClientOptions(base_url="http://127.0.0.1:9")
    )
    async with ghl:
        yield action_job_handler(ActionService(default_registry(), repos.connections, ghl))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"tenant": "t", "locationId": "l"},
        {"tenant": 5, "locationId": "l", "action": "contacts.create"},
        {"tenant": "t", "locationId": "", "action": "contacts.create"},
    ],
)
async def test_malformed_action_jobs_fail_permanently(handler: Any, data: dict[str, Any]) -> None:
    with pytest.raises(PermanentFailure, match="non-empty string"):
        await handler(_job(data))


async def test_unknown_action_and_bad_input_and_foreign_location_are_permanent(
    handler: Any, repos: Repos
) -> None:
    tenant, _ = await repos.tenants.create("acme")
    base = {"tenant": tenant.id, "locationId": "loc1"}
    with pytest.raises(PermanentFailure, match="not_found"):
        await handler(_job({**base, "action": "contacts.nope", "input": {}}))
    with pytest.raises(PermanentFailure, match="validation_error"):
        await handler(_job({**base, "action": "contacts.create", "input": {"email": "bad"}}))
    with pytest.raises(PermanentFailure, match="forbidden"):
        await handler(_job({**base, "action": "contacts.create", "input": {"email": "a@b.co"}}))


async def _event(repos: Repos, event_type: str = "ContactCreate") -> str:
    event_id, _ = await repos.inbox.record(
        "wh-1",
        event_type=event_type,
        location_id="loc1",
        company_id=None,
        tenant_id=None,
        payload=json.dumps({"type": event_type, "locationId": "loc1"}),
        signature_scheme="ed25519",
        received_at=datetime.now(UTC),
    )
    return event_id


async def test_event_processing_is_idempotent(repos: Repos) -> None:
    processor = EventProcessor(repos.inbox, repos.connections)
    event_id = await _event(repos)
    first = await processor(_job({"eventId": event_id}, "webhook.process"))
    again = await processor(_job({"eventId": event_id}, "webhook.process"))
    assert first["status"] == again["status"] == "processed"
    assert again["repeat"] is True


@pytest.mark.parametrize("data", [{}, {"eventId": ""}, {"eventId": "evt_missing"}])
async def test_unknown_event_ids_fail_permanently(repos: Repos, data: dict[str, Any]) -> None:
    processor = EventProcessor(repos.inbox, repos.connections)
    with pytest.raises(PermanentFailure):
        await processor(_job(data, "webhook.process"))


async def test_failing_route_marks_the_event_failed_and_reraises(repos: Repos) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("downstream down")

    processor = EventProcessor(repos.inbox, repos.connections, routes={"ContactCreate": broken})
    event_id = await _event(repos)
    with pytest.raises(RuntimeError):
        await processor(_job({"eventId": event_id}, "webhook.process"))
    stored = await repos.inbox.get(event_id)
    assert stored is not None
    assert stored.status == "failed" and stored.retry_count == 1
    assert "downstream down" in (stored.last_error or "")
