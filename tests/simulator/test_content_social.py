"""Social planner: accounts, post lifecycle and scheduling, the list's filters and skip/limit,
bulk delete, statistics computed from the posts, and spec conformance of the post bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from ghl_bridge.client.catalog import load_catalog
from tests.simulator.conftest import FakeClock, SimClient

EVER = {"fromDate": "2020-01-01T00:00:00.000Z", "toDate": "2040-01-01T00:00:00.000Z"}


def base(sim: SimClient, location: str | None = None) -> str:
    return f"/social-media-posting/{location or sim.location_id}"


async def accounts(sim: SimClient) -> dict[str, dict[str, Any]]:
    resp = await sim.call("GET", f"{base(sim)}/accounts")
    return {a["platform"]: a for a in resp.json()["results"]["accounts"]}


async def post(sim: SimClient, *platforms: str, **fields: Any) -> Any:
    found = await accounts(sim)
    body = {"accountIds": [found[p]["id"] for p in platforms or ("facebook",)], "type": "post",
            "userId": "u" * 20, "summary": "Hello", **fields}  # fmt: skip
    return await sim.call("POST", f"{base(sim)}/posts", json=body)


async def listing(sim: SimClient, **fields: Any) -> dict[str, Any]:
    body = {"skip": "0", "limit": "50", "includeUsers": "false", **EVER, **fields}
    resp = await sim.call("POST", f"{base(sim)}/posts/list", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["results"])


def _relaxed(node: Any) -> Any:
    """The spec with its one artefact undone: a bare `{"type": "object"}` (enums) is any value."""
    if isinstance(node, list):
        return [_relaxed(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node == {"type": "object"}:
        return {}
    return {key: _relaxed(value) for key, value in node.items()}


def assert_conforms(op_id: str, resp: Any) -> None:
    schema = load_catalog().response_schema(op_id, resp.status_code)
    errors = list(jsonschema.Draft202012Validator(_relaxed(schema)).iter_errors(resp.json()))
    assert errors == [], [e.message for e in errors]


async def test_accounts_and_groups(sim: SimClient) -> None:
    resp = await sim.call("GET", f"{base(sim)}/accounts")
    body = resp.json()
    assert (body["success"], body["statusCode"], body["message"]) == (True, 200, "Fetched Accounts")
    found = body["results"]["accounts"]
    assert [a["platform"] for a in found] == ["facebook", "instagram", "google"]
    assert all(a["id"] == f"{a['oauthId']}_{sim.location_id}_{a['profileId']}" for a in found)
    assert body["results"]["groups"][0]["accountIds"] == [a["id"] for a in found]
    assert (
        await sim.call("GET", f"{base(sim, sim.other_location_id)}/accounts")
    ).status_code == 403


async def test_post_lifecycle_conforms_to_the_spec(sim: SimClient) -> None:
    made = await post(sim, "facebook", "instagram", tags=["spring"])
    assert made.status_code == 201, made.text
    assert_conforms("create-post", made)
    created = made.json()["results"]["post"]
    assert (created["status"], created["platform"], len(created["accountIds"])) == (
        "published", "facebook", 2,
    )  # fmt: skip
    path = f"{base(sim)}/posts/{created['_id']}"
    got = await sim.call("GET", path)
    assert_conforms("get-post", got)
    assert got.json()["results"]["post"] == created
    edited = await sim.call("PUT", path, json={"type": "reel", "summary": "Changed"})
    assert edited.json() == {**edited.json(), "success": True, "message": "Updated Post"}
    after = (await sim.call("GET", path)).json()["results"]["post"]
    assert (after["type"], after["summary"], after["accountIds"]) == (
        "reel", "Changed", created["accountIds"],
    )  # fmt: skip
    listed = await sim.call(
        "POST", f"{base(sim)}/posts/list",
        json={"skip": "0", "limit": "3", "includeUsers": "true", **EVER},
    )  # fmt: skip
    assert_conforms("get-posts", listed)
    deleted = await sim.call("DELETE", path)
    assert deleted.json()["results"] == {"postId": created["_id"]}
    gone = await sim.call("GET", path)
    assert (gone.status_code, gone.json()["message"]) == (400, "Post not found")


async def test_scheduled_posts_publish_when_their_time_comes(
    sim: SimClient, clock: FakeClock
) -> None:
    soon = datetime.fromtimestamp(clock.now + 3600, tz=UTC).isoformat()
    made = (await post(sim, scheduleDate=soon)).json()["results"]["post"]
    assert (made["status"], "publishedAt" in made) == ("scheduled", False)
    draft = (await post(sim, status="draft")).json()["results"]["post"]
    assert draft["status"] == "draft"
    path = f"{base(sim)}/posts/{made['_id']}"
    clock.advance(3601)
    published = (await sim.call("GET", path)).json()["results"]["post"]
    assert published["status"] == "published"
    assert published["publishedAt"] == published["displayDate"] == made["displayDate"]


async def test_list_filters_and_pages_with_string_skip_and_limit(sim: SimClient) -> None:
    seeded = await listing(sim)
    assert seeded["count"] == 6 and {p["status"] for p in seeded["posts"]} == {
        "published", "scheduled", "draft",
    }  # fmt: skip
    dates = [p["displayDate"] for p in seeded["posts"]]
    assert dates == sorted(dates, reverse=True)
    assert (await listing(sim, type="draft"))["count"] == 1
    assert (await listing(sim, type="scheduled"))["count"] == 1
    instagram = (await accounts(sim))["instagram"]["id"]
    only_ig = await listing(sim, accounts=f" {instagram} ,unknown")
    assert only_ig["count"] == 2 and all(instagram in p["accountIds"] for p in only_ig["posts"])
    window = await listing(
        sim, fromDate="2026-03-04T00:00:00Z", toDate="2026-03-09T00:00:00Z", type="published"
    )
    assert window["count"] == 2
    page = await listing(sim, skip="2", limit="2")
    assert [p["_id"] for p in page["posts"]] == [p["_id"] for p in seeded["posts"][2:4]]
    assert (await listing(sim, postType="story"))["count"] == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"skip": 0}, "skip must be a string"),
        ({"limit": "ten"}, "limit must be a number string"),
        ({"type": "everything"}, "type must be one of the following values: recent, all, "
                                 "scheduled, draft, failed, in_review, published, in_progress, "
                                 "deleted"),
        ({"fromDate": "yesterday"}, "fromDate must be a valid ISO 8601 date string"),
        ({"includeUsers": "yes"}, "includeUsers must be a boolean string"),
        ({"fromDate": None}, "fromDate should not be empty"),
    ],
)  # fmt: skip
async def test_bad_list_bodies_are_422(
    sim: SimClient, fields: dict[str, Any], message: str
) -> None:
    body = {"skip": "0", "limit": "5", "includeUsers": "false", **EVER, **fields}
    resp = await sim.call("POST", f"{base(sim)}/posts/list", json=body)
    assert resp.status_code == 422 and message in resp.json()["message"]


async def test_bad_posts_are_refused(sim: SimClient) -> None:
    wrong_type = await post(sim, type="tweet")
    assert wrong_type.json()["message"] == [
        "type must be one of the following values: post, story, reel"
    ]
    no_accounts = await sim.call(
        "POST", f"{base(sim)}/posts", json={"accountIds": [], "type": "post", "userId": "u"}
    )
    assert no_accounts.json()["message"] == ["accountIds should not be empty"]
    theirs = await sim.call("GET", f"{base(sim, sim.other_location_id)}/accounts", token=sim.pit(1))
    foreign = theirs.json()["results"]["accounts"][0]["id"]
    borrowed = await sim.call(
        "POST", f"{base(sim)}/posts", json={"accountIds": [foreign], "type": "post", "userId": "u"}
    )
    assert borrowed.status_code == 400
    unscheduled = await post(sim, status="scheduled")
    assert unscheduled.json()["message"] == ["scheduleDate should not be empty"]
    missing = await sim.call("POST", f"{base(sim)}/posts", json={"type": "post"})
    assert {"accountIds should not be empty", "userId should not be empty"} <= set(
        missing.json()["message"]
    )


async def test_bulk_delete(sim: SimClient) -> None:
    ids = [(await post(sim)).json()["results"]["post"]["_id"] for _ in range(3)]
    path = f"{base(sim)}/posts/bulk-delete"
    too_many = await sim.call("POST", path, json={"postIds": [f"p{n}" for n in range(51)]})
    assert (too_many.status_code, too_many.json()["message"]) == (
        400, "Cannot delete more than 50 posts at a time.",
    )  # fmt: skip
    none = await sim.call("POST", path, json={"postIds": ["nope"]})
    assert (none.status_code, none.json()["message"]) == (404, "No posts found with the given IDs.")
    # Another location's planner cannot delete ours, even naming our ids.
    other = f"{base(sim, sim.other_location_id)}/posts/bulk-delete"
    assert (
        await sim.call("POST", other, json={"postIds": ids}, token=sim.pit(1))
    ).status_code == 404
    done = await sim.call("POST", path, json={"postIds": [*ids[:2], ids[0], "nope"]})
    assert done.status_code == 201
    assert done.json()["results"] == {"message": "Posts deleted successfully", "deletedCount": 2}
    left = {p["_id"] for p in (await listing(sim))["posts"]}
    assert ids[2] in left and not left & set(ids[:2])


async def stats(sim: SimClient, **body: Any) -> Any:
    return await sim.call(
        "POST",
        "/social-media-posting/statistics",
        params={"locationId": sim.location_id},
        json=body,
    )


async def test_statistics_compare_this_week_with_the_last(sim: SimClient, clock: FakeClock) -> None:
    found = await accounts(sim)
    profiles = [a["profileId"] for a in found.values()]
    await post(sim, "facebook")
    await post(sim, "facebook", "instagram")
    clock.advance(7 * 86_400)
    await post(sim, "facebook")
    resp = await stats(sim, profileIds=profiles)
    assert resp.status_code == 201
    assert_conforms("get-social-media-statistics", resp)
    results = resp.json()["results"]
    posts = results["breakdowns"]["posts"]
    assert (posts["total"], posts["totalChange"]) == (1, -66.67)
    assert posts["platforms"]["facebook"] == {"value": 1, "change": -50.0}
    assert posts["platforms"]["instagram"] == {"value": 0, "change": -100.0}
    assert posts["platforms"]["google"] == {"value": 0, "change": 0.0}
    assert results["postPerformance"]["posts"]["facebook"][-1] == 1
    assert results["totals"]["posts"] == 1
    assert results["totals"]["followers"] == sum(
        results["platformTotals"]["followers"][p]["total"] for p in found
    )
    today = datetime.fromtimestamp(clock.now, tz=UTC).strftime("%a")
    assert len(results["dayRange"]) == 7 and results["dayRange"][-1] == today
    only_fb = (await stats(sim, profileIds=profiles, platforms=["facebook"])).json()["results"]
    assert set(only_fb["breakdowns"]["posts"]["platforms"]) == {"facebook"}


async def test_statistics_read_the_seeded_engagement(sim: SimClient, clock: FakeClock) -> None:
    clock.now = datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()
    profiles = [a["profileId"] for a in (await accounts(sim)).values()]
    results = (await stats(sim, profileIds=profiles)).json()["results"]
    # This week (4-10 March): the seed's second (instagram) and third (facebook) posts.
    assert results["totals"]["impressions"] == 177 + 214
    assert results["breakdowns"]["impressions"]["platforms"]["facebook"] == {
        "value": 214, "change": round((214 - 140) / 140 * 100, 2),
    }  # fmt: skip
    assert results["breakdowns"]["engagement"]["instagram"]["likes"] == 17


async def test_statistics_validate_the_body(sim: SimClient) -> None:
    empty = await stats(sim, profileIds=[])
    assert empty.json()["message"] == ["profileIds must contain at least 1 elements"]
    odd = await stats(sim, profileIds=["x"], platforms=["myspace"])
    assert odd.status_code == 422 and "each value in platforms" in odd.json()["message"][0]
    foreign = await sim.call(
        "POST",
        "/social-media-posting/statistics",
        params={"locationId": sim.other_location_id},
        json={"profileIds": ["x"]},
    )
    assert foreign.status_code == 403
