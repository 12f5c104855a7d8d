"""Sub-accounts (locations): get, create, update, delete, search, and the timezone list.

Create/update/delete/search are agency (Company token) operations. A created location is a real
one: it gets a PIT and works with every location endpoint; `snapshotId` loads a snapshot into it
(`snapshot_push`), as does put-location's `snapshot`. get-location answers `{location: {...}}`;
create/put answer the location flat (spec); search pages by `skip`/`limit` (default 10), sorted
by name (`order` asc|desc; GHL's sort key is undocumented). Events: LocationCreate/Update.
"""

from __future__ import annotations

import copy
import dataclasses
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from starlette.responses import Response

from ghl_bridge.simulator.admin_access import path_location, require_agency
from ghl_bridge.simulator.admin_records import PROFILES
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.location_registry import purge_location, register_location
from ghl_bridge.simulator.nested_dto import validated_nested
from ghl_bridge.simulator.resources import query_bool, query_int
from ghl_bridge.simulator.snapshot_push import push_snapshot
from ghl_bridge.simulator.snapshots import find_snapshot
from ghl_bridge.simulator.state import Location, SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS", "timezone_names"]

Record = dict[str, Any]
DEFAULT_TIMEZONE = "America/Chicago"  # the spec's example; GHL's default is undocumented
_SETTINGS = {
    "allowDuplicateContact": False,
    "allowDuplicateOpportunity": False,
    "allowFacebookNameMerge": False,
    "disableContactTimezone": False,
}
# Body field -> `Location` attribute; the rest of a location lives in its profile record.
_PLACE = {
    "name": "name", "address": "address", "city": "city", "state": "state",
    "postalCode": "postal_code", "country": "country", "timezone": "timezone",
}  # fmt: skip
# The DTOs have no `email`: a location's email comes from `prospectInfo`.
_CONTACT = ("phone", "website")


@cache
def timezone_names() -> list[str]:
    """The IANA zones GHL offers: region/city names, without the legacy aliases."""
    legacy = ("Etc/", "SystemV/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/")
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(legacy))


def _profile(state: SimState, location_id: str) -> Record:
    return state.store(PROFILES).get(location_id, {})


def _flat(state: SimState, location: Location) -> Record:
    """create-location / put-location / search item shape: unset strings omitted."""
    profile = _profile(state, location.id)
    fields = {
        "id": location.id, "companyId": location.company_id, "name": location.name,
        "phone": profile.get("phone"), "email": profile.get("email"),
        "address": location.address, "city": location.city, "state": location.state,
        "country": location.country, "postalCode": location.postal_code,
        "website": profile.get("website"), "timezone": location.timezone,
    }  # fmt: skip
    view: Record = {key: value for key, value in fields.items() if value}
    view["settings"] = {**_SETTINGS, **profile.get("settings", {})}
    view["social"] = dict(profile.get("social", {}))
    return view


def _detail(state: SimState, location: Location) -> Record:
    """get-location shape: the flat fields plus contact person, `business` and `reseller`."""
    view = _flat(state, location)
    profile = _profile(state, location.id)
    view.update({k: profile[k] for k in ("firstName", "lastName", "domain") if profile.get(k)})
    business = {
        "name": location.name, "address": location.address, "city": location.city,
        "state": location.state, "country": location.country,
        "postalCode": location.postal_code, "website": profile.get("website"),
        "timezone": location.timezone,
    }  # fmt: skip
    view["business"] = {key: value for key, value in business.items() if value}
    view["reseller"] = {}
    return view


def _apply(location: Location, profile: Record, body: dict[str, Any]) -> tuple[Location, Record]:
    """`location` and its profile with a create/put body applied (nothing is stored here)."""
    timezone = body.get("timezone")
    if timezone is not None and timezone not in timezone_names():
        raise unprocessable(["timezone must be a valid IANA time zone"])  # wording ours
    changes = {attr: str(body[name]) for name, attr in _PLACE.items() if body.get(name)}
    updated = dataclasses.replace(location, **changes)
    profile = copy.deepcopy(profile)
    profile.update({name: body[name] for name in _CONTACT if body.get(name)})
    prospect = body.get("prospectInfo") or {}
    profile.update({k: prospect[k] for k in ("firstName", "lastName") if k in prospect})
    if prospect.get("email") and not profile.get("email"):
        profile["email"] = prospect["email"]
    for group in ("settings", "social"):
        if body.get(group):
            profile[group] = {**profile.get(group, {}), **body[group]}
    return updated, profile


def _event(state: SimState, location: Location) -> Record:
    view = _flat(state, location)
    return {key: view[key] for key in ("id", "companyId", "name", "email") if key in view}


async def get_location(call: Call) -> Response:
    return call.respond({"location": _detail(call.state, path_location(call))})


async def create_location(call: Call) -> Response:
    body = validated_nested(call)
    require_agency(call, body["companyId"])
    snapshot = find_snapshot(call, body["snapshotId"]) if body.get("snapshotId") else None
    state, now = call.state, call.sim.now()
    draft = Location(state.ids.ghl_id(), "", body["companyId"], "", "", "", "", "US", "")
    location, profile = _apply(draft, {"dateAdded": iso_ms(now)}, body)
    if not location.timezone:
        location = dataclasses.replace(location, timezone=DEFAULT_TIMEZONE)
    register_location(state, location, profile, call.sim.spec.location_scopes())
    if snapshot is not None:
        push_snapshot(state, snapshot, location.id, now, override=False)
    call.emit("LocationCreate", None, _event(state, location))
    return call.respond(_flat(state, location))


async def put_location(call: Call) -> Response:
    body = validated_nested(call)
    require_agency(call, body["companyId"])
    location = path_location(call)
    wanted = body.get("snapshot")
    snapshot = find_snapshot(call, wanted["id"]) if wanted else None
    state = call.state
    updated, profile = _apply(location, _profile(state, location.id), body)
    state.locations[location.id] = updated
    state.store(PROFILES)[location.id] = {**profile, "locationId": location.id}
    if snapshot is not None and wanted is not None:
        override = bool(wanted.get("override"))
        push_snapshot(state, snapshot, location.id, call.sim.now(), override)
    call.emit("LocationUpdate", None, _event(state, updated))
    return call.respond(_flat(state, updated))


async def delete_location(call: Call) -> Response:
    if query_bool(call, "deleteTwilioAccount") is None:
        raise unprocessable(["deleteTwilioAccount must be a boolean value"])
    location = path_location(call)
    purge_location(call.state, location.id)
    message = f"Deleted location with id: {location.id}"  # the spec's example wording
    return call.respond({"success": True, "message": message})


async def search_locations(call: Call) -> Response:
    company_id = call.query("companyId") or call.principal.company_id
    require_agency(call, company_id)
    skip = query_int(call, "skip", 0)
    limit = query_int(call, "limit", 10, low=1)
    order = call.query("order") or "asc"
    if order not in ("asc", "desc"):
        raise unprocessable(["order must be one of the following values: asc, desc"])
    state, email = call.state, (call.query("email") or "").casefold()
    found = [
        location
        for location in state.locations.values()
        if location.company_id == company_id
        and (not email or str(_profile(state, location.id).get("email", "")).casefold() == email)
    ]
    found.sort(key=lambda loc: (loc.name.casefold(), loc.id), reverse=order == "desc")
    page = [_flat(state, location) for location in found[skip : skip + limit]]
    return call.respond({"locations": page})


async def get_timezones(call: Call) -> Response:
    # The spec leaves the body undescribed; the key name is ours.
    path_location(call)
    return call.respond({"timeZones": timezone_names()})


ENDPOINTS = [
    Endpoint("get-location", get_location),
    Endpoint("create-location", create_location),
    Endpoint("put-location", put_location),
    Endpoint("delete-location", delete_location),
    Endpoint("search-locations", search_locations),
    Endpoint("get-timezones", get_timezones),
]
