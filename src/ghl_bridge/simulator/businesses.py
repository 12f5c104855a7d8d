"""Businesses (B2B accounts) of a location, and the contacts that belong to one.

A business id is a Mongo ObjectId (research/ghl-facts.md §5.3). The list pages by `skip`/`limit`
(default 100). Create and update answer `{success, buiseness}` (sic: the spec's key), get
answers `{business}`. A contact belongs to a business through its `businessId`; deleting the
business unlinks its contacts. `GET /contacts/business/{businessId}` lists them (`skip`/`limit`,
default 25, `query` matching name, email or phone) with `count` the total. Ids of another
location's businesses are a 403, unknown ids a 400 (wording ours).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.admin_records import BUSINESSES, business
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import owned, query_int, query_location
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS", "created_by"]

Record = dict[str, Any]
_FIELDS = (
    "name", "phone", "email", "website", "address", "city", "state", "postalCode", "country",
)  # fmt: skip
_VIEW = ("id", *_FIELDS, "locationId", "createdBy", "updatedBy", "createdAt", "updatedAt")
_CONTACT_VIEW = (
    "id", "locationId", "firstName", "lastName", "email", "phone", "companyName", "timezone",
    "country", "source", "dateAdded", "customFields", "tags", "businessId", "followers",
)  # fmt: skip


def created_by(call: Call, now: str) -> Record:
    """Who made a change, the way GHL stamps integration writes (as on contacts)."""
    token = call.principal
    return {
        "source": "INTEGRATION",
        "channel": "OAUTH" if token.kind == "oauth" else "PRIVATE_INTEGRATION",
        "sourceId": token.client_id or token.location_id or token.company_id,
        "timestamp": now,
    }


def _view(record: Record) -> Record:
    return {name: record[name] for name in _VIEW if record.get(name) is not None}


def _owned(call: Call) -> Record:
    return owned(call, BUSINESSES, call.param("businessId"), "Business")


async def list_businesses(call: Call) -> Response:
    location_id = query_location(call)
    skip, limit = query_int(call, "skip", 0), query_int(call, "limit", 100, low=1)
    found = call.state.location_records(BUSINESSES, location_id)
    return call.respond({"businesses": [_view(b) for b in found[skip : skip + limit]]})


async def get_business(call: Call) -> Response:
    return call.respond({"business": _view(_owned(call))})


async def create_business(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    if body["locationId"] not in call.state.locations:
        raise bad_request(f"Location with id {body['locationId']} not found")
    now = iso_ms(call.sim.now())
    fields = {name: body[name] for name in _FIELDS if body.get(name) is not None}
    record = business(call.state, body["locationId"], fields, created_by(call, now), now)
    return call.respond({"success": True, "buiseness": _view(record)})


async def update_business(call: Call) -> Response:
    body = call.validated_body()
    record = _owned(call)
    now = iso_ms(call.sim.now())
    for name in (n for n in _FIELDS if n in body):
        if body[name] not in (None, ""):
            record[name] = body[name]
        elif name != "name":  # null clears a field; a business keeps its name
            record.pop(name, None)
    record.update(updatedBy=created_by(call, now), updatedAt=now)
    return call.respond({"success": True, "buiseness": _view(record)})


async def delete_business(call: Call) -> Response:
    record = _owned(call)
    del call.state.store(BUSINESSES)[record["id"]]
    for contact in call.state.location_contacts(record["locationId"]).values():
        if contact.get("businessId") == record["id"]:
            del contact["businessId"]
    return call.respond({"success": True})


def _contact_matches(contact: Record, needle: str) -> bool:
    fields = ("firstName", "lastName", "email", "phone", "companyName")
    return needle in " ".join(str(contact.get(f) or "") for f in fields).casefold()


async def contacts_of_business(call: Call) -> Response:
    location_id = query_location(call)
    skip, limit = query_int(call, "skip", 0), query_int(call, "limit", 25, low=1)
    record = _owned(call)
    if record["locationId"] != location_id:
        raise bad_request(f"Business with id {record['id']} not found")
    needle = (call.query("query") or "").casefold()
    found = [
        {name: contact[name] for name in _CONTACT_VIEW if contact.get(name) is not None}
        for contact in call.state.location_contacts(location_id).values()
        if contact.get("businessId") == record["id"] and _contact_matches(contact, needle)
    ]
    return call.respond({"contacts": found[skip : skip + limit], "count": len(found)})


ENDPOINTS = [
    Endpoint("get-businesses-by-location", list_businesses),
    Endpoint("get-business", get_business),
    Endpoint("create-business", create_business),
    Endpoint("update-business", update_business),
    Endpoint("delete-Business", delete_business),
    Endpoint("get-contacts-by-businessId", contacts_of_business),
]
