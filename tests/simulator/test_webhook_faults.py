"""Webhook delivery faults: drop (count or share), duplicate, delay and reorder; seeded draws."""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator import SimConfig
from tests.simulator.conftest import Receiver, SimClient, open_sim
from tests.simulator.test_webhooks import events, flush, subscribe, verify


async def arm(sim: SimClient, **spec: Any) -> str:
    resp = await sim.http.post("/_sim/faults", json=spec)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def emit_many(sim: SimClient, count: int, event_type: str = "ContactUpdate") -> list[str]:
    ids = []
    for index in range(count):
        resp = await sim.http.post(
            "/_sim/webhooks/emit",
            json={"type": event_type, "locationId": sim.location_id, "data": {"n": index}},
        )
        assert resp.status_code == 202
        ids.append(str(resp.json()["webhookId"]))
    return ids


async def deliveries(sim: SimClient) -> list[dict[str, Any]]:
    return list((await sim.http.get("/_sim/deliveries")).json()["deliveries"])


async def dropped_indexes(receiver: Receiver, seed: int, fault_seed: int | None) -> list[int]:
    receiver.received.clear()
    async with open_sim(SimConfig(seed=seed, webhook_urls=(receiver.url,))) as sim:
        spec: dict[str, Any] = {"kind": "drop_webhook", "probability": 0.1}
        if fault_seed is not None:
            spec["seed"] = fault_seed
        await arm(sim, **spec)
        await emit_many(sim, 200)
        await flush(sim)
    arrived = {event["n"] for event in events(receiver)}
    return [n for n in range(200) if n not in arrived]


async def test_drop_a_share_is_seeded_and_reproducible(receiver: Receiver) -> None:
    first = await dropped_indexes(receiver, seed=7, fault_seed=None)
    again = await dropped_indexes(receiver, seed=7, fault_seed=None)
    assert first == again
    assert 5 <= len(first) <= 40  # about 10% of 200
    own = await dropped_indexes(receiver, seed=7, fault_seed=42)
    other_sim = await dropped_indexes(receiver, seed=8, fault_seed=42)
    assert own == other_sim  # the fault's own seed decides, not the simulator's


async def test_drop_a_count_then_spent(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await arm(sim, kind="drop_webhook", count=2)
    await emit_many(sim, 5)
    await flush(sim)
    assert [e["n"] for e in events(receiver)] == [2, 3, 4]
    records = await deliveries(sim)
    assert [d["fault"] for d in records[:2]] == ["drop_webhook", "drop_webhook"]
    [fault] = (await sim.http.get("/_sim/faults")).json()["faults"]
    assert (fault["fired"], fault["remaining"]) == (2, 0)


async def test_duplicate_sends_the_same_signed_bytes_twice(
    sim: SimClient, receiver: Receiver
) -> None:
    await subscribe(sim, receiver)
    await arm(sim, kind="duplicate_webhook", count=1)
    [webhook_id, _] = await emit_many(sim, 2)
    await flush(sim)
    copies = [body for body in receiver.bodies() if webhook_id.encode() in body]
    assert len(receiver.bodies()) == 3 and len(copies) == 2 and copies[0] == copies[1]
    for body, headers in receiver.received:
        verify(sim, body, headers)
    faults = {(d["webhookId"], d["fault"]) for d in await deliveries(sim)}
    assert (webhook_id, "duplicate_webhook") in faults and len(faults) == 2


async def test_delay_holds_the_delivery(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await arm(sim, kind="delay_webhook", count=1, delayMs=60_000)
    await emit_many(sim, 2)
    still = (await sim.http.post("/_sim/webhooks/flush", json={"timeoutS": 2})).json()
    assert still["pending"] == 1  # the delayed one; the other was delivered
    assert [e["n"] for e in events(receiver)] == [1]
    assert sim.app.state.sim.webhooks.pending == 1
    assert [d["fault"] for d in await deliveries(sim)] == [None]  # the held one: no attempt yet


async def test_reorder_shuffles_each_window(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await arm(sim, kind="reorder_webhook", count=5, window=3, seed=3)
    await emit_many(sim, 5)
    assert sim.app.state.sim.webhooks.pending >= 2  # the part-filled second window is held
    await flush(sim)  # releases it
    # Each window is delivered in turn; two windows in flight at once may interleave.
    order = [e["n"] for e in events(receiver)]
    first = [n for n in order if n < 3]
    assert sorted(first) == [0, 1, 2] and first != [0, 1, 2]
    assert [n for n in order if n >= 3] == [4, 3]
    assert {d["fault"] for d in await deliveries(sim)} == {"reorder_webhook"}


async def test_reorder_is_reproducible(receiver: Receiver) -> None:
    orders = []
    for _ in range(2):
        receiver.received.clear()
        async with open_sim(SimConfig(webhook_urls=(receiver.url,))) as sim:
            await arm(sim, kind="reorder_webhook", probability=1, window=6, seed=11)
            await emit_many(sim, 12)
            await flush(sim)
        arrived = [e["n"] for e in events(receiver)]
        # Within a window the order is the fault's; two windows in flight may interleave.
        orders.append(([n for n in arrived if n < 6], [n for n in arrived if n >= 6]))
    assert orders[0] == orders[1]
    assert sorted(orders[0][0]) == list(range(6)) and orders[0][0] != list(range(6))
    assert sorted(orders[0][1]) == list(range(6, 12)) and orders[0][1] != list(range(6, 12))


async def test_match_by_event_type_and_location(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await arm(sim, kind="drop_webhook", count=10, match={"eventType": "A"})
    await arm(sim, kind="drop_webhook", count=10, match={"locationId": sim.other_location_id})
    await emit_many(sim, 2, "A")
    await emit_many(sim, 2, "B")
    await flush(sim)
    assert [e["type"] for e in events(receiver)] == ["B", "B"]


async def test_invalid_webhook_fault_specs(sim: SimClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "reorder_webhook", "window": 1}, "window must be an integer from 2 to 1000"),
        ({"kind": "reorder_webhook", "window": True}, "window must be an integer from 2 to 1000"),
        ({"kind": "drop_webhook", "window": 3}, "window applies to reorder_webhook faults only"),
        ({"kind": "drop_webhook", "seed": -1}, "seed must be a non-negative integer"),
        ({"kind": "drop_webhook", "match": {"pathPrefix": "/x"}},
         "property match.pathPrefix should not exist"),
        ({"kind": "status", "match": {"eventType": "A"}},
         "property match.eventType should not exist"),
        ({"kind": "delay_webhook", "match": {"eventType": ""}},
         "match.eventType must be a non-empty string"),
        ({"kind": "delay_webhook", "delayMs": -5}, "delayMs must be a non-negative integer"),
        ({"kind": "duplicate_webhook", "after": True},
         "after applies to status and drop faults only"),
    ]  # fmt: skip
    for spec, message in cases:
        resp = await sim.http.post("/_sim/faults", json=spec)
        assert resp.status_code == 422, spec
        assert message in resp.json()["message"], (spec, resp.json())
    assert (await sim.http.get("/_sim/faults")).json()["faults"] == []


async def test_listing_describes_webhook_faults(sim: SimClient) -> None:
    await arm(sim, kind="reorder_webhook", window=4, seed=5, match={"eventType": "A"})
    [fault] = (await sim.http.get("/_sim/faults")).json()["faults"]
    assert (fault["window"], fault["seed"], fault["match"]["eventType"]) == (4, 5, "A")
