"""A location's tag catalogue: list, get, create, rename, delete.

GHL keeps tag names trimmed and lower-cased (as on contacts) and unique per location, so
creating a tag, or renaming one, to a name the location already has is a 400 (wording ours).
The catalogue follows the contacts: a tag a contact carries is in it (GHL adds a tag to the
location when a contact is first tagged), renaming a tag renames it on the location's contacts,
and deleting one takes it off them.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.admin_access import path_location, path_record
from ghl_bridge.simulator.admin_records import TAGS, tag
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import SUCCEEDED
from ghl_bridge.simulator.state import SimState

__all__ = ["ENDPOINTS", "sync_catalogue"]

Record = dict[str, Any]


def sync_catalogue(state: SimState, location_id: str) -> list[Record]:
    """The location's tags, after adding any its contacts carry that it lacks."""
    tags = state.location_records(TAGS, location_id)
    known = {t["name"] for t in tags}
    for contact in state.location_contacts(location_id).values():
        for name in contact.get("tags", []):
            if name not in known:
                tags.append(tag(state, location_id, name))
                known.add(name)
    return tags


def _view(record: Record) -> Record:
    return {"id": record["id"], "name": record["name"], "locationId": record["locationId"]}


def _name(call: Call, body: dict[str, Any], location_id: str, except_id: str | None = None) -> str:
    name = str(body["name"]).strip().lower()
    if not name:
        raise unprocessable(["name should not be empty"])
    for other in sync_catalogue(call.state, location_id):
        if other["name"] == name and other["id"] != except_id:
            raise bad_request(f"Tag with name {name} already exists")
    return name


def _retag(state: SimState, location_id: str, old: str, new: str | None) -> None:
    """Rename (or, with `new` None, remove) a tag on every contact of the location."""
    for contact in state.location_contacts(location_id).values():
        tags = contact.get("tags") or []
        if old not in tags:
            continue
        if new is None:
            contact["tags"] = [t for t in tags if t != old]
        else:
            contact["tags"] = list(dict.fromkeys(new if t == old else t for t in tags))


async def list_tags(call: Call) -> Response:
    location = path_location(call)
    return call.respond({"tags": [_view(t) for t in sync_catalogue(call.state, location.id)]})


async def get_tag(call: Call) -> Response:
    sync_catalogue(call.state, path_location(call).id)
    return call.respond({"tag": _view(path_record(call, TAGS, "tagId", "Tag")[1])})


async def create_tag(call: Call) -> Response:
    body = call.validated_body()
    location = path_location(call)
    record = tag(call.state, location.id, _name(call, body, location.id))
    return call.respond({"tag": _view(record)})


async def update_tag(call: Call) -> Response:
    body = call.validated_body()
    location, record = path_record(call, TAGS, "tagId", "Tag")
    name = _name(call, body, location.id, except_id=record["id"])
    _retag(call.state, location.id, record["name"], name)
    record["name"] = name
    return call.respond({"tag": _view(record)})


async def delete_tag(call: Call) -> Response:
    location, record = path_record(call, TAGS, "tagId", "Tag")
    del call.state.store(TAGS)[record["id"]]
    _retag(call.state, location.id, record["name"], None)
    return call.respond(SUCCEEDED)


ENDPOINTS = [
    Endpoint("get-location-tags", list_tags),
    Endpoint("get-tag-by-id", get_tag),
    Endpoint("create-tag", create_tag),
    Endpoint("update-tag", update_tag),
    Endpoint("delete-tag", delete_tag),
]
