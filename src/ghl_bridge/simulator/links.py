"""Trigger links (links.json): CRUD, plus the skip/limit search on Version 2021-04-15.

A link renders as `{id, name, redirectTo, fieldKey, locationId}`; `fieldKey` is the merge tag
`{{trigger_link.<id>}}` that messages embed (docs examples). `GET /links/` has no paging; the
search pages with `skip`/`limit` (default 20) and matches `query` against name and target. The
spec gives the writes 201 (PUT and DELETE included) and the delete answer `{succeded}`. GHL
exposes no click statistics, so none are kept.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.content_records import LINK_KIND, new_link
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import SUCCEEDED, owned, query_int, query_location, slice_page

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
_VIEW = ("id", "name", "redirectTo", "fieldKey", "locationId")


def _view(link: Record) -> Record:
    return {name: link[name] for name in _VIEW}


def _owned(call: Call) -> Record:
    return owned(call, LINK_KIND, call.param("linkId"), "Link")


async def get_links(call: Call) -> Response:
    location_id = query_location(call)
    links = call.state.location_records(LINK_KIND, location_id)
    return call.respond({"links": [_view(link) for link in links]})


async def search_links(call: Call) -> Response:
    location_id = query_location(call)
    text = (call.query("query") or "").strip().lower()
    skip = query_int(call, "skip", 0)
    limit = query_int(call, "limit", 20, low=1)
    found = [
        link
        for link in call.state.location_records(LINK_KIND, location_id)
        if text in link["name"].lower() or text in link["redirectTo"].lower()
    ]
    return call.respond({"links": [_view(link) for link in slice_page(found, skip, limit)]})


async def get_link(call: Call) -> Response:
    # The id is looked up within the named location: another location's id is simply unknown.
    location_id = query_location(call)
    link = call.state.store(LINK_KIND).get(call.param("linkId"))
    if link is None or link["locationId"] != location_id:
        raise bad_request("Link not found")  # wording ours; GHL's is unrecorded
    return call.respond({"link": _view(link)})


async def create_link(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    link = new_link(call.state.ids.ghl_id(), body["locationId"], body["name"], body["redirectTo"])
    call.state.store(LINK_KIND)[link["id"]] = link
    return call.respond({"link": _view(link)})


async def update_link(call: Call) -> Response:
    body = call.validated_body()
    link = _owned(call)
    link.update(name=body["name"], redirectTo=body["redirectTo"])
    return call.respond({"link": _view(link)})


async def delete_link(call: Call) -> Response:
    link = _owned(call)
    del call.state.store(LINK_KIND)[link["id"]]
    return call.respond(SUCCEEDED)


ENDPOINTS = [
    Endpoint("get-links", get_links),
    Endpoint("search-trigger-links", search_links),
    Endpoint("get-link-by-id", get_link),
    Endpoint("create-link", create_link),
    Endpoint("update-link", update_link),
    Endpoint("delete-link", delete_link),
]
