"""Seeded social planner data for one location: connected accounts, a group, and posts.

Account ids follow GHL's `<oauthId>_<locationId>_<profileId>` form (spec examples). Posts cover
the planner's states: published ones with engagement numbers (read by the statistics
endpoint), one scheduled far ahead (so it stays scheduled on a real clock) and one draft.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ghl_bridge.simulator.content_records import ACCOUNT_KIND, GROUP_KIND, POST_KIND
from ghl_bridge.simulator.state import Location, SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["seed_social"]

Record = dict[str, Any]
_EPOCH = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
_FAR_AHEAD = datetime(2031, 1, 15, 16, 0, tzinfo=UTC)
_ACCOUNTS = (
    # platform, account type, followers
    ("facebook", "page", 1840),
    ("instagram", "business", 2315),
    ("google", "location", 96),
)
_POSTS = (
    # summary, account index, status
    ("Spring cleaning special: 15% off this week only!", 0, "published"),
    ("Meet the team behind your favourite service.", 1, "published"),
    ("Five tips to get ready for the season.", 0, "published"),
    ("Thank you for 2,000 followers!", 1, "published"),
    ("Our holiday opening hours.", 2, "scheduled"),
    ("Draft: new service announcement", 0, "draft"),
)


def seed_social(state: SimState, location: Location) -> None:
    accounts = [_account(state, location, n, *spec) for n, spec in enumerate(_ACCOUNTS)]
    group: Record = {
        "id": state.ids.ghl_id(),
        "locationId": location.id,
        "name": "All channels",
        "accountIds": [account["id"] for account in accounts],
    }
    state.store(GROUP_KIND)[group["id"]] = group
    for n, (summary, account_index, status) in enumerate(_POSTS):
        _post(state, location, accounts[account_index], n, summary, status)


def _account(
    state: SimState, location: Location, n: int, platform: str, kind: str, followers: int
) -> Record:
    oauth_id = state.ids.object_id()
    profile_id = str(int(state.ids.object_id()[:15], 16))
    account: Record = {
        "id": f"{oauth_id}_{location.id}_{profile_id}",
        "oauthId": oauth_id,
        "profileId": profile_id,
        "name": f"{location.name} ({platform.capitalize()})",
        "platform": platform,
        "type": kind,
        "expire": iso_ms((_EPOCH + timedelta(days=60 + n)).timestamp()),
        "isExpired": False,
        "meta": {"canDelete": True},
        "locationId": location.id,
        "_followers": followers,
    }
    state.store(ACCOUNT_KIND)[account["id"]] = account
    return account


def _post(
    state: SimState, location: Location, account: Record, n: int, summary: str, status: str
) -> None:
    when = _FAR_AHEAD if status == "scheduled" else _EPOCH + timedelta(days=3 * n, hours=n)
    stamp = iso_ms(when.timestamp())
    made = iso_ms((_EPOCH + timedelta(days=3 * n - 1)).timestamp())
    post: Record = {
        "_id": state.ids.object_id(),
        "locationId": location.id,
        "source": "composer",
        "platform": account["platform"],
        "accountId": account["id"],
        "accountIds": [account["id"]],
        "summary": summary,
        "media": [],
        "tags": [],
        "type": "post",
        "status": status,
        "error": "",
        "createdBy": state.agency.user_id,
        "displayDate": stamp,
        "createdAt": made,
        "updatedAt": made,
        "_metrics": {},
    }
    if status == "published":
        post["publishedAt"] = stamp
        post["_metrics"] = {
            "impressions": 140 + 37 * n,
            "reach": 110 + 29 * n,
            "likes": 12 + 5 * n,
            "comments": 2 + n,
            "shares": n,
        }
    state.store(POST_KIND)[post["_id"]] = post
