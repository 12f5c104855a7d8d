"""`POST /social-media-posting/statistics`: the last 7 days against the 7 before, from state.

Computed from the location's published posts on the chosen accounts (`profileIds`, optionally
narrowed by `platforms`): post counts per platform and day, and the engagement each post
carries (`_metrics`: impressions, reach, likes, comments, shares; zero for posts made through
the API). Followers are the accounts' own counts. Days run in UTC and end today (sim clock);
`change` is the percentage change on the previous 7 days (100 when that was zero). GHL also
sends audience demographics, which no post can yield, so they are left out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.content_records import ACCOUNT_KIND, POST_KIND
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import query_location
from ghl_bridge.simulator.social import settle
from ghl_bridge.simulator.timefmt import epoch_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
PLATFORMS = ("facebook", "instagram", "linkedin", "google", "pinterest", "youtube", "tiktok")
DAYS = 7
METRICS = ("impressions", "reach", "likes", "comments", "shares")
_DAY_MS = 86_400_000
# Per platform, per metric ("posts" included): 14 daily values, previous week then this week.
Series = dict[str, dict[str, list[int]]]


def _change(current: float, previous: float) -> float:
    if previous == 0:
        return 100.0 if current else 0.0
    return round((current - previous) / previous * 100, 2)


def _accounts(call: Call, location_id: str, body: Record) -> list[Record]:
    profile_ids = body.get("profileIds")
    if not isinstance(profile_ids, list) or not profile_ids:
        raise unprocessable(["profileIds must contain at least 1 elements"])
    platforms = body.get("platforms") or []
    if any(p not in PLATFORMS for p in platforms):
        allowed = ", ".join(PLATFORMS)
        raise unprocessable([f"each value in platforms must be one of the following values: "
                             f"{allowed}"])  # fmt: skip
    return [
        account
        for account in call.state.location_records(ACCOUNT_KIND, location_id)
        if account["profileId"] in profile_ids
        and (not platforms or account["platform"] in platforms)
    ]


def _series(call: Call, location_id: str, accounts: list[Record], first_ms: int) -> Series:
    """Daily values over the 14 days from `first_ms`, attributed to each targeted account."""
    by_id = {account["id"]: account["platform"] for account in accounts}
    # Every chosen platform shows, even with nothing posted.
    series: Series = {
        platform: {m: [0] * (2 * DAYS) for m in ("posts", *METRICS)} for platform in by_id.values()
    }
    now = call.sim.now()
    for post in call.state.location_records(POST_KIND, location_id):
        published = epoch_ms(settle(post, now).get("publishedAt"))
        if post["status"] != "published" or published is None:
            continue
        day = (published - first_ms) // _DAY_MS
        if not 0 <= day < 2 * DAYS:
            continue
        for account_id in post.get("accountIds", ()):
            if account_id in by_id:
                values = series[by_id[account_id]]
                values["posts"][day] += 1
                for metric in METRICS:
                    values[metric][day] += int(post.get("_metrics", {}).get(metric, 0))
    return series


def _week(values: list[int]) -> tuple[int, int]:
    """(this week, the week before) of a 14-day series."""
    return sum(values[DAYS:]), sum(values[:DAYS])


def _breakdown(series: Series, metric: str) -> Record:
    platforms = {}
    for platform, values in series.items():
        week, before = _week(values[metric])
        platforms[platform] = {"value": week, "change": _change(week, before)}
    total = sum(p["value"] for p in platforms.values())
    before = sum(_week(values[metric])[1] for values in series.values())
    return {"total": total, "totalChange": _change(total, before), "platforms": platforms}


def _engagement(series: Series) -> Record:
    engagement = {}
    for platform, values in series.items():
        week = {m: _week(values[m])[0] for m in ("likes", "comments", "shares")}
        before = sum(_week(values[m])[1] for m in ("likes", "comments", "shares"))
        engagement[platform] = {**week, "change": _change(sum(week.values()), before)}
    return engagement


def _results(series: Series, accounts: list[Record], first_ms: int) -> Record:
    this_week = [first_ms + (DAYS + n) * _DAY_MS for n in range(DAYS)]
    day_names = [datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%a") for ms in this_week]
    followers: dict[str, int] = defaultdict(int)
    for account in accounts:
        followers[account["platform"]] += account.get("_followers", 0)

    def daily(metric: str) -> list[int]:
        return [sum(v[metric][DAYS + n] for v in series.values()) for n in range(DAYS)]

    def per_platform(metric: str) -> Record:
        return {p: {"total": _week(v[metric])[0], "series": v[metric][DAYS:]}
                for p, v in series.items()}  # fmt: skip

    return {
        "dayRange": day_names,
        "totals": {
            "posts": sum(daily("posts")),
            "likes": sum(daily("likes")),
            "followers": sum(followers.values()),
            "impressions": sum(daily("impressions")),
            "comments": sum(daily("comments")),
        },
        "postPerformance": {
            "posts": {p: v["posts"][DAYS:] for p, v in series.items()},
            "impressions": daily("impressions"),
            "likes": daily("likes"),
            "comments": daily("comments"),
        },
        "breakdowns": {
            "posts": _breakdown(series, "posts"),
            "impressions": _breakdown(series, "impressions"),
            "reach": _breakdown(series, "reach"),
            "engagement": _engagement(series),
        },
        "platformTotals": {
            "impressions": per_platform("impressions"),
            "followers": {p: {"total": n, "series": [n] * DAYS} for p, n in followers.items()},
            "likes": per_platform("likes"),
        },
    }


async def get_statistics(call: Call) -> Response:
    body = call.validated_body() if call.body is not None else {}
    location_id = query_location(call)
    accounts = _accounts(call, location_id, body)
    today = datetime.fromtimestamp(call.sim.now(), tz=UTC).date()
    first_day = today - timedelta(days=2 * DAYS - 1)
    first_ms = round(datetime(first_day.year, first_day.month, first_day.day,
                              tzinfo=UTC).timestamp() * 1000)  # fmt: skip
    series = _series(call, location_id, accounts, first_ms)
    results = _results(series, accounts, first_ms)
    return call.respond({"results": results, "message": "Analytics Built Successfully"})


ENDPOINTS = [Endpoint("get-social-media-statistics", get_statistics)]
