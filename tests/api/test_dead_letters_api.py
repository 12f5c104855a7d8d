"""GET /v1/dead-letters and POST /v1/events/{id}/replay over HTTP, on the full stack (simulator,
service, real database, in-process queue on SQLite and PostgreSQL): a delivery whose handler
always fails ends dead after its attempts, is listed, and after the fix a replay processes it
once; replays are tenant-scoped, validated and harmless when repeated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.support.polling import eventually
from tests.support.signing import event, signer
from tests.support.stack import Stack, running_stack

from ghl_bridge.jobs.port import PermanentFailure
from ghl_bridge.store.models import WebhookEvent

ATTEMPTS = 3


@dataclass
class Downstream:
    """An idempotent handler (a set keyed by event id) that fails while ``broken``."""

    broken: bool = True
    runs: int = 0
    applied: set[str] = field(default_factory=set)

    async def __call__(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        self.runs += 1
        if self.broken:
            raise RuntimeError("downstream down")
        self.applied.add(event.id)


async def _hopeless(event: WebhookEvent, body: dict[str, Any]) -> None:
    raise PermanentFailure("cannot ever work")


@dataclass
class World:
    stack: Stack
    key: str
    downstream: Downstream

    @property
    def auth(self) -> dict[str, str]:
        return self.stack.auth(self.key)

    def url(self, path: str) -> str:
        return self.stack.api_url + path

    async def deliver(self, type_: str = "TestFlaky") -> str:
        raw = event(self.stack.location_id, type_=type_)
        resp = await self.stack.http.post(
            self.url("/webhooks/ghl"),
            content=raw,
            headers={"Content-Type": "application/json", "x-ghl-signature": signer().ed25519(raw)},
        )
        assert resp.status_code == 200, resp.text
        return str(resp.json()["eventId"])

    async def dead_letters(self, **params: Any) -> dict[str, Any]:
        resp = await self.stack.http.get(
            self.url("/v1/dead-letters"), headers=self.auth, params=params
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def status(self, event_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            resp = await self.stack.http.get(
                self.url("/v1/events"), headers=self.auth, params={"status": status, "limit": 200}
            )
            return next((e for e in resp.json()["events"] if e["id"] == event_id), None)

        return await eventually(probe, within=20)


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    overrides = {"webhook_attempts": ATTEMPTS, "webhook_backoff_s": 0.0}
    keys = (signer().ed_pem, signer().rsa_pem)
    async with running_stack(url, tmp_path, extra_webhook_keys=keys, overrides=overrides) as s:
        key = await s.connected_tenant("acme")
        downstream = Downstream()
        s.runtime.processor.add_route("TestFlaky", downstream)
        s.runtime.processor.add_route("TestHopeless", _hopeless)
        yield World(s, key, downstream)


async def test_dead_after_the_last_attempt_listed_then_replayed_once(world: World) -> None:
    event_id = await world.deliver()
    dead = await world.status(event_id, "dead")
    assert (dead["retryCount"], world.downstream.runs) == (ATTEMPTS, ATTEMPTS)
    listed = await world.dead_letters()
    [letter] = listed["deadLetters"]
    assert (letter["id"], letter["attempts"], letter["type"]) == (event_id, ATTEMPTS, "TestFlaky")
    assert letter["lastError"] == "RuntimeError: downstream down" and letter["deadAt"]
    assert listed["nextCursor"] is None

    world.downstream.broken = False  # the cause is fixed
    replay = world.url(f"/v1/events/{event_id}/replay")
    resp = await world.stack.http.post(replay, headers=world.auth)
    assert resp.status_code == 202, resp.text
    assert resp.json()["queued"] is True
    assert resp.json()["event"]["status"] == "pending" and resp.json()["event"]["replays"] == 1
    processed = await world.status(event_id, "processed")
    assert world.downstream.runs == ATTEMPTS + 1  # processed once
    assert world.downstream.applied == {event_id}
    assert processed["deadAt"] is None and processed["replays"] == 1
    assert (await world.dead_letters())["deadLetters"] == []

    # Replaying twice more: runs again at most twice, its effect stays the same.
    first = await world.stack.http.post(replay, headers=world.auth)
    second = await world.stack.http.post(replay, headers=world.auth)
    assert first.status_code == second.status_code == 202
    await world.status(event_id, "processed")

    async def settled() -> bool:
        stored = await world.stack.runtime.inbox.get(event_id)
        return stored is not None and stored.status == "processed"

    await eventually(settled)
    assert world.downstream.applied == {event_id}
    assert world.downstream.runs <= ATTEMPTS + 3


async def test_dead_letters_page_newest_first(world: World) -> None:
    ids = []
    for _ in range(3):
        event_id = await world.deliver("TestHopeless")
        await world.status(event_id, "dead")  # one attempt: retrying cannot help
        ids.append(event_id)
    seen, cursor = [], None
    while True:
        page = await world.dead_letters(limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [(d["id"], d["attempts"]) for d in page["deadLetters"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [(i, 1) for i in reversed(ids)]


@pytest.mark.parametrize(
    "params",
    [{"cursor": "garbage"}, {"cursor": "x" * 201}, {"limit": 0}, {"limit": 201}, {"limit": "a"}],
)
async def test_dead_letters_refuse_bad_paging(world: World, params: dict[str, Any]) -> None:
    resp = await world.stack.http.get(
        world.url("/v1/dead-letters"), headers=world.auth, params=params
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"


async def test_replay_of_unknown_foreign_and_malformed_ids(world: World) -> None:
    http, stack = world.stack.http, world.stack
    mine = await world.deliver("TestHopeless")
    await world.status(mine, "dead")
    unknown = await http.post(world.url("/v1/events/evt_doesnotexist/replay"), headers=world.auth)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"

    other_key = await stack.connected_tenant("other", stack.other_location_id)
    foreign = await http.post(world.url(f"/v1/events/{mine}/replay"), headers=stack.auth(other_key))
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    assert mine not in foreign.text.replace(f"no event '{mine}'", "")
    other_view = await http.get(world.url("/v1/dead-letters"), headers=stack.auth(other_key))
    assert other_view.json()["deadLetters"] == []
    stored = await stack.runtime.inbox.get(mine)
    assert stored is not None and (stored.status, stored.replays) == ("dead", 0)

    for bad in ("nope", "evt_", "evt_" + "a" * 61, "evt_a%21b", "evt_a.b"):
        resp = await http.post(world.url(f"/v1/events/{bad}/replay"), headers=world.auth)
        assert resp.status_code in (404, 422), (bad, resp.text)
        assert resp.json()["error"]["code"] in ("validation_error", "not_found")


async def test_replay_needs_a_write_key(world: World) -> None:
    event_id = await world.deliver("TestHopeless")
    await world.status(event_id, "dead")
    tenant = await world.stack.runtime.tenants.get_by_name("acme")
    assert tenant is not None
    _, reader = await world.stack.runtime.tenants.create_key(tenant.id, ["read"])
    url = world.url(f"/v1/events/{event_id}/replay")
    denied = await world.stack.http.post(url, headers=world.stack.auth(reader))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope"
    anonymous = await world.stack.http.post(url)
    assert anonymous.status_code == 401
    listed = await world.stack.http.get(
        world.url("/v1/dead-letters"), headers=world.stack.auth(reader)
    )
    assert [d["id"] for d in listed.json()["deadLetters"]] == [event_id]
