"""Funnels, their pages and URL redirects: filters, offset/limit paging, uniqueness, tenancy."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import SimClient


async def funnels(sim: SimClient, **params: Any) -> dict[str, Any]:
    resp = await sim.call(
        "GET", "/funnels/funnel/list", params={"locationId": sim.location_id, **params}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def redirects(sim: SimClient, **params: Any) -> dict[str, Any]:
    query = {"locationId": sim.location_id, "limit": 50, "offset": 0, **params}
    resp = await sim.call("GET", "/funnels/lookup/redirect/list", params=query)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["data"])


async def new_redirect(sim: SimClient, **fields: Any) -> Any:
    body = {"locationId": sim.location_id, "domain": "shop.example.com", "path": "/Sale",
            "target": "https://shop.example.com/spring", "action": "url", **fields}  # fmt: skip
    return await sim.call("POST", "/funnels/lookup/redirect", json=body)


async def test_funnel_list_filters_and_pages_with_a_total_count(sim: SimClient) -> None:
    everything = await funnels(sim)
    assert [f["name"] for f in everything["funnels"]] == [
        "Free Consultation Funnel", "Spring Promo Funnel", "Company Website",
    ]  # fmt: skip
    assert everything["count"] == 3
    assert all(
        len(f["steps"]) and f["locationId"] == sim.location_id for f in everything["funnels"]
    )
    websites = await funnels(sim, type="website")
    assert ([f["name"] for f in websites["funnels"]], websites["count"]) == (["Company Website"], 1)
    tail = await funnels(sim, offset="2", limit="2")
    assert ([f["name"] for f in tail["funnels"]], tail["count"]) == (["Company Website"], 3)
    assert (await funnels(sim, name="PROMO"))["count"] == 1
    bad = await sim.call(
        "GET", "/funnels/funnel/list", params={"locationId": sim.location_id, "limit": "ten"}
    )
    assert bad.status_code == 422


async def test_pages_need_limit_and_offset_and_page_through_the_steps(sim: SimClient) -> None:
    promo = (await funnels(sim, name="spring"))["funnels"][0]
    query = {"locationId": sim.location_id, "funnelId": promo["_id"]}
    missing = await sim.call("GET", "/funnels/page", params=query)
    assert missing.status_code == 422
    assert missing.json()["message"] == ["limit should not be empty", "offset should not be empty"]
    first = await sim.call("GET", "/funnels/page", params={**query, "limit": 3, "offset": 0})
    rest = await sim.call("GET", "/funnels/page", params={**query, "limit": 3, "offset": 3})
    pages = first.json()["data"] + rest.json()["data"]
    assert [p["name"] for p in pages] == ["Landing", "Order Form", "Upsell", "Thank You"]
    assert [p["stepId"] for p in pages] == [s["id"] for s in promo["steps"]]
    assert all(p["funnelId"] == promo["_id"] and p["deleted"] is False for p in pages)
    count = await sim.call("GET", "/funnels/page/count", params=query)
    assert count.json()["count"] == 4
    named = await sim.call("GET", "/funnels/page/count", params={**query, "name": "thank"})
    assert named.json()["count"] == 1


async def test_pages_of_unknown_or_foreign_funnels(sim: SimClient) -> None:
    theirs = await sim.call(
        "GET",
        "/funnels/funnel/list",
        params={"locationId": sim.other_location_id},
        token=sim.pit(1),
    )
    their_id = theirs.json()["funnels"][0]["_id"]
    page = {"limit": 5, "offset": 0}
    for funnel_id in ("nope", their_id):
        query = {"locationId": sim.location_id, "funnelId": funnel_id}
        resp = await sim.call("GET", "/funnels/page", params={**query, **page})
        assert (resp.status_code, resp.json()["message"]) == (400, "Funnel not found")
    query = {"locationId": sim.other_location_id, "funnelId": their_id}
    assert (await sim.call("GET", "/funnels/page/count", params=query)).status_code == 403
    assert (
        await sim.call("GET", "/funnels/funnel/list", params={"locationId": sim.other_location_id})
    ).status_code == 403


async def test_redirect_lifecycle(sim: SimClient) -> None:
    seeded = await redirects(sim)
    made = await new_redirect(sim, domain="HTTPS://Shop.Example.com/")
    assert made.status_code == 200, made.text
    redirect = made.json()["data"]
    assert (redirect["domain"], redirect["path"], redirect["pathLowercase"]) == (
        "shop.example.com", "/Sale", "/sale",
    )  # fmt: skip
    assert redirect["type"] == "Permanent"
    assert (await redirects(sim))["count"] == seeded["count"] + 1
    change = {"locationId": sim.location_id, "target": "https://shop.example.com/x",
              "action": "website"}  # fmt: skip
    path = f"/funnels/lookup/redirect/{redirect['id']}"
    patched = await sim.call("PATCH", path, json=change)
    assert patched.json()["data"] == {**redirect, "target": change["target"], "action": "website"}
    assert (await redirects(sim, search="shop.example.com/sale"))["data"] == [
        patched.json()["data"]
    ]
    query = {"locationId": sim.location_id}
    deleted = await sim.call("DELETE", path, params=query)
    assert deleted.json()["data"] == {"status": "ok"}
    assert (await sim.call("DELETE", path, params=query)).status_code == 400
    assert (await redirects(sim))["count"] == seeded["count"]


async def test_one_redirect_per_domain_and_path(sim: SimClient) -> None:
    assert (await new_redirect(sim)).status_code == 200
    again = await new_redirect(sim, path="sale", domain="http://shop.example.com")
    assert again.status_code == 422
    assert again.json()["message"] == ["A redirect for shop.example.com/sale exists"]
    assert (await new_redirect(sim, domain="blog.example.com")).status_code == 200
    assert (await new_redirect(sim, path="/sale/2")).status_code == 200
    # Uniqueness is per location: the other location may redirect the same path.
    theirs = await sim.call(
        "POST",
        "/funnels/lookup/redirect",
        json={"locationId": sim.other_location_id, "domain": "shop.example.com", "path": "/sale",
              "target": "https://t.test", "action": "url"},
        token=sim.pit(1),
    )  # fmt: skip
    assert theirs.status_code == 200


async def test_redirect_validation_paging_and_tenancy(sim: SimClient) -> None:
    bad = await new_redirect(sim, action="teleport", target=None)
    assert bad.status_code == 422
    assert set(bad.json()["message"]) == {
        "action must be a valid enum value",
        "target must be a string",
        "target should not be empty",
    }
    for n in range(4):
        assert (await new_redirect(sim, path=f"/p{n}")).status_code == 200
    total = (await redirects(sim))["count"]
    window = await redirects(sim, limit=2, offset=total - 3)
    assert (len(window["data"]), window["count"]) == (2, total)
    no_offset = await sim.call(
        "GET", "/funnels/lookup/redirect/list", params={"locationId": sim.location_id, "limit": 5}
    )
    assert no_offset.json()["message"] == ["offset should not be empty"]
    foreign = {"locationId": sim.other_location_id, "limit": 5, "offset": 0}
    assert (
        await sim.call("GET", "/funnels/lookup/redirect/list", params=foreign)
    ).status_code == 403
    mine = (await redirects(sim))["data"][0]
    change = {"locationId": sim.other_location_id, "target": "https://t.test", "action": "url"}
    path = f"/funnels/lookup/redirect/{mine['id']}"
    assert (await sim.call("PATCH", path, json=change)).status_code == 403
    assert (await sim.call("PATCH", path, json=change, token=sim.pit(1))).status_code == 403
    gone = await sim.call(
        "DELETE", "/funnels/lookup/redirect/nope", params={"locationId": sim.location_id}
    )
    assert (gone.status_code, gone.json()["message"]) == (400, "Redirect not found")
