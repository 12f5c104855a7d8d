"""Contacts endpoints: create, get, update, delete, upsert, tags, followers, duplicate lookup.

Each location refuses duplicate contacts by email, then phone (GHL's default "Allow Duplicate
Contact" setting): create answers 400 with the existing contact in `meta`, upsert updates the
match instead. Every change emits the matching webhook event (follower changes have none in
webhook-events.json). The deprecated list, `GET /contacts/`, lives in `contact_list`.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.contact_list import ENDPOINTS as LIST_ENDPOINTS
from ghl_bridge.simulator.contact_model import (
    apply_input,
    create_view,
    detail_view,
    event_view,
    normalize_phone,
    normalize_tags,
)
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import ApiError, bad_request, unprocessable
from ghl_bridge.simulator.followers import add_followers, remove_followers
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS", "contact_for_call"]

Contact = dict[str, Any]
# GHL sends both spellings; the spec only knows the misspelt one.
_SUCCEEDED = {"succeded": True, "succeeded": True}


def contact_for_call(call: Call) -> Contact:
    """The path's contact; 400 if it does not exist, 403 if it is another location's."""
    contact_id = call.param("contactId")
    contact = call.state.find_contact(contact_id)
    if contact is None:
        # Real GHL: 400 "Contact with id <id> not found" (quoted by integrators).
        raise bad_request(f"Contact with id {contact_id} not found")
    call.require_location(contact["locationId"])
    return contact


def _duplicate_of(state: SimState, contact: Contact) -> tuple[Contact, str] | None:
    others = [
        c
        for c in state.location_contacts(contact["locationId"]).values()
        if c["id"] != contact["id"]
    ]
    email = (contact.get("email") or "").lower()
    if email:
        for other in others:
            if (other.get("email") or "").lower() == email:
                return other, "email"
    phone = contact.get("phone")
    if phone:
        for other in others:
            if other.get("phone") == phone:
                return other, "phone"
    return None


def _duplicate_error(other: Contact, field: str) -> ApiError:
    # Shape quoted by several integrators (no recorded capture): meta names the existing contact.
    name = " ".join(p for p in (other.get("firstName"), other.get("lastName")) if p)
    return ApiError(
        400,
        {
            "statusCode": 400,
            "message": "This location does not allow duplicated contacts.",
            "meta": {"contactId": other["id"], "contactName": name, "matchingField": field},
        },
    )


def _changed(call: Call, draft: Contact, body: dict[str, Any]) -> Contact:
    """`draft` with `body` applied and dated, or 422 with every problem found."""
    errors = apply_input(draft, body)
    if errors:
        raise unprocessable(errors)
    draft["dateUpdated"] = iso_ms(call.sim.now())
    return draft


def _new_contact(call: Call, location_id: str) -> Contact:
    now = iso_ms(call.sim.now())
    token = call.principal
    location = call.state.locations.get(location_id)
    return {
        "id": call.state.ids.ghl_id(),
        "locationId": location_id,
        "type": "lead",
        "country": location.country if location else "US",
        "tags": [],
        "customFields": [],
        "additionalEmails": [],
        "additionalPhones": [],
        "followers": [],
        "dateAdded": now,
        "dateUpdated": now,
        # `channel` for PITs is a guess; OAuth's is recorded.
        "createdBy": {
            "source": "INTEGRATION",
            "channel": "OAUTH" if token.kind == "oauth" else "PRIVATE_INTEGRATION",
            "sourceId": token.client_id or token.location_id or token.company_id,
            "timestamp": now,
        },
    }


def _emit_changes(call: Call, before: Contact, after: Contact) -> None:
    location_id = after["locationId"]
    call.emit("ContactUpdate", location_id, event_view(after))
    if before.get("tags") != after.get("tags"):
        call.emit("ContactTagUpdate", location_id, event_view(after))
    dnd_before = (before.get("dnd"), before.get("dndSettings"))
    dnd_after = (after.get("dnd"), after.get("dndSettings"))
    if dnd_before != dnd_after:
        fields = {**event_view(after), "dndSettings": after.get("dndSettings", {})}
        call.emit("ContactDndUpdate", location_id, fields)


async def create_contact(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    contact = _changed(call, _new_contact(call, body["locationId"]), body)
    duplicate = _duplicate_of(call.state, contact)
    if duplicate is not None:
        raise _duplicate_error(*duplicate)
    call.state.add_contact(contact)
    call.emit("ContactCreate", contact["locationId"], event_view(contact))
    return call.respond({"contact": create_view(contact)})


async def get_contact(call: Call) -> Response:
    return call.respond({"contact": detail_view(contact_for_call(call))})


async def update_contact(call: Call) -> Response:
    body = call.validated_body()
    contact = contact_for_call(call)
    updated = _changed(call, copy.deepcopy(contact), body)
    duplicate = _duplicate_of(call.state, updated)
    if duplicate is not None:
        raise _duplicate_error(*duplicate)
    call.state.add_contact(updated)
    _emit_changes(call, contact, updated)
    return call.respond({**_SUCCEEDED, "contact": detail_view(updated)})


async def delete_contact(call: Call) -> Response:
    contact = contact_for_call(call)
    call.state.remove_contact(contact)
    call.emit("ContactDelete", contact["locationId"], event_view(contact))
    return call.respond(_SUCCEEDED)


def _upsert_match(state: SimState, location_id: str, body: dict[str, Any]) -> Contact | None:
    """Email first, then phone: the default "Allow Duplicate Contact" priority."""
    contacts = state.location_contacts(location_id).values()
    email = str(body.get("email") or "").strip().lower()
    phone = normalize_phone(body["phone"]) if body.get("phone") else None
    for contact in contacts:
        if email and (contact.get("email") or "").lower() == email:
            return contact
    for contact in contacts:
        if phone and contact.get("phone") == phone:
            return contact
    return None


async def upsert_contact(call: Call) -> Response:
    body = call.validated_body()
    location_id = body["locationId"]
    call.require_location(location_id)
    fields = {k: v for k, v in body.items() if k != "createNewIfDuplicateAllowed"}
    existing = _upsert_match(call.state, location_id, fields)
    if existing is None:
        contact = _changed(call, _new_contact(call, location_id), fields)
        call.state.add_contact(contact)
        call.emit("ContactCreate", location_id, event_view(contact))
        return call.respond({"new": True, **_SUCCEEDED, "contact": detail_view(contact)})
    updated = _changed(call, copy.deepcopy(existing), fields)
    duplicate = _duplicate_of(call.state, updated)
    if duplicate is not None:
        # The second identifier belongs to another contact: GHL ignores it to avoid a duplicate.
        field = duplicate[1]
        updated.pop(field, None)
        if existing.get(field) is not None:
            updated[field] = existing[field]
    call.state.add_contact(updated)
    _emit_changes(call, existing, updated)
    return call.respond({"new": False, **_SUCCEEDED, "contact": detail_view(updated)})


async def add_tags(call: Call) -> Response:
    body = call.validated_body()
    contact = contact_for_call(call)
    added = [tag for tag in normalize_tags(body["tags"]) if tag not in contact["tags"]]
    if added:
        contact["tags"] = [*contact["tags"], *added]
        contact["dateUpdated"] = iso_ms(call.sim.now())
        call.emit("ContactTagUpdate", contact["locationId"], event_view(contact))
    return call.respond({"tags": contact["tags"], "tagsAdded": added})


async def remove_tags(call: Call) -> Response:
    body = call.validated_body()
    contact = contact_for_call(call)
    removing = set(normalize_tags(body["tags"]))
    kept = [tag for tag in contact["tags"] if tag not in removing]
    if kept != contact["tags"]:
        contact["tags"] = kept
        contact["dateUpdated"] = iso_ms(call.sim.now())
        call.emit("ContactTagUpdate", contact["locationId"], event_view(contact))
    return call.respond({"tags": kept})


async def add_contact_followers(call: Call) -> Response:
    body = call.validated_body()
    contact = contact_for_call(call)
    followers, added = add_followers(contact.get("followers", []), body["followers"])
    if added:
        contact.update(followers=followers, dateUpdated=iso_ms(call.sim.now()))
    return call.respond({"followers": followers, "followersAdded": added})


async def remove_contact_followers(call: Call) -> Response:
    body = call.validated_body()
    contact = contact_for_call(call)
    followers, removed = remove_followers(contact.get("followers", []), body["followers"])
    if removed:
        contact.update(followers=followers, dateUpdated=iso_ms(call.sim.now()))
    return call.respond({"followers": followers, "followersRemoved": removed})


async def get_duplicate(call: Call) -> Response:
    location_id = call.query("locationId")
    if not location_id:
        raise unprocessable(["locationId should not be empty"])
    call.require_location(location_id)
    lookup = {"email": call.query("email"), "phone": call.query("number")}
    match = _upsert_match(call.state, location_id, lookup)
    return call.respond({"contact": detail_view(match) if match else None})


ENDPOINTS = [
    Endpoint("create-contact", create_contact),
    Endpoint("get-contact", get_contact),
    Endpoint("update-contact", update_contact),
    Endpoint("delete-contact", delete_contact),
    Endpoint("upsert-contact", upsert_contact),
    Endpoint("add-tags", add_tags),
    Endpoint("remove-tags", remove_tags),
    Endpoint("get-duplicate-contact", get_duplicate),
    Endpoint("add-followers-contact", add_contact_followers),
    Endpoint("remove-followers-contact", remove_contact_followers),
    *LIST_ENDPOINTS,
]
