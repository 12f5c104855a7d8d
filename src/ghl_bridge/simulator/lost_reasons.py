"""`GET /opportunities/lost-reason`: a location's reasons for marking an opportunity lost.

GHL has no public API to create lost reasons, so they come from the seed (`seed_crm`), one of
them soft-deleted. The query follows the spec: `deleted` (default false) picks live or deleted
reasons, `name` matches a whole name and `query` part of one (both case-insensitive),
`skip`/`limit` page in creation order, and `total` is only counted when `getCount=true` (what
the parameter's name implies; no capture shows either way).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import query_bool, query_int, query_location, slice_page

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
MAX_LIMIT = 100
_VIEW = ("id", "name", "locationId", "createdAt", "updatedAt")


def _wanted(call: Call, reason: Record, deleted: bool) -> bool:
    if bool(reason.get("deleted")) != deleted:
        return False
    name = str(reason["name"]).casefold()
    exact = (call.query("name") or "").strip().casefold()
    part = (call.query("query") or "").strip().casefold()
    return (not exact or name == exact) and (not part or part in name)


async def get_lost_reasons(call: Call) -> Response:
    location_id = query_location(call)
    deleted = bool(query_bool(call, "deleted"))
    skip = query_int(call, "skip", 0, 0)
    limit = query_int(call, "limit", 100, 1, MAX_LIMIT)
    found = [
        r for r in call.state.location_records("lost_reasons", location_id)
        if _wanted(call, r, deleted)
    ]  # fmt: skip
    page = [{key: r[key] for key in _VIEW} for r in slice_page(found, skip, limit)]
    answer: Record = {"lostReasons": page}
    if query_bool(call, "getCount"):
        answer["total"] = len(found)
    return call.respond(answer)


ENDPOINTS = [Endpoint("get-lost-reason", get_lost_reasons)]
