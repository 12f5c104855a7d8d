"""Webhooks over real HTTP: signatures over the raw bytes, event shapes, 429-only redelivery."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ghl_bridge.simulator import SimConfig, drain
from tests.simulator.conftest import Receiver, SimClient, install, open_sim

WEBHOOK_SCHEMAS = (
    Path(__file__).resolve().parents[3] / "shared" / "ghl-spec" / "webhook-events.json"
)


async def subscribe(sim: SimClient, receiver: Receiver) -> None:
    resp = await sim.http.post("/_sim/webhooks", json={"url": receiver.url})
    assert resp.status_code == 201
    assert receiver.url in resp.json()["urls"]


async def flush(sim: SimClient) -> dict[str, Any]:
    resp = await sim.http.post("/_sim/webhooks/flush", json={"timeoutS": 10})
    assert resp.status_code == 200
    return dict(resp.json())


def events(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(body) for body in receiver.bodies()]


def verify(sim: SimClient, body: bytes, headers: dict[str, str]) -> None:
    keys = sim.seed["webhookKeys"]
    ed_key = load_pem_public_key(keys["ed25519"].encode())
    rsa_key = load_pem_public_key(keys["rsa"].encode())
    assert isinstance(ed_key, ed25519.Ed25519PublicKey)
    assert isinstance(rsa_key, rsa.RSAPublicKey)
    assert rsa_key.key_size == 4096
    ed_sig = base64.b64decode(headers["x-ghl-signature"])
    assert len(ed_sig) == 64
    ed_key.verify(ed_sig, body)  # raises InvalidSignature
    rsa_key.verify(
        base64.b64decode(headers["x-wh-signature"]), body, padding.PKCS1v15(), hashes.SHA256()
    )


async def test_contact_create_is_delivered_signed(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    fields = {"firstName": "Web", "lastName": "Hook", "email": "wh@example.com", "tags": ["x"]}
    made = await sim.call("POST", "/contacts/", json={"locationId": sim.location_id, **fields})
    assert (await flush(sim))["pending"] == 0
    [(body, headers)] = receiver.received
    verify(sim, body, headers)
    assert headers["content-type"] == "application/json"
    event = json.loads(body)
    assert list(event)[:2] == ["type", "locationId"]
    assert event["type"] == "ContactCreate"
    assert event["locationId"] == sim.location_id
    assert event["id"] == made.json()["contact"]["id"]
    assert (event["name"], event["email"], event["tags"]) == ("Web Hook", "wh@example.com", ["x"])
    assert uuid.UUID(event["webhookId"])
    assert datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    assert body == json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


async def test_tampered_body_fails_verification(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await sim.call(
        "POST", "/contacts/", json={"locationId": sim.location_id, "email": "t@example.com"}
    )
    await flush(sim)
    body, headers = receiver.received[0]
    with pytest.raises(InvalidSignature):
        verify(sim, body.replace(b"t@example.com", b"x@example.com"), headers)


async def test_update_tags_delete_notes_tasks_emit_events(
    sim: SimClient, receiver: Receiver
) -> None:
    await subscribe(sim, receiver)
    contact = (
        await sim.call(
            "POST", "/contacts/", json={"locationId": sim.location_id, "email": "ev@example.com"}
        )
    ).json()["contact"]
    cid = contact["id"]
    await sim.call("PUT", f"/contacts/{cid}", json={"city": "Bend"})
    await sim.call("PUT", f"/contacts/{cid}", json={"tags": ["new"], "dnd": True})
    await sim.call("POST", f"/contacts/{cid}/tags", json={"tags": ["more"]})
    await sim.call("POST", f"/contacts/{cid}/tags", json={"tags": ["more"]})  # no change, no event
    note = (await sim.call("POST", f"/contacts/{cid}/notes", json={"body": "hi"})).json()["note"]
    task = (
        await sim.call(
            "POST",
            f"/contacts/{cid}/tasks",
            json={"title": "t", "dueDate": "2026-08-01T00:00:00Z", "completed": False},
        )
    ).json()["task"]
    await sim.call("PUT", f"/contacts/{cid}/tasks/{task['id']}/completed", json={"completed": True})
    await sim.call("DELETE", f"/contacts/{cid}")
    await flush(sim)
    types = sorted(e["type"] for e in events(receiver))
    assert types == sorted([
        "ContactCreate", "ContactUpdate", "ContactUpdate", "ContactTagUpdate", "ContactDndUpdate",
        "ContactTagUpdate", "NoteCreate", "TaskCreate", "TaskComplete", "ContactDelete",
    ])  # fmt: skip
    by_type = {e["type"]: e for e in events(receiver)}
    assert by_type["NoteCreate"] | {"timestamp": "-", "webhookId": "-"} == {
        "type": "NoteCreate", "locationId": sim.location_id, "id": note["id"], "body": "hi",
        "contactId": cid, "pinned": False, "dateAdded": by_type["NoteCreate"]["dateAdded"],
        "timestamp": "-", "webhookId": "-",
    }  # fmt: skip
    assert by_type["ContactDelete"]["id"] == cid
    assert len({e["webhookId"] for e in events(receiver)}) == len(types)
    if WEBHOOK_SCHEMAS.is_file():  # the documented event schemas, where the spec is present
        documented = json.loads(WEBHOOK_SCHEMAS.read_text(encoding="utf-8"))
        for event in events(receiver):
            jsonschema.validate(event, documented[event["type"]]["schema"])


async def test_only_429_is_redelivered_with_the_same_bytes(receiver: Receiver) -> None:
    config = SimConfig(
        webhook_urls=(receiver.url,), webhook_retry_delay_s=0.01, webhook_max_retries=6
    )
    async with open_sim(config) as sim:
        receiver.statuses = [429, 429, 200]
        await sim.call(
            "POST", "/contacts/", json={"locationId": sim.location_id, "email": "r@example.com"}
        )
        await flush(sim)
        assert len(set(receiver.bodies())) == 1 and len(receiver.bodies()) == 3
        deliveries = (await sim.http.get("/_sim/deliveries")).json()["deliveries"]
        assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 429), (2, 429), (3, 200)]
        assert {d["webhookId"] for d in deliveries} == {events(receiver)[0]["webhookId"]}
        assert {d["type"] for d in deliveries} == {"ContactCreate"}
        receiver.received.clear()
        receiver.statuses = [500]
        await sim.call(
            "POST", "/contacts/", json={"locationId": sim.location_id, "email": "s@example.com"}
        )
        await flush(sim)
        assert len(receiver.received) == 1  # 5xx is final


async def test_redelivery_stops_after_max_retries(receiver: Receiver) -> None:
    config = SimConfig(
        webhook_urls=(receiver.url,), webhook_retry_delay_s=0.0, webhook_max_retries=2
    )
    async with open_sim(config) as sim:
        receiver.statuses = [429] * 10
        await sim.http.post(
            "/_sim/webhooks/emit",
            json={"type": "ContactCreate", "locationId": sim.location_id, "data": {"id": "c1"}},
        )
        await flush(sim)
        assert len(receiver.received) == 3


async def test_retry_delay_is_honoured(receiver: Receiver) -> None:
    config = SimConfig(webhook_urls=(receiver.url,), webhook_retry_delay_s=0.3)
    async with open_sim(config) as sim:
        receiver.statuses = [429]
        started = time.monotonic()
        await sim.http.post("/_sim/webhooks/emit", json={"type": "X", "data": {}})
        await flush(sim)
        assert time.monotonic() - started >= 0.3
        assert len(receiver.received) == 2


async def test_emit_arbitrary_event(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    company = sim.seed["agency"]["companyId"]
    resp = await sim.http.post(
        "/_sim/webhooks/emit",
        json={
            "type": "UNINSTALL",
            "data": {"appId": sim.seed["app"]["appId"], "companyId": company},
        },
    )
    assert resp.status_code == 202
    await flush(sim)
    [event] = events(receiver)
    assert event["type"] == "UNINSTALL" and event["companyId"] == company
    assert "locationId" not in event
    assert event["webhookId"] == resp.json()["webhookId"]
    bad = await sim.http.post("/_sim/webhooks/emit", json={"data": []})
    assert bad.status_code == 422
    assert bad.json()["message"] == ["type must be a non-empty string", "data must be an object"]


async def test_install_flow_emits_install(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await install(sim, locationId=sim.location_id)
    await flush(sim)
    [event] = events(receiver)
    assert (event["type"], event["locationId"], event["appId"]) == (
        "INSTALL",
        sim.location_id,
        sim.seed["app"]["appId"],
    )
    verify(sim, *receiver.received[0])


async def test_drop_webhook_fault_skips_deliveries(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await sim.http.post("/_sim/faults", json={"kind": "drop_webhook", "count": 1})
    for email in ("a@example.com", "b@example.com"):
        await sim.call("POST", "/contacts/", json={"locationId": sim.location_id, "email": email})
    await flush(sim)
    assert [e["email"] for e in events(receiver)] == ["b@example.com"]
    deliveries = (await sim.http.get("/_sim/deliveries")).json()["deliveries"]
    assert deliveries[0]["status"] is None and "dropped" in deliveries[0]["error"]
    assert deliveries[1]["status"] == 200


async def test_delivery_never_delays_the_api(sim: SimClient, receiver: Receiver) -> None:
    receiver.delay_s = 1.0
    await subscribe(sim, receiver)
    started = time.monotonic()
    resp = await sim.call(
        "POST", "/contacts/", json={"locationId": sim.location_id, "email": "fast@example.com"}
    )
    assert resp.status_code == 201
    assert time.monotonic() - started < 0.5
    assert (await sim.http.post("/_sim/webhooks/flush", json={"timeoutS": 0})).json()[
        "pending"
    ] == 1
    assert await drain(sim.app, 10) == 0
    assert len(receiver.received) == 1


async def test_unreachable_target_is_recorded_not_retried(sim: SimClient) -> None:
    await sim.http.post("/_sim/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    await sim.http.post("/_sim/webhooks/emit", json={"type": "X", "data": {}})
    await flush(sim)
    [delivery] = (await sim.http.get("/_sim/deliveries")).json()["deliveries"]
    assert delivery["status"] is None and delivery["error"]


async def test_target_management(sim: SimClient) -> None:
    assert (await sim.http.get("/_sim/webhooks")).json() == {"urls": []}
    for url in ("http://a.test/h", "http://b.test/h", "http://a.test/h"):
        await sim.http.post("/_sim/webhooks", json={"url": url})
    assert (await sim.http.get("/_sim/webhooks")).json()["urls"] == [
        "http://a.test/h",
        "http://b.test/h",
    ]
    one = await sim.http.delete("/_sim/webhooks", params={"url": "http://a.test/h"})
    assert one.json()["urls"] == ["http://b.test/h"]
    assert (await sim.http.delete("/_sim/webhooks")).json() == {"urls": []}
    assert (await sim.http.post("/_sim/webhooks", json={"url": "ftp://x"})).status_code == 422


async def test_shutdown_cancels_pending_redeliveries(receiver: Receiver) -> None:
    config = SimConfig(webhook_urls=(receiver.url,), webhook_retry_delay_s=600)
    receiver.statuses = [429]
    started = time.monotonic()
    async with open_sim(config) as sim:
        await sim.http.post("/_sim/webhooks/emit", json={"type": "X", "data": {}})
        for _ in range(200):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
        assert sim.app.state.sim.webhooks.pending == 1
    assert time.monotonic() - started < 5
    assert sim.app.state.sim.webhooks.pending == 0
