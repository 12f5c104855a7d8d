"""Funnels and websites with their pages (funnels.json): seeded and read-only, as in GHL.

v2 has no endpoint to build a funnel, so these come from the seed. The list answers
`{funnels: [...], count, traceId}` with `count` the total before `offset`/`limit` (the spec calls
`funnels` an object; integrators iterate it). Pages need `limit` and `offset` (GHL 422s without
them, observed live). GHL answers the page list with a bare JSON array (observed live; the spec
shows one page object); the simulator wraps that array as `{data, traceId}` because every
simulated 2xx carries a `traceId`, and `{data: [...]}` is how our client surfaces a bare array.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.content_records import FUNNEL_KIND, PAGE_KIND
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import (
    query_int,
    query_location,
    required_query,
    slice_page,
)

__all__ = ["ENDPOINTS", "require_queries"]

Record = dict[str, Any]
_PAGE_VIEW = ("_id", "locationId", "funnelId", "name", "stepId", "deleted", "updatedAt")


def _matches(record: Record, call: Call, *filters: str) -> bool:
    """Exact match on each filter given in the query; `name` is a case-insensitive substring."""
    for name in filters:
        wanted = call.query(name)
        if not wanted:
            continue
        if name == "name":
            if wanted.lower() not in str(record.get("name", "")).lower():
                return False
        elif str(record.get(name) or "") != wanted:
            return False
    return True


def require_queries(call: Call, *names: str) -> None:
    """422 naming every missing one at once, as NestJS validates the whole query DTO."""
    missing = [name for name in names if not (call.query(name) or "").strip()]
    if missing:
        raise unprocessable([f"{name} should not be empty" for name in missing])


def _funnel(call: Call, location_id: str) -> Record:
    funnel_id = required_query(call, "funnelId")
    funnel = call.state.store(FUNNEL_KIND).get(funnel_id)
    if funnel is None or funnel["locationId"] != location_id:
        raise bad_request("Funnel not found")  # wording ours; GHL's is unrecorded
    return funnel


def _pages(call: Call, location_id: str, funnel: Record) -> list[Record]:
    return [
        page
        for page in call.state.location_records(PAGE_KIND, location_id)
        if page["funnelId"] == funnel["_id"] and _matches(page, call, "name")
    ]


async def get_funnels(call: Call) -> Response:
    location_id = query_location(call)
    offset = query_int(call, "offset", 0)
    limit = query_int(call, "limit", 10, low=1)
    found = [
        funnel
        for funnel in call.state.location_records(FUNNEL_KIND, location_id)
        if _matches(funnel, call, "type", "category", "parentId", "name")
    ]
    page = [dict(funnel) for funnel in slice_page(found, offset, limit)]
    return call.respond({"funnels": page, "count": len(found)})


async def get_pages(call: Call) -> Response:
    require_queries(call, "locationId", "funnelId", "limit", "offset")
    location_id = query_location(call)
    funnel = _funnel(call, location_id)
    limit = query_int(call, "limit", 0, low=1)
    offset = query_int(call, "offset", 0)
    pages = slice_page(_pages(call, location_id, funnel), offset, limit)
    return call.respond({"data": [{name: page[name] for name in _PAGE_VIEW} for page in pages]})


async def count_pages(call: Call) -> Response:
    require_queries(call, "locationId", "funnelId")
    location_id = query_location(call)
    funnel = _funnel(call, location_id)
    return call.respond({"count": len(_pages(call, location_id, funnel))})


ENDPOINTS = [
    Endpoint("getFunnels", get_funnels),
    Endpoint("getPagesByFunnelId", get_pages),
    Endpoint("getPagesCountByFunnelId", count_pages),
]
