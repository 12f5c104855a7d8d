"""Agency snapshots: the list, share links and push status (all company-level, agency token).

`get-custom-snapshots` lists own and imported snapshots `{id, name, type}`. A share link is
stored; a `permanent_link` is one stable link per snapshot, so asking again returns it.
`agency_link` needs `relationship_number`, `location_link` needs `share_location_id` (both
comma-separated lists in GHL's DTO). Push history pages by `lastDoc` (the last record's id) and
`limit` within `from`..`to`; pushes come from create-location/put-location (`snapshot_push`).
Unknown snapshots are a 400 like other missing ids (wording ours).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.admin_access import query_company
from ghl_bridge.simulator.admin_records import PUSHES, SHARE_LINKS, SNAPSHOTS
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import query_int, required_query
from ghl_bridge.simulator.snapshot_push import push_progress
from ghl_bridge.simulator.timefmt import epoch_ms, parse_instant_ms

__all__ = ["ENDPOINTS", "find_snapshot"]

Record = dict[str, Any]
SHARE_LINK_BASE = "https://affiliates.gohighlevel.com/?share="  # the spec's example link
_DAY_MS = 86_400_000


def find_snapshot(call: Call, snapshot_id: str) -> Record:
    """The agency's snapshot `snapshot_id`, or 400."""
    snapshot = call.state.store(SNAPSHOTS).get(snapshot_id)
    if snapshot is None or snapshot["companyId"] != call.state.agency.company_id:
        raise bad_request(f"Snapshot with id {snapshot_id} not found")
    return snapshot


async def get_snapshots(call: Call) -> Response:
    company_id = query_company(call)
    snapshots = [
        {"id": s["id"], "name": s["name"], "type": s["type"]}
        for s in call.state.store(SNAPSHOTS).values()
        if s["companyId"] == company_id
    ]
    return call.respond({"snapshots": snapshots})


def _share_targets(body: dict[str, Any]) -> Record:
    """The restriction a share type needs: agencies' relationship numbers or sub-accounts."""
    kind = body["share_type"]
    needs = {"agency_link": "relationship_number", "location_link": "share_location_id"}
    field = needs.get(kind)
    if field is None:
        return {}
    values = [part.strip() for part in str(body.get(field) or "").split(",") if part.strip()]
    if not values:
        raise unprocessable([f"{field} should not be empty"])
    return {field: values}


async def create_share_link(call: Call) -> Response:
    query_company(call)
    body = call.validated_body()
    snapshot = find_snapshot(call, body["snapshot_id"])
    targets = _share_targets(body)
    links = call.state.store(SHARE_LINKS)
    if body["share_type"] == "permanent_link":
        for link in links.values():
            if link["snapshotId"] == snapshot["id"] and link["shareType"] == "permanent_link":
                return call.respond({"id": link["id"], "shareLink": link["shareLink"]})
    link_id = call.state.ids.ghl_id()
    links[link_id] = {
        "id": link_id,
        "snapshotId": snapshot["id"],
        "shareType": body["share_type"],
        "shareLink": f"{SHARE_LINK_BASE}{link_id}",
        **targets,
    }
    return call.respond({"id": link_id, "shareLink": links[link_id]["shareLink"]})


def _bound(call: Call, name: str, end_of_day: bool) -> int:
    """`from`/`to`: ISO-8601 or epoch ms; a bare date `to` covers that whole day."""
    raw = required_query(call, name)
    millis = parse_instant_ms(raw)
    if millis is None:
        raise unprocessable([f"{name} must be a valid ISO 8601 date string"])
    bare_date = len(raw.strip()) == 10 and not raw.strip().isdigit()
    return millis + _DAY_MS - 1 if end_of_day and bare_date else millis


async def get_snapshot_pushes(call: Call) -> Response:
    query_company(call)
    snapshot = find_snapshot(call, call.param("snapshotId"))
    start, end = _bound(call, "from", False), _bound(call, "to", True)
    last = call.query("lastDoc")
    if last is None:  # required, but "" means "from the start"
        raise unprocessable(["lastDoc must be a string"])
    required_query(call, "limit")
    limit = query_int(call, "limit", 10, low=1)
    pushes = sorted(
        (
            p
            for p in call.state.store(PUSHES).values()
            if p["snapshotId"] == snapshot["id"] and start <= (epoch_ms(p["dateAdded"]) or 0) <= end
        ),
        key=lambda p: (p["dateAdded"], p["id"]),
    )
    ids = [p["id"] for p in pushes]
    if last:
        if last not in ids:
            raise bad_request(f"Invalid lastDoc {last}")  # wording ours
        pushes = pushes[ids.index(last) + 1 :]
    now = call.sim.now()
    data = [{**_summary(p, now), "dateAdded": p["dateAdded"]} for p in pushes[:limit]]
    return call.respond({"data": data})


def _summary(push: Record, now: float) -> Record:
    progress = push_progress(push, now)
    return {key: progress[key] for key in ("id", "locationId", "status")}


async def get_latest_push(call: Call) -> Response:
    query_company(call)
    snapshot = find_snapshot(call, call.param("snapshotId"))
    location_id = call.param("locationId")
    pushes = [
        p
        for p in call.state.location_records(PUSHES, location_id)
        if p["snapshotId"] == snapshot["id"]
    ]
    if not pushes:
        raise bad_request(f"No push of snapshot {snapshot['id']} to location {location_id}")
    latest = max(pushes, key=lambda p: (p["startedAt"], p["id"]))
    return call.respond({"data": push_progress(latest, call.sim.now())})


ENDPOINTS = [
    Endpoint("get-custom-snapshots", get_snapshots),
    Endpoint("create-snapshot-share-link", create_share_link),
    Endpoint("get-snapshot-push", get_snapshot_pushes),
    Endpoint("get-latest-snapshot-push", get_latest_push),
]
