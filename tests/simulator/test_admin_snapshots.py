"""Snapshots: the agency's list, share links, push history paging and the latest push."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import SimClient


def agency(sim: SimClient) -> tuple[str, str]:
    return str(sim.seed["agency"]["companyId"]), str(sim.seed["agency"]["pit"])


async def snapshots(sim: SimClient) -> list[dict[str, Any]]:
    company, pit = agency(sim)
    resp = await sim.call("GET", "/snapshots/", token=pit, params={"companyId": company})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["snapshots"])


async def share(sim: SimClient, **body: Any) -> Any:
    company, pit = agency(sim)
    return await sim.call(
        "POST", "/snapshots/share/link", token=pit, params={"companyId": company}, json=body
    )


async def pushes(sim: SimClient, snapshot_id: str, **params: str) -> Any:
    company, pit = agency(sim)
    query = {"companyId": company, "from": "2025-12-01", "to": "2026-01-31", "lastDoc": "",
             "limit": "10", **params}  # fmt: skip
    return await sim.call(
        "GET", f"/snapshots/snapshot-status/{snapshot_id}", token=pit, params=query
    )


async def test_list_is_agency_only(sim: SimClient) -> None:
    listed = await snapshots(sim)
    assert [(s["name"], s["type"]) for s in listed] == [
        ("Dental Practice Starter", "own"),
        ("Roofing Lead Engine", "own"),
        ("Fitness Studio Kit", "imported"),
    ]
    company, pit = agency(sim)
    as_location = await sim.call("GET", "/snapshots/", params={"companyId": company})
    assert as_location.status_code == 401
    assert (await sim.call("GET", "/snapshots/", token=pit)).status_code == 422
    foreign = await sim.call("GET", "/snapshots/", token=pit, params={"companyId": "elsewhere"})
    assert foreign.status_code == 403


async def test_share_links(sim: SimClient) -> None:
    snapshot = (await snapshots(sim))[0]["id"]
    permanent = await share(sim, snapshot_id=snapshot, share_type="permanent_link")
    assert permanent.status_code == 201, permanent.text
    link = permanent.json()
    assert link["shareLink"] == f"https://affiliates.gohighlevel.com/?share={link['id']}"
    again = (await share(sim, snapshot_id=snapshot, share_type="permanent_link")).json()
    assert again["id"] == link["id"]  # one permanent link per snapshot
    one_off = (await share(sim, snapshot_id=snapshot, share_type="link")).json()
    assert one_off["id"] != link["id"]
    scoped = await share(
        sim, snapshot_id=snapshot, share_type="location_link", share_location_id="a1, b2"
    )
    assert scoped.status_code == 201
    missing = await share(sim, snapshot_id=snapshot, share_type="agency_link")
    assert (missing.status_code, missing.json()["message"]) == (
        422,
        ["relationship_number should not be empty"],
    )
    bad_type = await share(sim, snapshot_id=snapshot, share_type="email")
    assert bad_type.json()["message"] == ["share_type must be a valid enum value"]
    unknown = await share(sim, snapshot_id="nope", share_type="link")
    assert unknown.status_code == 400


async def test_push_history_pages_by_last_doc_within_the_window(sim: SimClient) -> None:
    imported = (await snapshots(sim))[2]["id"]
    everything = (await pushes(sim, imported)).json()["data"]
    assert len(everything) == 2
    assert {p["locationId"] for p in everything} == {sim.location_id, sim.other_location_id}
    assert all(p["status"] == "completed" for p in everything)
    assert [p["dateAdded"] for p in everything] == sorted(p["dateAdded"] for p in everything)
    first = (await pushes(sim, imported, limit="1")).json()["data"]
    assert first == everything[:1]
    rest = (await pushes(sim, imported, limit="1", lastDoc=first[0]["id"])).json()["data"]
    assert rest == everything[1:2]
    day = everything[0]["dateAdded"][:10]
    narrow = (await pushes(sim, imported, **{"from": day, "to": day})).json()["data"]
    assert narrow == everything[:1]
    assert (await pushes(sim, imported, to="2025-12-15")).json()["data"] == []


async def test_push_history_errors(sim: SimClient) -> None:
    imported = (await snapshots(sim))[2]["id"]
    company, pit = agency(sim)
    no_cursor = await sim.call(
        "GET", f"/snapshots/snapshot-status/{imported}", token=pit,
        params={"companyId": company, "from": "2026-01-01", "to": "2026-02-01", "limit": "5"},
    )  # fmt: skip
    assert (no_cursor.status_code, no_cursor.json()["message"]) == (
        422,
        ["lastDoc must be a string"],
    )
    assert (await pushes(sim, imported, **{"from": "soon"})).status_code == 422
    assert (await pushes(sim, imported, limit="0")).status_code == 422
    assert (await pushes(sim, imported, lastDoc="unknownDoc")).status_code == 400
    assert (await pushes(sim, "noSuchSnapshot")).status_code == 400


async def test_latest_push(sim: SimClient) -> None:
    own, second, imported = (s["id"] for s in await snapshots(sim))
    company, pit = agency(sim)

    async def latest(snapshot_id: str, location_id: str) -> Any:
        path = f"/snapshots/snapshot-status/{snapshot_id}/location/{location_id}"
        return await sim.call("GET", path, token=pit, params={"companyId": company})

    data = (await latest(own, sim.location_id)).json()["data"]
    assert (data["status"], data["pending"], data["locationId"]) == (
        "completed",
        [],
        sim.location_id,
    )
    assert data["completed"][:3] == ["custom_fields", "custom_values", "tags"]
    assert (await latest(second, sim.location_id)).status_code == 400  # never pushed there
    assert (await latest(imported, sim.other_location_id)).status_code == 200
