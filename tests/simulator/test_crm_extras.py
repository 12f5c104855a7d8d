"""The CRM gaps filled later: the deprecated contact list, followers, a contact's appointments,
lost reasons, calendar create/update/delete and appointment notes."""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator.seed import CONTACTS_PER_LOCATION
from tests.simulator.conftest import FakeClock, SimClient
from tests.simulator.test_calendars import a_contact, book, calendars, slots

DAY_MS = 86_400_000
HOURS = {"openHour": 9, "openMinute": 0, "closeHour": 12, "closeMinute": 0}


async def _walk_contacts(sim: SimClient, limit: int, **extra: str) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    params = {"locationId": sim.location_id, "limit": str(limit), **extra}
    while True:
        resp = await sim.call("GET", "/contacts/", params=params)
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        meta = resp.json()["meta"]
        if meta["nextPage"] is None:
            return pages
        params = {**params, "startAfter": str(meta["startAfter"]),
                  "startAfterId": meta["startAfterId"]}  # fmt: skip


async def test_contact_list_pages_newest_first_by_meta_cursor(sim: SimClient) -> None:
    pages = await _walk_contacts(sim, 4)
    seen = [c["id"] for page in pages for c in page["contacts"]]
    assert len(seen) == len(set(seen)) == CONTACTS_PER_LOCATION
    added = [c["dateAdded"] for page in pages for c in page["contacts"]]
    assert added == sorted(added, reverse=True)
    first, last = pages[0], pages[-1]
    assert (first["count"], first["meta"]["total"]) == (CONTACTS_PER_LOCATION,) * 2
    assert (first["meta"]["currentPage"], first["meta"]["nextPage"], first["meta"]["prevPage"]) == (
        1, 2, None,
    )  # fmt: skip
    assert "startAfterId=" in first["meta"]["nextPageUrl"]
    assert (last["meta"]["currentPage"], last["meta"]["prevPage"], last["meta"]["nextPageUrl"]) == (
        2, 1, None,
    )  # fmt: skip
    contact = first["contacts"][0]
    full = f"{contact['firstName']} {contact['lastName']}".lower()
    assert contact["contactName"] == full and contact["locationId"] == sim.location_id


async def test_contact_list_query_and_errors(sim: SimClient) -> None:
    made = await sim.call(
        "POST", "/contacts/", json={"locationId": sim.location_id, "email": "zed@listing.test"}
    )
    pages = await _walk_contacts(sim, 20, query="LISTING.test")
    assert [c["id"] for c in pages[0]["contacts"]] == [made.json()["contact"]["id"]]
    assert pages[0]["contacts"][0]["contactName"] == "zed@listing.test"  # no name: the email
    too_many = await sim.call("GET", "/contacts/", params={"locationId": sim.location_id,
                                                           "limit": "101"})  # fmt: skip
    assert too_many.json()["message"] == ["limit must not be greater than 100"]
    assert (await sim.call("GET", "/contacts/")).status_code == 422
    foreign = await sim.call("GET", "/contacts/", params={"locationId": sim.other_location_id})
    assert foreign.status_code == 403
    unknown = await sim.call(
        "GET", "/contacts/", params={"locationId": sim.location_id, "startAfterId": "nope"}
    )
    assert unknown.status_code == 400


async def test_contact_followers_add_remove(sim: SimClient) -> None:
    contact = await a_contact(sim)
    path = f"/contacts/{contact['id']}/followers"
    added = await sim.call("POST", path, json={"followers": ["u1", "u2", "u1"]})
    assert added.status_code == 201
    assert (added.json()["followers"], added.json()["followersAdded"]) == (["u1", "u2"],) * 2
    again = await sim.call("POST", path, json={"followers": ["u2", "u3"]})
    assert (again.json()["followers"], again.json()["followersAdded"]) == (
        ["u1", "u2", "u3"], ["u3"],
    )  # fmt: skip
    removed = await sim.call("DELETE", path, json={"followers": ["u1", "zz"]})
    assert removed.status_code == 200
    assert (removed.json()["followers"], removed.json()["followersRemoved"]) == (
        ["u2", "u3"], ["u1"],
    )  # fmt: skip
    got = await sim.call("GET", f"/contacts/{contact['id']}")
    assert got.json()["contact"]["followers"] == ["u2", "u3"]
    assert (await sim.call("POST", path, json={})).json()["message"] == [
        "followers must be an array",
        "followers should not be empty",
    ]
    assert (await sim.call("POST", path, json={"followers": [1]})).status_code == 422
    assert (
        await sim.call("POST", "/contacts/nope/followers", json={"followers": []})
    ).status_code == 400
    foreign = await sim.call("POST", path, json={"followers": ["x"]}, token=sim.pit(1))
    assert foreign.status_code == 403


async def test_contact_appointments(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[0]
    contact, other = (
        await a_contact(sim),
        await sim.call(
            "POST", "/contacts/", json={"locationId": sim.location_id, "email": "o@appt.test"}
        ),
    )
    day = (await slots(sim, calendar["id"], clock)).json()["2026-09-22"]["slots"]
    late = (await book(sim, calendar["id"], contact["id"], day[4])).json()
    early = (await book(sim, calendar["id"], contact["id"], day[1])).json()
    gone = (await book(sim, calendar["id"], contact["id"], day[6])).json()
    await book(sim, calendar["id"], other.json()["contact"]["id"], day[2])
    await sim.call("DELETE", f"/calendars/events/{gone['id']}")
    resp = await sim.call("GET", f"/contacts/{contact['id']}/appointments")
    events = resp.json()["events"]
    assert [e["id"] for e in events] == [early["id"], late["id"]]
    assert events[0]["startTime"] == day[1] and events[0]["deleted"] is False
    foreign = await sim.call("GET", f"/contacts/{contact['id']}/appointments", token=sim.pit(1))
    assert foreign.status_code == 403


async def _opportunity(sim: SimClient) -> dict[str, Any]:
    found = await sim.call(
        "POST", "/opportunities/search", json={"locationId": sim.location_id, "limit": 1}
    )
    return dict(found.json()["opportunities"][0])


async def test_opportunity_followers(sim: SimClient) -> None:
    opportunity = await _opportunity(sim)
    path = f"/opportunities/{opportunity['id']}/followers"
    added = await sim.call("POST", path, json={"followers": ["a", "b", "c"]})
    assert added.status_code == 201 and added.json()["followersAdded"] == ["a", "b", "c"]
    removed = await sim.call("DELETE", path, json={"followers": ["b"]})
    assert removed.json() | {"traceId": None} == {
        "followers": ["a", "c"], "followersRemoved": ["b"], "traceId": None,
    }  # fmt: skip
    everyone = await sim.call(
        "DELETE", path, json={"followers": []}, params={"isRemoveAllFollowers": "true"}
    )
    assert everyone.json()["followersRemoved"] == ["a", "c"]
    got = await sim.call("GET", f"/opportunities/{opportunity['id']}")
    assert got.json()["opportunity"].get("followers", []) == []
    missing = await sim.call("POST", "/opportunities/nope/followers", json={"followers": ["a"]})
    assert missing.status_code == 400


async def test_lost_reasons(sim: SimClient) -> None:
    async def reasons(**params: str) -> Any:
        query = {"locationId": sim.location_id, **params}
        return (await sim.call("GET", "/opportunities/lost-reason", params=query)).json()

    live = await reasons()
    names = [r["name"] for r in live["lostReasons"]]
    assert names == ["Price too high", "Chose a competitor", "No response", "Bad timing"]
    assert "total" not in live
    assert [r["name"] for r in (await reasons(deleted="true"))["lostReasons"]] == ["Duplicate lead"]
    assert [r["name"] for r in (await reasons(query="TIM"))["lostReasons"]] == ["Bad timing"]
    assert (await reasons(name="no response"))["lostReasons"][0]["name"] == "No response"
    paged = await reasons(skip="1", limit="2", getCount="true")
    assert ([r["name"] for r in paged["lostReasons"]], paged["total"]) == (names[1:3], 4)
    other = await sim.call(
        "GET",
        "/opportunities/lost-reason",
        params={"locationId": sim.other_location_id},
        token=sim.pit(1),
    )
    assert {r["locationId"] for r in other.json()["lostReasons"]} == {sim.other_location_id}
    assert not {r["id"] for r in other.json()["lostReasons"]} & {
        r["id"] for r in live["lostReasons"]
    }
    foreign = await sim.call(
        "GET", "/opportunities/lost-reason", params={"locationId": sim.other_location_id}
    )
    assert foreign.status_code == 403
    assert (await sim.call("GET", "/opportunities/lost-reason")).status_code == 422
