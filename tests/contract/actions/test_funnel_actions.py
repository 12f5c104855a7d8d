"""Funnel, funnel page and URL redirect actions against the simulator's seeded funnels: each
succeeds on good input and fails clearly on bad input or at GHL."""

from __future__ import annotations

from typing import Any

from tests.contract.actions.conftest import Acts


async def _funnels(acts: Acts, **query: Any) -> dict[str, Any]:
    return await acts.run("funnels.list", query)  # type: ignore[no-any-return]


async def test_list_funnels_filters_pages_and_truncates(acts: Acts) -> None:
    every = await _funnels(acts)
    names = {f["name"] for f in every["items"]}
    assert {"Free Consultation Funnel", "Company Website"} <= names
    assert every["truncated"] is False and all(f["id"] for f in every["items"])
    first = await _funnels(acts, limit=1)
    assert first["count"] == 1 and first["truncated"] is True
    websites = await _funnels(acts, type="website")
    assert [f["name"] for f in websites["items"]] == ["Company Website"]
    assert (await _funnels(acts, name="promo"))["items"][0]["name"] == "Spring Promo Funnel"
    assert await acts.invalid("funnels.list", {"limit": 0}) == ["limit"]
    assert await acts.invalid("funnels.list", {"visits": True}) == ["visits"]


async def test_pages_and_page_count(acts: Acts) -> None:
    funnels = (await _funnels(acts, name="Spring Promo"))["items"]
    funnel_id = funnels[0]["id"]
    pages = await acts.run("funnels.pages", {"funnelId": funnel_id})
    assert [p["name"] for p in pages["items"]] == ["Landing", "Order Form", "Upsell", "Thank You"]
    assert {p["funnelId"] for p in pages["items"]} == {funnel_id}
    two = await acts.run("funnels.pages", {"funnelId": funnel_id, "limit": 2})
    assert (two["count"], two["truncated"]) == (2, True)
    named = await acts.run("funnels.pages", {"funnelId": funnel_id, "name": "upsell"})
    assert [p["name"] for p in named["items"]] == ["Upsell"]
    counted = await acts.run("funnels.page_count", {"funnelId": funnel_id})
    assert counted == {"funnelId": funnel_id, "count": 4}
    missing = await acts.refused("funnels.pages", {"funnelId": "nofunnel0000000000001"})
    assert missing.code == "not_found"
    missing = await acts.refused("funnels.page_count", {"funnelId": "nofunnel0000000000001"})
    assert missing.code == "not_found"
    assert await acts.invalid("funnels.pages", {}) == ["funnelId"]
    assert await acts.invalid("funnels.page_count", {"funnelId": "has space"}) == ["funnelId"]


async def test_redirects_create_list_update_delete(acts: Acts) -> None:
    seeded = await acts.run("funnels.redirects_list", {})
    assert seeded["count"] == 1 and seeded["items"][0]["path"] == "/old-offer"
    domain = seeded["items"][0]["domain"]
    made = await acts.run(
        "funnels.redirects_create",
        {"domain": domain, "path": "/Summer", "target": "https://x.example/a", "action": "url"},
    )
    assert made["created"] is True
    redirect_id = made["redirect"]["id"]
    # A retry (any case of the path, the domain with a scheme) answers the same redirect.
    again = await acts.run(
        "funnels.redirects_create",
        {
            "domain": f"https://{domain.upper()}/",
            "path": "summer",
            "target": "https://x.example/a",
            "action": "url",
        },
    )
    assert again == {**made, "created": False}
    found = await acts.run("funnels.redirects_list", {"search": "summer"})
    assert [r["id"] for r in found["items"]] == [redirect_id]
    changed = await acts.run(
        "funnels.redirects_update",
        {"redirectId": redirect_id, "target": "https://x.example/b", "action": "url"},
    )
    assert changed["redirect"]["target"] == "https://x.example/b"
    listed = await acts.run("funnels.redirects_list", {"limit": 1})
    assert (listed["count"], listed["truncated"]) == (1, True)
    gone = await acts.run("funnels.redirects_delete", {"redirectId": redirect_id})
    assert gone == {"id": redirect_id, "deleted": True}
    left = await acts.run("funnels.redirects_list", {})
    assert redirect_id not in {r["id"] for r in left["items"]}


async def test_redirect_refusals(acts: Acts) -> None:
    seeded = (await acts.run("funnels.redirects_list", {}))["items"][0]
    clash = await acts.refused(
        "funnels.redirects_create",
        {"domain": seeded["domain"], "path": seeded["path"], "target": "https://elsewhere.example",
         "action": "url"},
    )  # fmt: skip
    assert clash.code == "conflict" and clash.details["redirectId"] == seeded["id"]
    assert await acts.invalid(
        "funnels.redirects_create",
        {"domain": "a.example", "path": "/x", "target": "https://b.example", "action": "page"},
    ) == ["action"]
    assert await acts.invalid("funnels.redirects_list", {"limit": 20_000}) == ["limit"]
    missing = await acts.refused(
        "funnels.redirects_update",
        {"redirectId": "noredirect0000000001", "target": "https://b.example", "action": "url"},
    )
    assert missing.code == "not_found"
    assert await acts.invalid("funnels.redirects_update", {"redirectId": seeded["id"]}) == [
        "target",
        "action",
    ]
    gone = await acts.refused("funnels.redirects_delete", {"redirectId": "noredirect0000000001"})
    assert gone.code == "not_found"
