"""Pipelines and opportunities: CRUD, status, upsert, both searches, errors and webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.simulator.conftest import Receiver, SimClient, install
from tests.simulator.test_webhooks import events, flush, subscribe, verify


async def pipelines(sim: SimClient, location: str | None = None) -> list[dict[str, Any]]:
    resp = await sim.call(
        "GET", "/opportunities/pipelines", params={"locationId": location or sim.location_id}
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()["pipelines"])


async def new_contact(sim: SimClient, email: str) -> str:
    body = {"locationId": sim.location_id, "firstName": "Opp", "lastName": "Owner", "email": email}
    resp = await sim.call("POST", "/contacts/", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["contact"]["id"])


async def create(sim: SimClient, contact_id: str, pipeline_id: str, **extra: Any) -> Any:
    body = {
        "locationId": sim.location_id, "pipelineId": pipeline_id, "contactId": contact_id,
        "name": "Roof replacement", "status": "open", **extra,
    }  # fmt: skip
    return await sim.call("POST", "/opportunities/", json=body)


async def test_seeded_pipelines_have_stages_and_are_per_location(sim: SimClient) -> None:
    found = await pipelines(sim)
    assert [p["name"] for p in found] == ["Sales Pipeline", "Onboarding"]
    assert all(p["locationId"] == sim.location_id for p in found)
    assert [s["position"] for s in found[0]["stages"]] == [0, 1, 2, 3]
    assert len(found[0]["stages"][0]["id"]) == 36  # stage ids are UUIDs
    other = await sim.call(
        "GET", "/opportunities/pipelines", params={"locationId": sim.other_location_id}
    )
    assert other.status_code == 403
    theirs = await sim.call(
        "GET",
        "/opportunities/pipelines",
        params={"locationId": sim.other_location_id},
        token=sim.pit(1),
    )
    assert {p["id"] for p in theirs.json()["pipelines"]}.isdisjoint({p["id"] for p in found})


async def test_lifecycle_create_get_update_status_delete(sim: SimClient) -> None:
    sales, onboarding = await pipelines(sim)
    cid = await new_contact(sim, "life@example.com")
    made = await create(sim, cid, sales["id"], monetaryValue=1200, assignedTo="u" * 20)
    assert made.status_code == 201, made.text
    opp = made.json()["opportunity"]
    assert opp["pipelineStageId"] == sales["stages"][0]["id"] == opp["pipelineStageUId"]
    assert opp["contact"]["email"] == "life@example.com" and opp["monetaryValue"] == 1200
    assert (await sim.call("GET", f"/opportunities/{opp['id']}")).json()["opportunity"] == opp
    moved = await sim.call(
        "PUT",
        f"/opportunities/{opp['id']}",
        json={"pipelineId": onboarding["id"], "name": "Moved"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["opportunity"]["pipelineStageId"] == onboarding["stages"][0]["id"]
    won = await sim.call("PUT", f"/opportunities/{opp['id']}/status", json={"status": "won"})
    assert won.json()["succeded"] is True
    after = (await sim.call("GET", f"/opportunities/{opp['id']}")).json()["opportunity"]
    assert (after["status"], after["effectiveProbability"]) == ("won", 100.0)
    assert (await sim.call("DELETE", f"/opportunities/{opp['id']}")).json()["succeded"] is True
    gone = await sim.call("GET", f"/opportunities/{opp['id']}")
    assert (gone.status_code, gone.json()["message"]) == (400, "Opportunity not found")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": None}, 422, ["name must be a string", "name should not be empty"]),
        ({"status": "maybe"}, 422, ["status must be a valid enum value"]),
        ({"colour": "red"}, 422, ["property colour should not exist"]),
        ({"pipelineId": "nope"}, 400, "Pipeline not found"),
        ({"pipelineStageId": "nope"}, 400, "Pipeline stage not found"),
        ({"contactId": "nope"}, 400, "Contact not found"),
    ],
)
async def test_create_errors(
    sim: SimClient, body: dict[str, Any], status: int, message: Any
) -> None:
    sales = (await pipelines(sim))[0]
    cid = await new_contact(sim, "err@example.com")
    resp = await create(sim, cid, sales["id"], **body)
    assert (resp.status_code, resp.json()["message"]) == (status, message)


async def test_one_opportunity_per_contact_and_pipeline(sim: SimClient) -> None:
    sales, onboarding = await pipelines(sim)
    cid = await new_contact(sim, "dup@example.com")
    assert (await create(sim, cid, sales["id"])).status_code == 201
    again = await create(sim, cid, sales["id"])
    assert again.status_code == 400
    assert again.json()["message"] == "Can not create duplicate opportunity for the contact."
    assert (await create(sim, cid, onboarding["id"])).status_code == 201


async def test_scope_and_location_are_enforced(sim: SimClient) -> None:
    oauth = await install(sim)  # granted contacts.* and oauth.* only
    resp = await sim.call(
        "GET",
        "/opportunities/pipelines",
        params={"locationId": sim.location_id},
        token=oauth["access_token"],
    )
    assert (resp.status_code, resp.json()["message"]) == (
        401,
        "The token is not authorized for this scope.",
    )
    seeded = (await sim.call(
        "POST", "/opportunities/search", json={"locationId": sim.location_id, "limit": 1}
    )).json()["opportunities"][0]  # fmt: skip
    foreign = await sim.call("GET", f"/opportunities/{seeded['id']}", token=sim.pit(1))
    assert foreign.status_code == 403


async def test_upsert_creates_then_updates_by_contact_and_pipeline(sim: SimClient) -> None:
    sales = (await pipelines(sim))[0]
    cid = await new_contact(sim, "ups@example.com")
    body = {"locationId": sim.location_id, "pipelineId": sales["id"], "contactId": cid,
            "name": "Upserted", "status": "open"}  # fmt: skip
    first = await sim.call("POST", "/opportunities/upsert", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["new"] is True
    stage = sales["stages"][2]["id"]
    second = await sim.call(
        "POST", "/opportunities/upsert", json={**body, "pipelineStageId": stage, "monetaryValue": 9}
    )
    assert second.json()["new"] is False
    assert second.json()["opportunity"]["id"] == first.json()["opportunity"]["id"]
    assert second.json()["opportunity"]["pipelineStageId"] == stage
    missing = await sim.call(
        "POST",
        "/opportunities/upsert",
        json={"locationId": sim.location_id, "pipelineId": sales["id"]},
    )
    assert missing.status_code == 422


async def seed_many(sim: SimClient, count: int) -> set[str]:
    onboarding = (await pipelines(sim))[1]
    made = set()
    for n in range(count):
        cid = await new_contact(sim, f"many{n}@example.com")
        resp = await create(sim, cid, onboarding["id"], name=f"Deal {n:02d}", monetaryValue=n)
        made.add(resp.json()["opportunity"]["id"])
    return made


async def test_advanced_search_walks_with_sort_cursor_without_gaps(sim: SimClient) -> None:
    await seed_many(sim, 7)
    total_body = {"locationId": sim.location_id, "limit": 100}
    everything = await sim.call("POST", "/opportunities/search", json=total_body)
    assert everything.status_code == 201
    total = everything.json()["total"]
    seen: list[str] = []
    cursor: list[Any] = []
    while True:
        body = {"locationId": sim.location_id, "limit": 3, "searchAfter": cursor}
        page = (await sim.call("POST", "/opportunities/search", json=body)).json()
        if not page["opportunities"]:
            break
        seen += [o["id"] for o in page["opportunities"]]
        cursor = page["opportunities"][-1]["sort"]
        assert len(cursor) == 2 and isinstance(cursor[0], int)
    assert len(seen) == len(set(seen)) == total == 7 + 4
    assert seen == [o["id"] for o in everything.json()["opportunities"]]
    paged = []
    for number in (1, 2, 3, 4):
        body = {"locationId": sim.location_id, "limit": 3, "page": number, "searchAfter": []}
        resp = await sim.call("POST", "/opportunities/search", json=body)
        paged += [o["id"] for o in resp.json()["opportunities"]]
    assert paged == seen


async def test_advanced_search_filters_and_sort_are_snake_case(sim: SimClient) -> None:
    await seed_many(sim, 4)
    onboarding = (await pipelines(sim))[1]
    body = {
        "locationId": sim.location_id, "limit": 10,
        "filters": [{"group": "AND", "filters": [
            {"field": "pipeline_id", "operator": "eq", "value": onboarding["id"]},
            {"field": "monetary_value", "operator": "range", "value": {"gte": 1, "lte": 2}},
        ]}],
        "sort": [{"field": "monetary_value", "direction": "desc"}],
    }  # fmt: skip
    found = (await sim.call("POST", "/opportunities/search", json=body)).json()
    assert [o["name"] for o in found["opportunities"]] == ["Deal 02", "Deal 01"]
    assert found["opportunities"][0]["sort"][0] == 2
    camel = {**body, "filters": [{"field": "pipelineId", "operator": "eq", "value": "x"}]}
    bad = await sim.call("POST", "/opportunities/search", json=camel)
    assert (bad.status_code, bad.json()["message"]) == (400, "Invalid field pipelineId")
    query = {"locationId": sim.location_id, "limit": 10, "query": "deal 03"}
    hits = (await sim.call("POST", "/opportunities/search", json=query)).json()
    assert [o["name"] for o in hits["opportunities"]] == ["Deal 03"]
    missing = await sim.call("POST", "/opportunities/search", json={"locationId": sim.location_id})
    assert (missing.status_code, missing.json()["message"]) == (422, ["limit should not be empty"])


async def test_legacy_search_pages_by_start_after_and_by_page(sim: SimClient) -> None:
    await seed_many(sim, 5)
    params = {"location_id": sim.location_id, "limit": "4"}
    seen: list[str] = []
    query: dict[str, str] = dict(params)
    while True:
        resp = await sim.call("GET", "/opportunities/search", params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen += [o["id"] for o in body["opportunities"]]
        if body["meta"]["nextPage"] is None:
            break
        query = {**params, "startAfter": str(body["meta"]["startAfter"]),
                 "startAfterId": body["meta"]["startAfterId"]}  # fmt: skip
    assert len(seen) == len(set(seen)) == body["meta"]["total"] == 9
    by_page: list[str] = []
    for number in (1, 2, 3):
        page = await sim.call(
            "GET", "/opportunities/search", params={**params, "page": str(number)}
        )
        by_page += [o["id"] for o in page.json()["opportunities"]]
        assert page.json()["meta"]["currentPage"] == number
    assert by_page == seen


async def test_legacy_search_filters_and_limits(sim: SimClient) -> None:
    await seed_many(sim, 3)
    base = {"location_id": sim.location_id}
    prefix = await sim.call("GET", "/opportunities/search", params={**base, "q": "dea"})
    assert {o["name"] for o in prefix.json()["opportunities"]} == {"Deal 00", "Deal 01", "Deal 02"}
    suffix = await sim.call("GET", "/opportunities/search", params={**base, "q": "eal"})
    assert suffix.json()["opportunities"] == []
    won = await sim.call("GET", "/opportunities/search", params={**base, "status": "won"})
    assert won.json()["meta"]["total"] == 0
    too_many = await sim.call("GET", "/opportunities/search", params={**base, "limit": "101"})
    assert (too_many.status_code, too_many.json()["message"]) == (
        422,
        ["limit must not be greater than 100"],
    )
    no_location = await sim.call("GET", "/opportunities/search", params={"locationId": "x"})
    assert no_location.json()["message"] == ["location_id should not be empty"]


async def test_opportunity_webhooks(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    sales = (await pipelines(sim))[0]
    cid = await new_contact(sim, "hooks@example.com")
    opp = (await create(sim, cid, sales["id"])).json()["opportunity"]
    path = f"/opportunities/{opp['id']}"
    await sim.call("PUT", path, json={"pipelineStageId": sales["stages"][1]["id"]})
    await sim.call("PUT", path, json={"monetaryValue": 50, "assignedTo": "a" * 20})
    await sim.call("PUT", f"{path}/status", json={"status": "lost"})
    await sim.call("DELETE", path)
    await flush(sim)
    got = [e for e in events(receiver) if e["type"].startswith("Opportunity")]
    assert [e["type"] for e in got] == [
        "OpportunityCreate", "OpportunityUpdate", "OpportunityStageUpdate", "OpportunityUpdate",
        "OpportunityMonetaryValueUpdate", "OpportunityAssignedToUpdate",
        "OpportunityStatusUpdate", "OpportunityDelete",
    ]  # fmt: skip
    assert got[0]["id"] == opp["id"] and got[0]["contactId"] == cid
    assert got[-2]["status"] == "lost"
    for body, headers in receiver.received:
        verify(sim, body, headers)


async def test_deleting_the_contact_deletes_its_opportunities(sim: SimClient) -> None:
    sales = (await pipelines(sim))[0]
    cid = await new_contact(sim, "cascade@example.com")
    opp = (await create(sim, cid, sales["id"])).json()["opportunity"]
    assert (await sim.call("DELETE", f"/contacts/{cid}")).status_code == 200
    assert (await sim.call("GET", f"/opportunities/{opp['id']}")).status_code == 400
