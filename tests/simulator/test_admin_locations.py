"""Locations: detail, agency-only writes, a created location that really works, deletion,
search paging, timezones, task search, snapshot loading and the LocationCreate event."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import FakeClock, Receiver, SimClient
from tests.simulator.test_webhooks import events, flush, subscribe


def agency(sim: SimClient) -> tuple[str, str]:
    return str(sim.seed["agency"]["companyId"]), str(sim.seed["agency"]["pit"])


async def create_location(sim: SimClient, **extra: Any) -> Any:
    company, pit = agency(sim)
    body = {"name": "Harbor Yoga", "companyId": company, "city": "Tacoma", **extra}
    return await sim.call("POST", "/locations/", token=pit, json=body)


async def test_get_location_shows_profile_and_is_per_location(sim: SimClient) -> None:
    resp = await sim.call("GET", f"/locations/{sim.location_id}")
    assert resp.status_code == 200, resp.text
    location = resp.json()["location"]
    assert location["name"] == "Lakeside Dental Studio"
    assert location["timezone"] == "America/Los_Angeles"
    assert location["email"] == "hello@lakesidedentalstudio.example.com"
    assert location["business"]["name"] == location["name"]
    assert location["settings"]["allowDuplicateContact"] is False
    foreign = await sim.call("GET", f"/locations/{sim.other_location_id}")
    assert (foreign.status_code, foreign.json()["message"]) == (
        403,
        "The token does not have access to this location.",
    )
    pit = agency(sim)[1]
    assert (await sim.call("GET", f"/locations/{sim.other_location_id}", token=pit)).is_success
    missing = await sim.call("GET", "/locations/nope", token=pit)
    assert missing.status_code == 400


async def test_created_location_is_a_working_sub_account(sim: SimClient) -> None:
    made = await create_location(
        sim, timezone="America/New_York", prospectInfo={
            "firstName": "Lee", "lastName": "Park", "email": "lee@harbor.example.com"},
        settings={"allowDuplicateContact": True},
    )  # fmt: skip
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["email"] == "lee@harbor.example.com"
    assert body["settings"]["allowDuplicateContact"] is True
    seed = (await sim.http.get("/_sim/seed")).json()
    entry = next(loc for loc in seed["locations"] if loc["id"] == body["id"])
    contact = await sim.call(
        "POST", "/contacts/", token=entry["pit"],
        json={"locationId": body["id"], "email": "first@harbor.example.com"},
    )  # fmt: skip
    assert contact.status_code == 201, contact.text
    detail = await sim.call("GET", f"/locations/{body['id']}", token=entry["pit"])
    assert detail.json()["location"]["firstName"] == "Lee"


async def test_location_writes_need_the_agency_token(sim: SimClient) -> None:
    company = agency(sim)[0]
    # A location PIT lacks locations.write, and GHL checks the scope first.
    as_location = await sim.call("POST", "/locations/", json={"name": "X", "companyId": company})
    assert (as_location.status_code, as_location.json()["message"]) == (
        401,
        "The token is not authorized for this scope.",
    )
    # Search is in its scopes and the spec allows Location-Access, but it is company-level.
    searched = await sim.call("GET", "/locations/search", params={"companyId": company})
    assert (searched.status_code, searched.json()["message"]) == (
        401,
        "Token's user type mismatch!",
    )
    foreign = await create_location(sim, companyId="someOtherCompany000")
    assert foreign.status_code == 403


async def test_create_location_validation(sim: SimClient) -> None:
    company, pit = agency(sim)
    nameless = await sim.call("POST", "/locations/", token=pit, json={"companyId": company})
    assert nameless.status_code == 422
    assert "name should not be empty" in nameless.json()["message"]
    bad = await create_location(sim, country="ZZ", website=7)
    assert bad.status_code == 422
    assert bad.json()["message"] == [
        "country must be a valid enum value",
        "website must be a string",
    ]
    nested = await create_location(sim, prospectInfo={"firstName": "A"})
    assert nested.status_code == 422
    assert nested.json()["message"] == [
        "prospectInfo.email must be a string",
        "prospectInfo.email should not be empty",
        "prospectInfo.lastName must be a string",
        "prospectInfo.lastName should not be empty",
    ]
    zone = await create_location(sim, timezone="Mars/Olympus")
    assert (zone.status_code, zone.json()["message"]) == (
        422,
        ["timezone must be a valid IANA time zone"],
    )
    snapshot = await create_location(sim, snapshotId="noSuchSnapshot")
    assert snapshot.status_code == 400


async def test_put_location_updates_and_delete_purges(sim: SimClient) -> None:
    company, pit = agency(sim)
    made = (await create_location(sim)).json()
    path = f"/locations/{made['id']}"
    put = await sim.call(
        "PUT", path, token=pit, json={"companyId": company, "name": "Harbor Yoga & Spa",
                                      "timezone": "Europe/Lisbon", "phone": "+15550001111"},
    )  # fmt: skip
    assert put.status_code == 200, put.text
    assert (put.json()["name"], put.json()["timezone"]) == ("Harbor Yoga & Spa", "Europe/Lisbon")
    assert put.json()["city"] == "Tacoma"
    as_location = await sim.call("PUT", path, json={"companyId": company})
    assert as_location.status_code == 401
    seed = (await sim.http.get("/_sim/seed")).json()
    its_pit = next(loc["pit"] for loc in seed["locations"] if loc["id"] == made["id"])
    no_flag = await sim.call("DELETE", path, token=pit)
    assert (no_flag.status_code, no_flag.json()["message"]) == (
        422,
        ["deleteTwilioAccount must be a boolean value"],
    )
    gone = await sim.call("DELETE", path, token=pit, params={"deleteTwilioAccount": "false"})
    assert gone.json() == {
        "success": True,
        "message": f"Deleted location with id: {made['id']}",
        "traceId": gone.json()["traceId"],
    }
    assert (await sim.call("GET", path, token=pit)).status_code == 400
    revoked = await sim.call("GET", path, token=its_pit)
    assert (revoked.status_code, revoked.json()["message"]) == (
        401,
        "Invalid Private Integration token",
    )
    seed = (await sim.http.get("/_sim/seed")).json()
    assert made["id"] not in [loc["id"] for loc in seed["locations"]]


async def test_search_locations_pages_sorts_and_filters(sim: SimClient) -> None:
    company, pit = agency(sim)
    for name in ("Alpine Dental", "Zephyr Fitness", "Maple Bakery"):
        assert (await create_location(sim, name=name)).status_code == 200

    async def names(**params: str) -> list[str]:
        resp = await sim.call(
            "GET", "/locations/search", token=pit, params={"companyId": company, **params}
        )
        assert resp.status_code == 200, resp.text
        return [loc["name"] for loc in resp.json()["locations"]]

    everything = await names(limit="50")
    assert everything == sorted(everything, key=str.casefold) and len(everything) == 5
    assert await names(limit="2") == everything[:2]
    assert await names(skip="2", limit="2") == everything[2:4]
    assert await names(order="desc", limit="1") == [everything[-1]]
    assert await names(email="HELLO@summitroofingco.example.com") == ["Summit Roofing Co"]
    for bad in ({"limit": "0"}, {"skip": "abc"}, {"order": "sideways"}):
        resp = await sim.call(
            "GET", "/locations/search", token=pit, params={"companyId": company, **bad}
        )
        assert resp.status_code == 422, bad
    foreign = await sim.call(
        "GET", "/locations/search", token=pit, params={"companyId": "otherCompany0000000"}
    )
    assert foreign.status_code == 403


async def test_timezones(sim: SimClient) -> None:
    resp = await sim.call("GET", f"/locations/{sim.location_id}/timezones")
    zones = resp.json()["timeZones"]
    assert "America/Los_Angeles" in zones and zones == sorted(zones)
    assert not any(z.startswith("Etc/") for z in zones)
    foreign = await sim.call("GET", f"/locations/{sim.other_location_id}/timezones")
    assert foreign.status_code == 403


async def tasks(sim: SimClient, **body: Any) -> list[dict[str, Any]]:
    resp = await sim.call("POST", f"/locations/{sim.location_id}/tasks/search", json=body)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["tasks"])


async def test_task_search_filters_and_pages(sim: SimClient) -> None:
    seeded = await tasks(sim)
    assert [t["title"] for t in seeded] == [
        "Call back about quote", "Send intake forms", "Confirm insurance details",
    ]  # fmt: skip
    assert all(t["locationId"] == sim.location_id for t in seeded)
    assert [t["title"] for t in await tasks(sim, completed=True)] == ["Send intake forms"]
    assert len(await tasks(sim, assignedTo=[seeded[0]["assignedTo"]])) == 2
    assert await tasks(sim, contactId=[seeded[1]["contactId"]]) == [seeded[1]]
    assert [t["id"] for t in await tasks(sim, query="INSURANCE")] == [seeded[2]["id"]]
    assert await tasks(sim, skip=1, limit=1) == [seeded[1]]
    contact = seeded[0]["contactId"]
    created = await sim.call(
        "POST", f"/contacts/{contact}/tasks",
        json={"title": "Urgent follow-up", "dueDate": "2026-01-01T08:00:00Z", "completed": False},
    )  # fmt: skip
    assert created.status_code in (200, 201), created.text
    assert (await tasks(sim, limit=1))[0]["title"] == "Urgent follow-up"


async def test_task_search_by_business_and_errors(sim: SimClient) -> None:
    listed = await sim.call("GET", "/businesses/", params={"locationId": sim.location_id})
    business_id = listed.json()["businesses"][0]["id"]
    linked = await sim.call(
        "GET", f"/contacts/business/{business_id}", params={"locationId": sim.location_id}
    )
    contact_ids = {c["id"] for c in linked.json()["contacts"]}
    found = await tasks(sim, businessId=business_id)
    assert found and {t["contactId"] for t in found} <= contact_ids
    for bad in ({"skip": -1}, {"limit": 0}, {"limit": "ten"}, {"status": "open"}):
        resp = await sim.call("POST", f"/locations/{sim.location_id}/tasks/search", json=bad)
        assert resp.status_code == 422, bad
    foreign = await sim.call("POST", f"/locations/{sim.other_location_id}/tasks/search", json={})
    assert foreign.status_code == 403


async def test_snapshot_loads_into_a_new_location_and_push_progresses(
    sim: SimClient, clock: FakeClock
) -> None:
    company, pit = agency(sim)
    listed = await sim.call("GET", "/snapshots/", token=pit, params={"companyId": company})
    own = next(s for s in listed.json()["snapshots"] if s["type"] == "own")
    made = (await create_location(sim, snapshotId=own["id"])).json()
    seed = (await sim.http.get("/_sim/seed")).json()
    source = next(loc for loc in seed["locations"] if loc["name"] == "Lakeside Dental Studio")
    its_pit = next(loc["pit"] for loc in seed["locations"] if loc["id"] == made["id"])

    async def keys(location: str, token: str) -> list[str]:
        resp = await sim.call("GET", f"/locations/{location}/customFields", token=token)
        return sorted(f["fieldKey"] for f in resp.json()["customFields"])

    assert await keys(made["id"], its_pit) == await keys(source["id"], source["pit"])
    status_path = f"/snapshots/snapshot-status/{own['id']}/location/{made['id']}"
    first = await sim.call("GET", status_path, token=pit, params={"companyId": company})
    assert first.json()["data"]["status"] == "processing"
    assert first.json()["data"]["pending"][0] == "custom_fields"
    clock.advance(60)
    done = await sim.call("GET", status_path, token=pit, params={"companyId": company})
    assert (done.json()["data"]["status"], done.json()["data"]["pending"]) == ("completed", [])


async def test_location_events(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    company, pit = agency(sim)
    made = (await create_location(sim)).json()
    await sim.call("PUT", f"/locations/{made['id']}", token=pit,
                   json={"companyId": company, "name": "Renamed"})  # fmt: skip
    await flush(sim)
    got = [e for e in events(receiver) if e["type"].startswith("Location")]
    assert [(e["type"], e["id"], e["name"]) for e in got] == [
        ("LocationCreate", made["id"], "Harbor Yoga"),
        ("LocationUpdate", made["id"], "Renamed"),
    ]
    assert got[0]["companyId"] == company and "locationId" not in got[0]
