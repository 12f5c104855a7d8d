"""Social planner actions against the simulator's seeded accounts and posts: each succeeds on
good input and fails clearly on bad input or at GHL."""

from __future__ import annotations

from typing import Any

from tests.contract.actions.conftest import Acts

USER = "planneruser000000001"
FAR = "2031-01-15T16:00:00+00:00"  # the seed's scheduled post is due then
WINDOW = {"fromDate": "2020-01-01T00:00:00Z", "toDate": "2040-01-01T00:00:00Z"}


async def _accounts(acts: Acts) -> list[dict[str, Any]]:
    out = await acts.run("social.accounts_list", {})
    return out["accounts"]  # type: ignore[no-any-return]


async def _post(acts: Acts, **fields: Any) -> dict[str, Any]:
    account_id = (await _accounts(acts))[0]["id"]
    body = {"accountIds": [account_id], "userId": USER, "summary": "Hello", **fields}
    out = await acts.run("social.posts_create", body)
    return out["post"]  # type: ignore[no-any-return]


async def test_accounts_and_groups(acts: Acts) -> None:
    out = await acts.run("social.accounts_list", {})
    platforms = {a["platform"] for a in out["accounts"]}
    assert platforms == {"facebook", "instagram", "google"}
    assert all(a["id"] and a["profileId"] for a in out["accounts"])
    assert out["groups"][0]["accountIds"] == [a["id"] for a in out["accounts"]]
    assert await acts.invalid("social.accounts_list", {"platform": "x"}) == ["platform"]


async def test_schedule_a_post_and_find_it(acts: Acts) -> None:
    media = [{"url": "https://cdn.example.com/a.png", "type": "image/png"}]
    post = await _post(acts, media=media, scheduleDate="2030-06-01T09:30:00+02:00", tags=["x"])
    assert post["status"] == "scheduled" and post["displayDate"].startswith("2030-06-01T07:30")
    assert post["media"][0]["url"] == media[0]["url"] and post["createdBy"] == USER
    scheduled = await acts.run("social.posts_list", {**WINDOW, "status": "scheduled"})
    assert post["id"] in {p["id"] for p in scheduled["items"]}
    assert {p["status"] for p in scheduled["items"]} == {"scheduled"}
    draft = await _post(acts, status="draft", summary="Later")
    assert draft["status"] == "draft" and "publishedAt" not in draft


async def test_create_refusals(acts: Acts) -> None:
    account_id = (await _accounts(acts))[0]["id"]
    base = {"accountIds": [account_id], "userId": USER, "summary": "Hi"}
    assert await acts.invalid("social.posts_create", {**base, "userId": None}) == ["userId"]
    assert await acts.invalid("social.posts_create", {**base, "accountIds": []}) == ["accountIds"]
    assert await acts.invalid("social.posts_create", {**base, "summary": None}) == ["(root)"]
    assert await acts.invalid("social.posts_create", {**base, "status": "scheduled"}) == ["(root)"]
    assert await acts.invalid("social.posts_create", {**base, "scheduleDate": "tomorrow"}) == [
        "scheduleDate"
    ]
    assert await acts.invalid("social.posts_create", {**base, "type": "tweet"}) == ["type"]
    unknown = await acts.refused(
        "social.posts_create", {**base, "accountIds": ["not_an_account_here"]}
    )
    assert unknown.code == "ghl_error" and unknown.status == 400


async def test_list_pages_filters_and_truncates(acts: Acts) -> None:
    every = await acts.run("social.posts_list", WINDOW)
    assert every["count"] == 6 and every["truncated"] is False  # the seed's posts
    dates = [p["displayDate"] for p in every["items"]]
    assert dates == sorted(dates, reverse=True)
    three = await acts.run("social.posts_list", {**WINDOW, "limit": 3})
    assert (three["count"], three["truncated"]) == (3, True)
    assert [p["id"] for p in three["items"]] == [p["id"] for p in every["items"][:3]]
    instagram = next(a for a in await _accounts(acts) if a["platform"] == "instagram")
    mine = await acts.run("social.posts_list", {**WINDOW, "accountIds": [instagram["id"]]})
    assert mine["count"] == 2 and all(instagram["id"] in p["accountIds"] for p in mine["items"])
    drafts = await acts.run("social.posts_list", {**WINDOW, "status": "draft", "postType": "post"})
    assert [p["status"] for p in drafts["items"]] == ["draft"]
    assert await acts.invalid("social.posts_list", {"fromDate": WINDOW["fromDate"]}) == ["toDate"]
    assert await acts.invalid("social.posts_list", {**WINDOW, "status": "pending"}) == ["status"]


async def test_update_keeps_content_and_reschedules(acts: Acts) -> None:
    post = await _post(acts, scheduleDate="2030-06-01T09:30:00Z", tags=["keep"])
    moved = await acts.run(
        "social.posts_update", {"postId": post["id"], "scheduleDate": "2030-07-01T10:00:00Z"}
    )
    assert moved["post"]["displayDate"].startswith("2030-07-01T10:00")
    assert (moved["post"]["summary"], moved["post"]["tags"]) == ("Hello", ["keep"])
    drafted = await acts.run(
        "social.posts_update", {"postId": post["id"], "status": "draft", "summary": "Rethink"}
    )
    assert (drafted["post"]["status"], drafted["post"]["summary"]) == ("draft", "Rethink")
    assert await acts.invalid("social.posts_update", {"postId": post["id"]}) == ["(root)"]
    missing = await acts.refused(
        "social.posts_update", {"postId": "000000000000000000000000", "summary": "x"}
    )
    assert missing.code == "not_found"


async def test_delete(acts: Acts) -> None:
    post = await _post(acts, status="draft")
    gone = await acts.run("social.posts_delete", {"postId": post["id"]})
    assert gone == {"id": post["id"], "deleted": True}
    left = await acts.run("social.posts_list", WINDOW)
    assert post["id"] not in {p["id"] for p in left["items"]}
    again = await acts.refused("social.posts_delete", {"postId": post["id"]})
    assert again.code == "not_found"
    assert await acts.invalid("social.posts_delete", {}) == ["postId"]


async def test_statistics(acts: Acts) -> None:
    await _post(acts, summary="Out now")  # no date, no status: published at once
    every = await acts.run("social.statistics", {})
    accounts = await _accounts(acts)
    assert sorted(every["profileIds"]) == sorted(a["profileId"] for a in accounts)
    assert every["statistics"]["totals"]["posts"] >= 1
    assert every["statistics"]["totals"]["followers"] == 1840 + 2315 + 96
    facebook = await acts.run(
        "social.statistics",
        {"profileIds": [a["profileId"] for a in accounts], "platforms": ["facebook"]},
    )
    assert set(facebook["statistics"]["breakdowns"]["posts"]["platforms"]) == {"facebook"}
    assert await acts.invalid("social.statistics", {"platforms": ["myspace"]}) == ["platforms/0"]
    assert await acts.invalid("social.statistics", {"profileIds": []}) == ["profileIds"]
    typo = await acts.refused("social.statistics", {"platform": ["facebook"]})
    assert typo.code == "validation_error"
