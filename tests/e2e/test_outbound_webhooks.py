"""Subscriptions end to end: the simulator (or a signed post) raises an event, the service
routes it, and a real local receiver gets a Standard Webhooks delivery — or an action runs.

The stack runs with GHL_BRIDGE_OUTBOUND_ALLOW_PRIVATE on (the receiver is on loopback) and a
zero-wait retry schedule, so retries happen at once instead of over hours.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook
from tests.support.polling import eventually
from tests.support.receiver import Receiver, receiver
from tests.support.signing import event, signer
from tests.support.stack import Stack, running_stack

from ghl_bridge.events.routing import RoutingSink

OPEN = {"outbound_allow_private": True, "outbound_retry_schedule": "0s,0s"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    keys = (signer().ed_pem, signer().rsa_pem)
    async with running_stack(url, tmp_path, extra_webhook_keys=keys, overrides=OPEN) as s:
        yield s


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as rec:
        yield rec


async def _subscribe(stack: Stack, key: str, **body: Any) -> dict[str, Any]:
    resp = await stack.http.post(
        f"{stack.api_url}/v1/subscriptions",
        headers=stack.auth(key),
        json={"name": "test", **body},
    )
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


async def _settled(stack: Stack, key: str, sub_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        rows = await stack.deliveries(key, sub_id)
        return rows[0] if rows and rows[0]["status"] == status else None

    return await eventually(probe, within=30)


async def _create_contact(stack: Stack, key: str, email: str) -> str:
    resp = await stack.http.post(
        f"{stack.api_url}/v1/actions/contacts.create",
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"email": email}},
    )
    assert resp.status_code == 200, resp.text
    contact_id: str = resp.json()["output"]["contact"]["id"]
    return contact_id


async def test_simulator_event_reaches_the_receiver_signed(stack: Stack, hook: Receiver) -> None:
    key = await stack.connected_tenant("acme")
    created = await _subscribe(
        stack,
        key,
        eventTypes=["ContactCreate"],
        predicates=[{"path": "email", "op": "contains", "value": "@wanted."}],
        target={"kind": "webhook", "url": hook.url},
    )
    secret, sub_id = created["secret"], created["subscription"]["id"]
    assert secret.startswith("whsec_")
    await _create_contact(stack, key, "nobody@unwanted.example")  # fails the predicate
    contact_id = await _create_contact(stack, key, "ada@wanted.example")

    delivery = await _settled(stack, key, sub_id, "delivered")
    assert len(hook.received) == 1
    got = hook.received[0]
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "ContactCreate"
    assert payload["data"]["id"] == contact_id
    assert got.headers["webhook-id"] == delivery["id"]
    assert delivery["attempts"] == 1 and delivery["lastStatusCode"] == 200
    [attempt] = delivery["log"]
    assert attempt["status"] == 200 and attempt["latencyMs"] >= 0


async def test_500_then_200_is_retried_and_delivered(stack: Stack, hook: Receiver) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _subscribe(
        stack, key, eventTypes=["Contact*"], target={"kind": "webhook", "url": hook.url}
    )
    hook.answer(500)
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={"type": "ContactCreate", "locationId": stack.location_id, "data": {"id": "c77"}},
    )
    delivery = await _settled(stack, key, sub["subscription"]["id"], "delivered")
    assert [a["status"] for a in delivery["log"]] == [500, 200]
    assert delivery["attempts"] == 2
    ids = {r.headers["webhook-id"] for r in hook.received}
    assert ids == {delivery["id"]}  # one id across retries: the receiver's dedupe key


async def test_retry_after_is_respected(stack: Stack, hook: Receiver) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _subscribe(
        stack, key, eventTypes=["ContactCreate"], target={"kind": "webhook", "url": hook.url}
    )
    hook.answer(429, **{"Retry-After": "1"})
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={"type": "ContactCreate", "locationId": stack.location_id, "data": {"id": "c1"}},
    )
    delivery = await _settled(stack, key, sub["subscription"]["id"], "delivered")
    first, second = (_at(a) for a in delivery["log"])
    assert second - first >= 0.9  # waited as told, although the schedule says 0 s


def _at(attempt: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(attempt["at"]).timestamp()


async def test_always_failing_target_is_dead_then_replayed(stack: Stack, hook: Receiver) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _subscribe(
        stack, key, eventTypes=["ContactCreate"], target={"kind": "webhook", "url": hook.url}
    )
    sub_id = sub["subscription"]["id"]
    hook.default = 500
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={"type": "ContactCreate", "locationId": stack.location_id, "data": {"id": "c2"}},
    )
    dead = await _settled(stack, key, sub_id, "dead")
    assert dead["attempts"] == 3  # the first try and the schedule's two retries
    assert dead["lastStatusCode"] == 500 and "500" in dead["lastError"]
    assert len(hook.received) == 3

    hook.default = 200
    replay = await stack.http.post(
        f"{stack.api_url}/v1/deliveries/{dead['id']}/replay", headers=stack.auth(key)
    )
    assert replay.status_code == 202, replay.text
    assert replay.json()["generation"] == 2
    done = await _settled(stack, key, sub_id, "delivered")
    assert done["id"] == dead["id"] and done["generation"] == 2 and done["attempts"] == 1
    assert [a["generation"] for a in done["log"]] == [1, 1, 1, 2]
    assert hook.received[-1].headers["webhook-id"] == dead["id"]


async def test_rotated_secret_signs_with_old_and_new(stack: Stack, hook: Receiver) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _subscribe(
        stack, key, eventTypes=["ContactCreate"], target={"kind": "webhook", "url": hook.url}
    )
    sub_id, old = sub["subscription"]["id"], sub["secret"]
    rotated = await stack.http.post(
        f"{stack.api_url}/v1/subscriptions/{sub_id}/rotate-secret", headers=stack.auth(key)
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["subscription"]["signingSecrets"] == 2
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={"type": "ContactCreate", "locationId": stack.location_id, "data": {"id": "c3"}},
    )
    await _settled(stack, key, sub_id, "delivered")
    got = hook.received[0]
    Webhook(old).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)


async def test_action_target_runs_the_action(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    contact_id = await _create_contact(stack, key, "replier@example.com")
    sub = await _subscribe(
        stack,
        key,
        eventTypes=["InboundMessage"],
        target={
            "kind": "action",
            "action": "contacts.add_tags",
            "input": {"contactId": "{{contactId}}", "tags": ["replied", "{{messageType}}"]},
        },
    )
    assert sub["secret"] is None
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={
            "type": "InboundMessage",
            "locationId": stack.location_id,
            "data": {"contactId": contact_id, "body": "yes!", "messageType": "SMS"},
        },
    )
    delivery = await _settled(stack, key, sub["subscription"]["id"], "delivered")
    assert delivery["lastStatusCode"] == 200
    contact = await stack.http.post(
        f"{stack.api_url}/v1/actions/contacts.get",
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"contactId": contact_id}},
    )
    assert {"replied", "sms"} <= {t.lower() for t in contact.json()["output"]["contact"]["tags"]}


async def test_action_target_stops_when_its_key_is_revoked(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")
    made = await stack.http.post(
        f"{stack.api_url}/v1/keys", headers=stack.auth(admin), json={"scopes": ["read", "write"]}
    )
    writer, writer_id = made.json()["apiKey"], made.json()["key"]["id"]
    contact_id = await _create_contact(stack, admin, "gone@example.com")
    sub = await _subscribe(
        stack,
        writer,
        eventTypes=["InboundMessage"],
        target={
            "kind": "action",
            "action": "contacts.add_tags",
            "input": {"contactId": "{{contactId}}", "tags": ["replied"]},
        },
    )
    revoked = await stack.http.delete(
        f"{stack.api_url}/v1/keys/{writer_id}", headers=stack.auth(admin)
    )
    assert revoked.status_code == 200, revoked.text
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={
            "type": "InboundMessage",
            "locationId": stack.location_id,
            "data": {"contactId": contact_id},
        },
    )
    failed = await _settled(stack, admin, sub["subscription"]["id"], "failed")
    assert "revoked" in failed["lastError"]


async def test_duplicate_event_makes_one_delivery(stack: Stack, hook: Receiver) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _subscribe(
        stack, key, eventTypes=["ContactCreate"], target={"kind": "webhook", "url": hook.url}
    )
    raw = event(stack.location_id, webhook_id="dup-outbound-1")
    for _ in range(2):
        resp = await stack.http.post(
            f"{stack.api_url}/webhooks/ghl",
            content=raw,
            headers={"Content-Type": "application/json", "x-ghl-signature": signer().ed25519(raw)},
        )
        assert resp.status_code == 200
    delivery = await _settled(stack, key, sub["subscription"]["id"], "delivered")

    # Processing the same stored event again (a redelivered job) routes nothing new.
    stored = await stack.runtime.inbox.get(delivery["eventId"])
    assert stored is not None
    rt = stack.runtime
    sink = RoutingSink(rt.subscriptions.repo, rt.subscriptions.deliveries, rt.actions_queue)
    await sink(stored, json.loads(stored.payload))
    await asyncio.sleep(0.5)
    assert len(await stack.deliveries(key, sub["subscription"]["id"])) == 1
    assert len(hook.received) == 1


async def test_another_tenant_cannot_see_or_replay(stack: Stack, hook: Receiver) -> None:
    key_a = await stack.connected_tenant("tenant-a")
    key_b = await stack.connected_tenant("tenant-b", stack.other_location_id)
    sub = await _subscribe(
        stack, key_a, eventTypes=["ContactCreate"], target={"kind": "webhook", "url": hook.url}
    )
    sub_id = sub["subscription"]["id"]
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={"type": "ContactCreate", "locationId": stack.location_id, "data": {"id": "c9"}},
    )
    delivery = await _settled(stack, key_a, sub_id, "delivered")
    b, api = stack.auth(key_b), stack.api_url
    calls = [
        stack.http.get(f"{api}/v1/subscriptions/{sub_id}", headers=b),
        stack.http.get(f"{api}/v1/subscriptions/{sub_id}/deliveries", headers=b),
        stack.http.post(f"{api}/v1/subscriptions/{sub_id}/rotate-secret", headers=b),
        stack.http.delete(f"{api}/v1/subscriptions/{sub_id}", headers=b),
        stack.http.post(f"{api}/v1/deliveries/{delivery['id']}/replay", headers=b),
    ]
    for resp in await asyncio.gather(*calls):
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["code"] == "not_found"
    listed = await stack.http.get(f"{api}/v1/subscriptions", headers=b)
    assert listed.json() == {"subscriptions": []}
    # B's events never reach A's subscription.
    await stack.http.post(
        f"{stack.sim_url}/_sim/webhooks/emit",
        json={"type": "ContactCreate", "locationId": stack.other_location_id, "data": {}},
    )
    await asyncio.sleep(0.5)
    assert len(await stack.deliveries(key_a, sub_id)) == 1
    still = await stack.http.get(f"{api}/v1/subscriptions/{sub_id}", headers=stack.auth(key_a))
    assert still.status_code == 200


async def test_retries_on_bullmq(
    pg_url: str, redis_url: str, tmp_path: Path, hook: Receiver
) -> None:
    """Distributed mode: the delivery job parks itself in BullMQ between attempts."""
    async with running_stack(pg_url, tmp_path, redis_url=redis_url, overrides=OPEN) as stack:
        key = await stack.connected_tenant("acme")
        sub = await _subscribe(
            stack, key, eventTypes=["ContactCreate"], target={"kind": "webhook", "url": hook.url}
        )
        hook.answer(503, 500)
        await stack.http.post(
            f"{stack.sim_url}/_sim/webhooks/emit",
            json={"type": "ContactCreate", "locationId": stack.location_id, "data": {"id": "c5"}},
        )
        delivery = await _settled(stack, key, sub["subscription"]["id"], "delivered")
        assert [a["status"] for a in delivery["log"]] == [503, 500, 200]
