"""A location's SMS/email/WhatsApp snippets (`/locations/{locationId}/templates`): list, delete.

GHL has no endpoint to create them (research/ghl-facts.md §6), so they come from the seed. The
list requires `originId` (422 without it), filters by `type`, pages by `skip`/`limit` (default
25) and reports `totalCount` across all pages. Deleting is soft, as GHL's `deleted` query flag
implies: `deleted=true` lists the deleted snippets, and a deleted one cannot be deleted again.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.admin_access import path_location, path_record
from ghl_bridge.simulator.admin_records import SNIPPETS
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import SUCCEEDED, query_bool, query_int, required_query

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
KINDS = ("sms", "email", "whatsapp")


def _view(snippet: Record) -> Record:
    return {key: value for key, value in snippet.items() if key != "deleted"}


async def list_templates(call: Call) -> Response:
    required_query(call, "originId")
    deleted = bool(query_bool(call, "deleted"))
    kind = call.query("type")
    if kind and kind not in KINDS:
        raise unprocessable([f"type must be one of the following values: {', '.join(KINDS)}"])
    skip = query_int(call, "skip", 0)
    limit = query_int(call, "limit", 25, low=1)
    location = path_location(call)
    found = [
        snippet
        for snippet in call.state.location_records(SNIPPETS, location.id)
        if snippet["deleted"] == deleted and (not kind or snippet["type"] == kind)
    ]
    page = [_view(snippet) for snippet in found[skip : skip + limit]]
    return call.respond({"templates": page, "totalCount": len(found)})


async def delete_template(call: Call) -> Response:
    _, snippet = path_record(call, SNIPPETS, "id", "Template")
    if snippet["deleted"]:
        raise bad_request(f"Template with id {snippet['id']} not found")
    snippet["deleted"] = True
    return call.respond(SUCCEEDED)


ENDPOINTS = [
    Endpoint("GET-all-or-email-sms-templates", list_templates),
    Endpoint("DELETE-an-email-sms-template", delete_template),
]
