"""Campaigns and workflows: seeded lists, enrolment reflected on the contact, GHL's errors."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import SimClient


async def listing(sim: SimClient, path: str, key: str, **params: str) -> list[dict[str, Any]]:
    resp = await sim.call("GET", path, params={"locationId": sim.location_id, **params})
    assert resp.status_code == 200, resp.text
    return list(resp.json()[key])


async def a_contact(sim: SimClient) -> str:
    body = {"locationId": sim.location_id, "email": "enrol@example.com"}
    return str((await sim.call("POST", "/contacts/", json=body)).json()["contact"]["id"])


async def test_seeded_campaigns_and_workflows(sim: SimClient) -> None:
    campaigns = await listing(sim, "/campaigns/", "campaigns")
    assert [c["name"] for c in campaigns] == ["Welcome Drip", "Re-engagement", "Old Promo"]
    published = await listing(sim, "/campaigns/", "campaigns", status="published")
    assert len(published) == 2
    workflows = await listing(sim, "/workflows/", "workflows")
    assert [w["status"] for w in workflows] == ["published", "published", "draft"]
    assert len(workflows[0]["id"]) == 36 and workflows[0]["version"] == 1
    foreign = await sim.call("GET", "/workflows/", params={"locationId": sim.other_location_id})
    assert foreign.status_code == 403


async def test_workflow_enrolment_shows_in_contact_search(sim: SimClient) -> None:
    workflow = (await listing(sim, "/workflows/", "workflows"))[0]
    cid = await a_contact(sim)
    path = f"/contacts/{cid}/workflow/{workflow['id']}"
    added = await sim.call("POST", path, json={"eventStartTime": "2026-10-01T09:00:00+01:00"})
    assert (added.status_code, added.json()["succeded"]) == (200, True)
    active = {"field": "activeWorkflows", "operator": "eq", "value": workflow["id"]}
    search = {"locationId": sim.location_id, "pageLimit": 10, "filters": [active]}
    found = (await sim.call("POST", "/contacts/search", json=search)).json()["contacts"]
    assert [c["id"] for c in found] == [cid]
    assert (await sim.call("DELETE", path)).json()["succeded"] is True
    assert (await sim.call("POST", "/contacts/search", json=search)).json()["contacts"] == []
    bad_time = await sim.call("POST", path, json={"eventStartTime": "tomorrow"})
    assert bad_time.status_code == 422


async def test_campaign_enrolment_and_errors(sim: SimClient) -> None:
    campaign = (await listing(sim, "/campaigns/", "campaigns"))[0]
    cid = await a_contact(sim)
    added = await sim.call("POST", f"/contacts/{cid}/campaigns/{campaign['id']}")
    assert (added.status_code, added.json()["succeded"]) == (201, True)
    removed = await sim.call("DELETE", f"/contacts/{cid}/campaigns/{campaign['id']}")
    assert removed.status_code == 200
    everything = await sim.call("DELETE", f"/contacts/{cid}/campaigns/removeAll")
    assert everything.json()["succeded"] is True
    unknown = await sim.call("POST", f"/contacts/{cid}/campaigns/nope")
    assert (unknown.status_code, unknown.json()["message"]) == (
        400,
        "Campaign with id nope not found",
    )
    other_campaign = (
        await sim.call(
            "GET", "/campaigns/", params={"locationId": sim.other_location_id}, token=sim.pit(1)
        )
    ).json()["campaigns"][0]
    cross = await sim.call("POST", f"/contacts/{cid}/campaigns/{other_campaign['id']}")
    assert cross.status_code == 400
    no_contact = await sim.call("POST", f"/contacts/nobody/workflow/{campaign['id']}")
    assert no_contact.json()["message"] == "Contact with id nobody not found"
