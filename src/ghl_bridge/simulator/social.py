"""The social planner (social-media-posting.json): connected accounts and posts.

Answers use the planner's own envelope `{success, statusCode, message, results}` (next to the
`traceId` every answer has). Accounts are seeded (connecting one is an OAuth dance in the UI).
A post targets accounts of its location; it is `published` at once unless it has a
`scheduleDate` (then `scheduled`) or an explicit status such as `draft`. A scheduled post
whose date has passed is published when next read, so time-based tests can move the clock.
`type` and `status` are strings on the wire (`post`, `published`); the spec's `object` typing
is a generator artefact. Deleting is hard (bulk delete caps at 50 ids, 404 when none match).
Engagement numbers live on the post (`_metrics`, never rendered) for the statistics endpoint.
The list's `includeUsers` is checked but attaches nothing: the planner's user lookup is not
simulated.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.content_records import ACCOUNT_KIND, GROUP_KIND, POST_KIND
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import ApiError, bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.timefmt import epoch_ms, iso_ms

__all__ = ["ENDPOINTS", "envelope", "settle"]

Record = dict[str, Any]
POST_TYPES = ("post", "story", "reel")
POST_STATUSES = ("in_progress", "draft", "failed", "published", "scheduled", "in_review",
                 "notification_sent", "deleted")  # fmt: skip
LIST_TYPES = ("recent", "all", "scheduled", "draft", "failed", "in_review", "published",
              "in_progress", "deleted")  # fmt: skip
BULK_DELETE_MAX = 50
_ACCOUNT_VIEW = ("id", "oauthId", "profileId", "name", "platform", "type", "expire", "isExpired",
                 "meta")  # fmt: skip
_PASSED_THROUGH = ("summary", "media", "tags", "categoryId", "followUpComment", "ogTagsDetails",
                   "postApprovalDetails", "tiktokPostDetails", "gmbPostDetails")  # fmt: skip


def envelope(call: Call, message: str, results: Any = None) -> Response:
    """The planner's own answer envelope; `statusCode` repeats the HTTP status (201 or 200)."""
    payload: Record = {"success": True, "statusCode": call.op.status, "message": message}
    if results is not None:
        payload["results"] = results
    return call.respond(payload)


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise unprocessable([f"{name} must be one of the following values: {', '.join(allowed)}"])


def settle(post: Record, now: float) -> Record:
    """Publish a scheduled post whose time has come (GHL's scheduler, done lazily)."""
    due = epoch_ms(post.get("displayDate"))
    if post["status"] == "scheduled" and due is not None and due <= now * 1000:
        post["status"] = "published"
        post["publishedAt"] = post["displayDate"]
    return post


def post_view(post: Record) -> Record:
    return {key: value for key, value in post.items() if key != "_metrics"}


def _path_location(call: Call) -> str:
    location_id = call.param("locationId")
    call.require_location(location_id)
    return location_id


def _owned_post(call: Call, location_id: str) -> Record:
    post = call.state.store(POST_KIND).get(call.param("id"))
    if post is None or post["locationId"] != location_id:
        raise bad_request("Post not found")  # wording ours; GHL's is unrecorded
    return settle(post, call.sim.now())


def _accounts(call: Call, location_id: str, account_ids: Any) -> list[Record]:
    if not isinstance(account_ids, list) or not account_ids:
        raise unprocessable(["accountIds should not be empty"])
    accounts = call.state.store(ACCOUNT_KIND)
    found = [accounts.get(str(account_id)) for account_id in account_ids]
    if any(a is None or a["locationId"] != location_id for a in found):
        raise bad_request("Invalid account id(s) for this location")  # wording ours
    return [a for a in found if a is not None]


def _apply(call: Call, post: Record, body: Record) -> None:
    """Copy the DTO onto `post` and work out its status and dates."""
    now = iso_ms(call.sim.now())
    if "type" in body:
        _one_of("type", body["type"], POST_TYPES)
        post["type"] = body["type"]
    if body.get("accountIds") is not None or "accountIds" not in post:
        accounts = _accounts(call, post["locationId"], body.get("accountIds"))
        post["accountIds"] = [a["id"] for a in accounts]
        post["accountId"], post["platform"] = accounts[0]["id"], accounts[0]["platform"]
    for name in _PASSED_THROUGH:
        if body.get(name) is not None:
            post[name] = body[name]
    if body.get("userId"):
        post["createdBy"] = body["userId"]
    schedule = body.get("scheduleDate")
    if schedule:
        millis = epoch_ms(str(schedule))
        if millis is None:
            raise unprocessable(["scheduleDate must be a valid ISO 8601 date string"])
        post["displayDate"] = iso_ms(millis / 1000)
    status = body.get("status") or ("scheduled" if schedule else post.get("status", "published"))
    _one_of("status", status, POST_STATUSES)
    if status == "scheduled" and not post.get("displayDate"):
        raise unprocessable(["scheduleDate should not be empty"])
    post.setdefault("displayDate", now)
    if status == "published" and post.get("status") != "published":
        post["publishedAt"] = now
    elif status != "published":
        post.pop("publishedAt", None)  # back to draft (or failed...): no longer out there
    post["status"], post["updatedAt"] = status, now


async def get_accounts(call: Call) -> Response:
    location_id = _path_location(call)
    accounts = [
        {name: a[name] for name in _ACCOUNT_VIEW}
        for a in call.state.location_records(ACCOUNT_KIND, location_id)
    ]
    groups = [
        {"id": g["id"], "name": g["name"], "accountIds": g["accountIds"]}
        for g in call.state.location_records(GROUP_KIND, location_id)
    ]
    return envelope(call, "Fetched Accounts", {"accounts": accounts, "groups": groups})


async def create_post(call: Call) -> Response:
    body = call.validated_body()
    location_id = _path_location(call)
    now = iso_ms(call.sim.now())
    post: Record = {"_id": call.state.ids.object_id(), "locationId": location_id,
                    "source": "composer", "error": "", "media": [], "tags": [],
                    "createdAt": now, "_metrics": {}}  # fmt: skip
    _apply(call, post, body)
    settle(post, call.sim.now())
    call.state.store(POST_KIND)[post["_id"]] = post
    return envelope(call, "Created Post", {"post": post_view(post)})


def _in_list(post: Record, body: Record, window: tuple[int, int], accounts: set[str]) -> bool:
    """`type` picks a status (`all` and `recent`: every status but `deleted`)."""
    wanted = body.get("type") or "all"
    if wanted in ("all", "recent"):
        if post["status"] == "deleted":
            return False
    elif post["status"] != wanted:
        return False
    if body.get("postType") and post.get("type") != body["postType"]:
        return False
    if accounts and not accounts & set(post.get("accountIds", ())):
        return False
    return window[0] <= (epoch_ms(post.get("displayDate")) or 0) <= window[1]


def _window(body: Record) -> tuple[int, int]:
    bounds = []
    for name in ("fromDate", "toDate"):
        millis = epoch_ms(str(body[name]))
        if millis is None:
            raise unprocessable([f"{name} must be a valid ISO 8601 date string"])
        bounds.append(millis)
    return bounds[0], bounds[1]


def _skip_limit(body: Record) -> tuple[int, int]:
    """The DTO types both as strings of digits (defaults "0" and "10")."""
    numbers = []
    for name in ("skip", "limit"):
        text = str(body[name]).strip()
        if not text.isdigit():
            raise unprocessable([f"{name} must be a number string"])
        numbers.append(int(text))
    return numbers[0], max(numbers[1], 1)


async def list_posts(call: Call) -> Response:
    body = call.validated_body()
    location_id = _path_location(call)
    _one_of("type", body.get("type") or "all", LIST_TYPES)
    if body.get("postType"):
        _one_of("postType", body["postType"], POST_TYPES)
    if body["includeUsers"] not in ("true", "false"):
        raise unprocessable(["includeUsers must be a boolean string"])
    window, (skip, limit) = _window(body), _skip_limit(body)
    accounts = {a.strip() for a in str(body.get("accounts") or "").split(",") if a.strip()}
    now = call.sim.now()
    found = sorted(
        (
            post
            for post in call.state.location_records(POST_KIND, location_id)
            if _in_list(settle(post, now), body, window, accounts)
        ),
        key=lambda post: str(post["displayDate"]),
        reverse=True,
    )
    posts = [post_view(post) for post in found[skip : skip + limit]]
    return envelope(call, "Fetched Posts", {"posts": posts, "count": len(found)})


async def get_post(call: Call) -> Response:
    post = _owned_post(call, _path_location(call))
    return envelope(call, "Fetched Post", {"post": post_view(post)})


async def edit_post(call: Call) -> Response:
    body = call.validated_body()
    post = _owned_post(call, _path_location(call))
    edited = dict(post)
    _apply(call, edited, body)
    post.update(edited)
    return envelope(call, "Updated Post")


async def delete_post(call: Call) -> Response:
    post = _owned_post(call, _path_location(call))
    del call.state.store(POST_KIND)[post["_id"]]
    return envelope(call, "Deleted Post", {"postId": post["_id"]})


async def bulk_delete(call: Call) -> Response:
    body = call.validated_body() if call.body is not None else {}
    location_id = _path_location(call)
    post_ids = body.get("postIds") or []
    if not post_ids:
        raise unprocessable(["postIds should not be empty"])
    if len(post_ids) > BULK_DELETE_MAX:
        raise bad_request(f"Cannot delete more than {BULK_DELETE_MAX} posts at a time.")
    store = call.state.store(POST_KIND)
    ours = [i for i in dict.fromkeys(post_ids) if isinstance(i, str) and i in store]
    doomed = [i for i in ours if store[i]["locationId"] == location_id]
    if not doomed:
        raise ApiError(404, {"statusCode": 404, "message": "No posts found with the given IDs."})
    for post_id in doomed:
        del store[post_id]
    results = {"message": "Posts deleted successfully", "deletedCount": len(doomed)}
    return envelope(call, "Posts Deleted Successfully", results)


ENDPOINTS = [
    Endpoint("get-account", get_accounts),
    Endpoint("get-posts", list_posts),
    Endpoint("create-post", create_post),
    Endpoint("get-post", get_post),
    Endpoint("edit-post", edit_post),
    Endpoint("delete-post", delete_post),
    Endpoint("bulk-delete-social-planner-posts", bulk_delete),
]
