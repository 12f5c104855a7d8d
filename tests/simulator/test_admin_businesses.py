"""Businesses: list paging, CRUD with GHL's response keys, per-location access, their contacts."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import SimClient


async def businesses(sim: SimClient, **params: str) -> list[dict[str, Any]]:
    resp = await sim.call("GET", "/businesses/", params={"locationId": sim.location_id, **params})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["businesses"])


async def members(sim: SimClient, business_id: str, **params: str) -> dict[str, Any]:
    resp = await sim.call(
        "GET",
        f"/contacts/business/{business_id}",
        params={"locationId": sim.location_id, **params},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_seeded_businesses_page_by_skip_and_limit(sim: SimClient) -> None:
    seeded = await businesses(sim)
    assert [b["name"] for b in seeded] == ["Brightline Logistics", "Northwind Traders"]
    assert len(seeded[0]["id"]) == 24  # a Mongo ObjectId
    assert await businesses(sim, skip="1", limit="1") == seeded[1:]
    assert (await sim.call("GET", "/businesses/", params={
        "locationId": sim.location_id, "limit": "-1"})).status_code == 422  # fmt: skip
    foreign = await sim.call("GET", "/businesses/", params={"locationId": sim.other_location_id})
    assert foreign.status_code == 403


async def test_business_lifecycle(sim: SimClient) -> None:
    body = {"name": "Cedar Works", "locationId": sim.location_id, "city": "Bend", "state": "OR"}
    made = await sim.call("POST", "/businesses/", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["success"] is True
    business = made.json()["buiseness"]  # sic, the spec's key
    assert business["createdBy"]["channel"] == "PRIVATE_INTEGRATION"
    path = f"/businesses/{business['id']}"
    updated = await sim.call("PUT", path, json={"phone": "+15550103030", "city": None})
    changed = updated.json()["buiseness"]
    assert (changed["phone"], "city" in changed, changed["state"]) == ("+15550103030", False, "OR")
    assert (await sim.call("GET", path)).json()["business"]["phone"] == "+15550103030"
    assert (await sim.call("DELETE", path)).json()["success"] is True
    missing = await sim.call("GET", path)
    assert (missing.status_code, missing.json()["message"]) == (400, "Business not found")
    assert business["id"] not in [b["id"] for b in await businesses(sim)]


async def test_business_validation_and_access(sim: SimClient) -> None:
    nameless = await sim.call("POST", "/businesses/", json={"locationId": sim.location_id})
    assert nameless.json()["message"] == ["name must be a string", "name should not be empty"]
    elsewhere = await sim.call(
        "POST", "/businesses/", json={"name": "X", "locationId": sim.other_location_id}
    )
    assert elsewhere.status_code == 403
    theirs = await sim.call(
        "GET", "/businesses/", token=sim.pit(1), params={"locationId": sim.other_location_id}
    )
    their_id = theirs.json()["businesses"][0]["id"]
    for method, extra in (("GET", {}), ("PUT", {"json": {"name": "Y"}}), ("DELETE", {})):
        resp = await sim.call(method, f"/businesses/{their_id}", **extra)
        assert resp.status_code == 403, method
    extra_field = await sim.call("PUT", f"/businesses/{their_id}", json={"locationId": "x"})
    assert extra_field.json()["message"] == ["property locationId should not exist"]


async def test_contacts_of_a_business(sim: SimClient) -> None:
    first, second = await businesses(sim)
    linked = await members(sim, first["id"])
    assert linked["count"] == 2 and len(linked["contacts"]) == 2
    assert {c["businessId"] for c in linked["contacts"]} == {first["id"]}
    assert (await members(sim, second["id"]))["count"] == 1
    page = await members(sim, first["id"], skip="1", limit="1")
    assert (page["contacts"], page["count"]) == (linked["contacts"][1:], 2)
    who = linked["contacts"][0]
    found = await members(sim, first["id"], query=who["email"].upper())
    assert [c["id"] for c in found["contacts"]] == [who["id"]]
    await sim.call("DELETE", f"/businesses/{first['id']}")
    contact = (await sim.call("GET", f"/contacts/{who['id']}")).json()["contact"]
    assert "businessId" not in contact
    gone = await sim.call(
        "GET", f"/contacts/business/{first['id']}", params={"locationId": sim.location_id}
    )
    assert gone.status_code == 400
    no_location = await sim.call("GET", f"/contacts/business/{second['id']}")
    assert no_location.status_code == 422
