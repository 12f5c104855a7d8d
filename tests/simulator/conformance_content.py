"""Conformance walk for the content areas: every implemented operation hit at least once.

The social planner's post bodies are exceptions only because the spec types `type`/`status` as
objects; tests/simulator/test_content_social.py still validates them against the spec with that
one artefact relaxed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.simulator.conformance_areas import Hitter
from tests.simulator.conftest import SimClient

AREAS: tuple[str, ...] = ("links", "funnels", "forms", "surveys", "social-media-posting", "emails")
_POST_TYPING = (
    "the spec types a post's `type` and `status` as objects (a generator artefact for enums); "
    "GHL sends the strings its own descriptions list ('post', 'published')"
)
WIRE_EXCEPTIONS: dict[str, str] = {
    "getFunnels": "the spec types `funnels` as one object; GHL answers with an array of funnels "
    "(integrators iterate it) next to `count` and `traceId`",
    "getPagesByFunnelId": "GHL answers with a bare array of page objects (observed live; the spec "
    "shows one page); the simulator wraps it as {data, traceId}",
    "get-posts": _POST_TYPING,
    "get-post": _POST_TYPING,
    "create-post": _POST_TYPING,
}


@dataclass
class _AsSecondLocation:
    """Calls as the second seeded location: the walks before this one spend most of the first
    location's 100-requests-per-10-seconds budget, and the test's clock does not move."""

    rec: Hitter
    token: str

    async def hit(self, op_id: str, path: str, **kwargs: Any) -> Any:
        return await self.rec.hit(op_id, path, token=self.token, **kwargs)


async def exercise(rec: Hitter, sim: SimClient) -> None:
    """Hit each operation these areas implement."""
    location, rec = sim.other_location_id, _AsSecondLocation(rec, sim.pit(1))
    await _links(rec, location)
    await _funnels(rec, location)
    await _forms(rec, location)
    await _social(rec, location)
    await _emails(rec, location)


async def _links(rec: _AsSecondLocation, location: str) -> None:
    query = {"locationId": location}
    await rec.hit("get-links", "/links/", params=query)
    body = {"locationId": location, "name": "Spec link", "redirectTo": "https://spec.test/a"}
    link = (await rec.hit("create-link", "/links/", json=body))["link"]
    await rec.hit("get-link-by-id", f"/links/id/{link['id']}", params=query)
    await rec.hit(
        "search-trigger-links",
        "/links/search",
        params={**query, "query": "spec", "skip": 0, "limit": 5},
        headers={"Version": "2021-04-15"},
    )
    update = {"name": "Spec link 2", "redirectTo": "https://spec.test/b"}
    await rec.hit("update-link", f"/links/{link['id']}", json=update)
    await rec.hit("delete-link", f"/links/{link['id']}")


async def _funnels(rec: _AsSecondLocation, location: str) -> None:
    query = {"locationId": location}
    found = await rec.hit("getFunnels", "/funnels/funnel/list", params={**query, "limit": "5"})
    funnel_id = found["funnels"][0]["_id"]
    pages = {**query, "funnelId": funnel_id}
    await rec.hit("getPagesByFunnelId", "/funnels/page", params={**pages, "limit": 10, "offset": 0})
    await rec.hit("getPagesCountByFunnelId", "/funnels/page/count", params=pages)
    body = {"locationId": location, "domain": "spec.example.com", "path": "/Spec",
            "target": "https://spec.test/new", "action": "url"}  # fmt: skip
    made = (await rec.hit("create-redirect", "/funnels/lookup/redirect", json=body))["data"]
    await rec.hit(
        "fetch-redirects-list",
        "/funnels/lookup/redirect/list",
        params={**query, "limit": 10, "offset": 0},
    )
    path = f"/funnels/lookup/redirect/{made['id']}"
    change = {"locationId": location, "target": "https://spec.test/newer", "action": "url"}
    await rec.hit("update-redirect-by-id", path, json=change)
    await rec.hit("delete-redirect-by-id", path, params=query)


async def _forms(rec: _AsSecondLocation, location: str) -> None:
    window = {"locationId": location, "startAt": "2026-01-01", "endAt": "2026-12-31"}
    for family, parent in (("forms", "formId"), ("surveys", "surveyId")):
        listed = await rec.hit(f"get-{family}", f"/{family}/", params={"locationId": location})
        params = {**window, parent: listed[family][0]["id"], "limit": 2}
        await rec.hit(f"get-{family}-submissions", f"/{family}/submissions", params=params)


async def _social(rec: _AsSecondLocation, location: str) -> None:
    base = f"/social-media-posting/{location}"
    accounts = (await rec.hit("get-account", f"{base}/accounts"))["results"]["accounts"]
    body = {"accountIds": [accounts[0]["id"]], "type": "post", "userId": "u" * 20,
            "summary": "Spec post", "media": [{"url": "https://spec.test/i.png", "type": "image"}],
            "tags": ["spec"]}  # fmt: skip
    post = (await rec.hit("create-post", f"{base}/posts", json=body))["results"]["post"]
    listing = {"skip": "0", "limit": "5", "fromDate": "2020-01-01T00:00:00.000Z",
               "toDate": "2040-01-01T00:00:00.000Z", "includeUsers": "false"}  # fmt: skip
    await rec.hit("get-posts", f"{base}/posts/list", json=listing)
    await rec.hit("get-post", f"{base}/posts/{post['_id']}")
    await rec.hit("edit-post", f"{base}/posts/{post['_id']}", json={"type": "post", "summary": "2"})
    stats = {"profileIds": [a["profileId"] for a in accounts], "platforms": ["facebook"]}
    await rec.hit(
        "get-social-media-statistics",
        "/social-media-posting/statistics",
        params={"locationId": location},
        json=stats,
    )
    await rec.hit("delete-post", f"{base}/posts/{post['_id']}")
    other = (await rec.hit("create-post", f"{base}/posts", json=body))["results"]["post"]
    await rec.hit(
        "bulk-delete-social-planner-posts",
        f"{base}/posts/bulk-delete",
        json={"postIds": [other["_id"]]},
    )


async def _emails(rec: _AsSecondLocation, location: str) -> None:
    query = {"locationId": location}
    await rec.hit("fetch-template", "/emails/builder", params={**query, "limit": "5"})
    made = await rec.hit(
        "create-template",
        "/emails/builder",
        json={
            "locationId": location,
            "type": "html",
            "title": "Spec",
            "importProvider": "mailchimp",
        },
    )
    save = {"locationId": location, "templateId": made["redirect"], "updatedBy": "u" * 20,
            "html": "<p>spec</p>", "editorType": "html",
            "dnd": {"elements": [], "attrs": {}, "templateSettings": {}}}  # fmt: skip
    await rec.hit("update-template", "/emails/builder/data", json=save)
    await rec.hit("delete-template", f"/emails/builder/{location}/{made['redirect']}")
    await rec.hit("fetch-campaigns", "/emails/schedule", params=query)
