"""URL redirects of a location's domains (funnels.json `/funnels/lookup/redirect*`).

A redirect is `{id, locationId, domain, path, pathLowercase, type, target, action}` wrapped in
`{data}`; the list is `{data: {count, data: [...]}}` and needs `limit` and `offset` (GHL 422s
without `offset`, observed live). A domain serves one redirect per path, compared
case-insensitively (hence `pathLowercase`): a second one is refused with the 422 the spec
declares for this operation. Only `target` and `action` can change afterwards. Domains are
stored bare (no scheme, no trailing slash, lower case) and paths always start with "/".
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.content_records import REDIRECT_KIND, new_redirect
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.funnels import require_queries
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import owned, query_int, query_location, slice_page

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
_VIEW = ("id", "locationId", "domain", "path", "pathLowercase", "type", "target", "action")


def _view(redirect: Record) -> Record:
    return {name: redirect[name] for name in _VIEW}


def _taken(call: Call, candidate: Record) -> bool:
    return any(
        other["domain"] == candidate["domain"]
        and other["pathLowercase"] == candidate["pathLowercase"]
        for other in call.state.location_records(REDIRECT_KIND, candidate["locationId"])
    )


def _owned(call: Call, location_id: str) -> Record:
    redirect = owned(call, REDIRECT_KIND, call.param("id"), "Redirect")
    if redirect["locationId"] != location_id:
        raise bad_request("Redirect not found")  # wording ours
    return redirect


async def list_redirects(call: Call) -> Response:
    require_queries(call, "locationId", "limit", "offset")
    location_id = query_location(call)
    limit = query_int(call, "limit", 0, low=1)
    offset = query_int(call, "offset", 0)
    text = (call.query("search") or "").strip().lower()
    found = [
        redirect
        for redirect in call.state.location_records(REDIRECT_KIND, location_id)
        if text in f"{redirect['domain']}{redirect['path']}".lower()
    ]
    page = [_view(redirect) for redirect in slice_page(found, offset, limit)]
    return call.respond({"data": {"count": len(found), "data": page}})


async def create_redirect(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    redirect = new_redirect(
        call.state.ids.ghl_id(),
        body["locationId"],
        body["domain"],
        body["path"],
        body["target"],
        body["action"],
    )
    if _taken(call, redirect):
        # Wording ours; the spec declares only a 422 for this operation.
        raise unprocessable([f"A redirect for {redirect['domain']}{redirect['path']} exists"])
    call.state.store(REDIRECT_KIND)[redirect["id"]] = redirect
    return call.respond({"data": _view(redirect)})


async def update_redirect(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    redirect = _owned(call, body["locationId"])
    redirect.update(target=body["target"], action=body["action"])
    return call.respond({"data": _view(redirect)})


async def delete_redirect(call: Call) -> Response:
    location_id = query_location(call)
    redirect = _owned(call, location_id)
    del call.state.store(REDIRECT_KIND)[redirect["id"]]
    return call.respond({"data": {"status": "ok"}})


ENDPOINTS = [
    Endpoint("fetch-redirects-list", list_redirects),
    Endpoint("create-redirect", create_redirect),
    Endpoint("update-redirect-by-id", update_redirect),
    Endpoint("delete-redirect-by-id", delete_redirect),
]
