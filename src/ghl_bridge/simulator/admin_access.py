"""Who may touch what in the admin areas: agency-only operations and the path's location.

Several of these operations are company-level in GHL (create/search locations, search/create
users, snapshots) even where the spec also lists `Location-Access`; a location token there gets
the same 401 the gate gives a wrong token class (research/ghl-wire-facts.md §3.6), and an agency
token for another company a 403.
"""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator.auth import AUTH_CLASS_MESSAGE, require_company
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unauthorized
from ghl_bridge.simulator.resources import required_query
from ghl_bridge.simulator.state import Location, Token

__all__ = ["path_location", "path_record", "query_company", "require_agency"]

Record = dict[str, Any]


def require_agency(call: Call, company_id: str | None) -> Token:
    """The call's token, if it is the agency's (Company) token for `company_id`."""
    token = call.principal
    if token.user_type != "Company":
        pit = token.kind == "pit"
        raise unauthorized("Token's user type mismatch!" if pit else AUTH_CLASS_MESSAGE)
    require_company(call.state, token, company_id)
    return token


def query_company(call: Call) -> str:
    """The required `companyId` query parameter of an agency-only operation (422, 401, 403)."""
    company_id = required_query(call, "companyId")
    require_agency(call, company_id)
    return company_id


def path_location(call: Call) -> Location:
    """The `{locationId}` of the path: 403 for another location's token, 400 if unknown."""
    location_id = call.param("locationId")
    call.require_location(location_id)
    location = call.state.locations.get(location_id)
    if location is None:
        # Wording ours: GHL's text for a missing location is unrecorded.
        raise bad_request(f"Location with id {location_id} not found")
    return location


def path_record(call: Call, kind: str, param: str, label: str) -> tuple[Location, Record]:
    """A record addressed as `/locations/{locationId}/<kind>/{param}`; 400 if it is not there
    (also when it belongs to another location: the path names the location to look in)."""
    location = path_location(call)
    record_id = call.param(param)
    record = call.state.store(kind).get(record_id)
    if record is None or record.get("locationId") != location.id:
        raise bad_request(f"{label} with id {record_id} not found")
    return location, record
