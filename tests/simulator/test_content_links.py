"""Trigger links: seeded list, CRUD, the skip/limit search, validation and tenancy errors."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import SimClient


async def create(sim: SimClient, name: str, target: str = "https://x.test/a") -> Any:
    body = {"locationId": sim.location_id, "name": name, "redirectTo": target}
    return await sim.call("POST", "/links/", json=body)


async def names(sim: SimClient, **params: Any) -> list[str]:
    query = {"locationId": sim.location_id, **params}
    resp = await sim.call("GET", "/links/search", params=query, headers={"Version": "2021-04-15"})
    assert resp.status_code == 200, resp.text
    return [link["name"] for link in resp.json()["links"]]


async def test_seeded_links_carry_their_merge_tag(sim: SimClient) -> None:
    resp = await sim.call("GET", "/links/", params={"locationId": sim.location_id})
    links = resp.json()["links"]
    assert [link["name"] for link in links] == ["Book a consult", "Spring promo"]
    assert all(link["fieldKey"] == f"{{{{trigger_link.{link['id']}}}}}" for link in links)
    assert {link["locationId"] for link in links} == {sim.location_id}


async def test_create_get_update_delete(sim: SimClient) -> None:
    made = await create(sim, "Webinar", "https://x.test/webinar")
    assert made.status_code == 201, made.text
    link = made.json()["link"]
    path, query = f"/links/id/{link['id']}", {"locationId": sim.location_id}
    assert (await sim.call("GET", path, params=query)).json()["link"] == link
    changed = await sim.call(
        "PUT", f"/links/{link['id']}", json={"name": "Webinar 2", "redirectTo": "https://x.test/2"}
    )
    assert changed.status_code == 201 and changed.json()["link"]["name"] == "Webinar 2"
    listed = (await sim.call("GET", "/links/", params=query)).json()["links"]
    assert listed[-1] == {**link, "name": "Webinar 2", "redirectTo": "https://x.test/2"}
    deleted = await sim.call("DELETE", f"/links/{link['id']}")
    assert (deleted.status_code, deleted.json()["succeded"]) == (201, True)
    gone = await sim.call("GET", path, params=query)
    assert (gone.status_code, gone.json()["message"]) == (400, "Link not found")
    assert (await sim.call("DELETE", f"/links/{link['id']}")).status_code == 400


async def test_search_matches_text_and_pages_with_skip_and_limit(sim: SimClient) -> None:
    for n in range(5):
        assert (await create(sim, f"Promo {n}")).status_code == 201
    assert await names(sim, query="PROMO") == ["Spring promo", *(f"Promo {n}" for n in range(5))]
    assert await names(sim, query="promo", skip=2, limit=2) == ["Promo 1", "Promo 2"]
    assert await names(sim, query="promo", skip=6) == []
    assert await names(sim, query="x.test", limit=1) == ["Promo 0"]  # matches the target too
    bad = await sim.call("GET", "/links/search", params={"locationId": sim.location_id, "skip": -1})
    assert (bad.status_code, bad.json()["message"]) == (422, ["skip must not be less than 0"])


async def test_bad_bodies_are_422_with_every_problem(sim: SimClient) -> None:
    resp = await sim.call(
        "POST", "/links/", json={"locationId": sim.location_id, "name": "", "color": "red"}
    )
    assert resp.status_code == 422
    assert set(resp.json()["message"]) == {
        "property color should not exist",
        "name must be a string",
        "name should not be empty",
        "redirectTo must be a string",
        "redirectTo should not be empty",
    }
    made = (await create(sim, "Half")).json()["link"]
    half = await sim.call("PUT", f"/links/{made['id']}", json={"name": "only a name"})
    assert half.status_code == 422 and "redirectTo should not be empty" in half.json()["message"]


async def test_other_locations_links_are_out_of_reach(sim: SimClient) -> None:
    theirs = await sim.call(
        "GET", "/links/", params={"locationId": sim.other_location_id}, token=sim.pit(1)
    )
    their_id = theirs.json()["links"][0]["id"]
    assert (
        await sim.call("GET", "/links/", params={"locationId": sim.other_location_id})
    ).status_code == 403
    foreign = await create(sim, "x")
    assert foreign.status_code == 201
    body = {"locationId": sim.other_location_id, "name": "x", "redirectTo": "https://x.test"}
    assert (await sim.call("POST", "/links/", json=body)).status_code == 403
    edit = {"name": "mine now", "redirectTo": "https://x.test"}
    assert (await sim.call("PUT", f"/links/{their_id}", json=edit)).status_code == 403
    assert (await sim.call("DELETE", f"/links/{their_id}")).status_code == 403
    # Asked for within our own location, their id is simply unknown.
    mine = await sim.call("GET", f"/links/id/{their_id}", params={"locationId": sim.location_id})
    assert mine.status_code == 400
