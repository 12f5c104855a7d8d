"""Users of the agency: per location, search, get, create, update, delete.

A user has a `type` (agency|account), a `role` (admin|user) and the `locationIds` it works in,
rendered under `roles` as GHL does. Search and create are agency operations (Company token);
get/update/delete also accept a location token, for its own location's users only (403). Emails
are unique in the agency (400, wording ours). Search filters by `query` (name, email or phone),
`locationId`, `type`, `role` and `ids` (comma-separated), sorts by `sort` (default: first then
last name) and `sortDirection`, and pages by `skip`/`limit` (default 25); `count` is the total.
Delete answers GHL's "queued" message but takes effect at once. Event: UserCreate.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.admin_access import query_company, require_agency
from ghl_bridge.simulator.admin_records import USERS, user
from ghl_bridge.simulator.auth import require_company
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, forbidden, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.nested_dto import validated_nested
from ghl_bridge.simulator.resources import SUCCEEDED, query_int, query_location

__all__ = ["ENDPOINTS", "user_view"]

Record = dict[str, Any]
TYPES = ("agency", "account")
ROLES = ("admin", "user")
SORTS = ("firstName", "lastName", "email")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EDITABLE = ("firstName", "lastName", "phone", "platformLanguage", "profilePhoto")


def user_view(record: Record) -> Record:
    """GHL's user shape: names, contact, permissions and `roles` {type, role, locationIds}."""
    view: Record = {
        "id": record["id"],
        "name": f"{record['firstName']} {record['lastName']}".strip(),
        **{k: record[k] for k in ("firstName", "lastName", "email", "phone") if k in record},
        "extension": record.get("extension", ""),
        "permissions": dict(record["permissions"]),
        "roles": {
            "type": record["type"],
            "role": record["role"],
            "locationIds": list(record["locationIds"]),
            "restrictSubAccount": False,
        },
        "deleted": False,
    }
    if record.get("platformLanguage"):
        view["platformLanguage"] = record["platformLanguage"]
    return view


def _path_user(call: Call) -> Record:
    user_id = call.param("userId")
    record = call.state.store(USERS).get(user_id)
    if record is None:
        raise bad_request(f"User with id {user_id} not found")
    token = call.principal
    if token.location_id is not None and token.location_id not in record["locationIds"]:
        # A location token sees its own location's users only.
        raise forbidden("The token does not have access to this location.")
    return record


def _check_email(call: Call, email: str, except_id: str | None = None) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise unprocessable(["email must be an email"])
    for other in call.state.store(USERS).values():
        if other["email"] == email and other["id"] != except_id:
            raise bad_request(f"User with email {email} already exists")
    return email


def _roles(call: Call, body: dict[str, Any], current: Record | None) -> Record:
    """The type/role/locationIds a body asks for, checked: 422 for bad values, 400 for unknown
    locations, 403 when a location token names another location."""
    base = current or {}
    kind, role = body.get("type") or base.get("type"), body.get("role") or base.get("role")
    given = body.get("locationIds")
    location_ids = list(dict.fromkeys(given if given is not None else base["locationIds"]))
    errors = []
    if kind not in TYPES:
        errors.append(f"type must be one of the following values: {', '.join(TYPES)}")
    if role not in ROLES:
        errors.append(f"role must be one of the following values: {', '.join(ROLES)}")
    if kind == "account" and not location_ids:
        errors.append("locationIds should not be empty")
    if errors:
        raise unprocessable(errors)
    for location_id in given or []:
        call.require_location(location_id)
        if location_id not in call.state.locations:
            raise bad_request(f"Location with id {location_id} not found")
    return {"type": kind, "role": role, "locationIds": location_ids}


def _apply(record: Record, body: dict[str, Any]) -> None:
    record.update({name: body[name] for name in _EDITABLE if body.get(name) is not None})
    if body.get("permissions"):
        record["permissions"] = {**record["permissions"], **body["permissions"]}


def _event(record: Record) -> Record:
    """UserCreate's fields (webhook-events.json): flat, with `role` and `locations`."""
    names = ("companyId", "id", "firstName", "lastName", "email", "phone", "extension", "role")
    event = {name: record[name] for name in names if name in record}
    return {**event, "permissions": record["permissions"], "locations": record["locationIds"]}


async def list_location_users(call: Call) -> Response:
    location_id = query_location(call)
    users = [u for u in call.state.store(USERS).values() if location_id in u["locationIds"]]
    return call.respond({"users": [user_view(u) for u in users]})


def _search_filter(call: Call, record: Record) -> bool:
    needle = (call.query("query") or "").casefold()
    haystack = " ".join(
        str(record.get(k) or "") for k in ("firstName", "lastName", "email", "phone")
    )
    ids = [i for i in (call.query("ids") or "").split(",") if i]
    checks = (
        needle in haystack.casefold(),
        not call.query("locationId") or call.query("locationId") in record["locationIds"],
        not call.query("type") or call.query("type") == record["type"],
        not call.query("role") or call.query("role") == record["role"],
        not ids or record["id"] in ids,
    )
    return all(checks)


async def search_users(call: Call) -> Response:
    company_id = query_company(call)
    skip, limit = query_int(call, "skip", 0), query_int(call, "limit", 25, low=1)
    sort, direction = call.query("sort") or "", call.query("sortDirection") or "asc"
    if sort and sort not in SORTS:
        raise unprocessable([f"sort must be one of the following values: {', '.join(SORTS)}"])
    if direction not in ("asc", "desc"):
        raise unprocessable(["sortDirection must be one of the following values: asc, desc"])
    keys = (sort,) if sort else ("firstName", "lastName")
    found = [
        u
        for u in call.state.store(USERS).values()
        if u["companyId"] == company_id and _search_filter(call, u)
    ]
    found.sort(
        key=lambda u: (*(str(u.get(k) or "").casefold() for k in keys), u["id"]),
        reverse=direction == "desc",
    )
    page = [user_view(u) for u in found[skip : skip + limit]]
    return call.respond({"users": page, "count": len(found)})


async def get_user(call: Call) -> Response:
    return call.respond(user_view(_path_user(call)))


async def create_user(call: Call) -> Response:
    body = validated_nested(call)
    require_agency(call, body["companyId"])
    email = _check_email(call, str(body["email"]))
    roles = _roles(call, body, None)
    record = user(
        call.state, first=body["firstName"], last=body["lastName"], email=email,
        kind=roles["type"], role=roles["role"], location_ids=roles["locationIds"],
    )  # fmt: skip
    _apply(record, body)
    call.emit("UserCreate", next(iter(record["locationIds"]), None), _event(record))
    return call.respond(user_view(record))


async def update_user(call: Call) -> Response:
    body = validated_nested(call)
    record = _path_user(call)
    if body.get("companyId"):
        require_company(call.state, call.principal, body["companyId"])
    if body.get("email"):  # deprecated in the DTO, still honoured
        record["email"] = _check_email(call, str(body["email"]), except_id=record["id"])
    if any(body.get(k) is not None for k in ("type", "role", "locationIds")):
        record.update(_roles(call, body, record))
    _apply(record, body)
    return call.respond(user_view(record))


async def delete_user(call: Call) -> Response:
    record = _path_user(call)
    del call.state.store(USERS)[record["id"]]
    name = f"{record['firstName']} {record['lastName']}".strip()
    message = (
        f"Queued deleting user with e-mail {record['email']} and name {name}. "
        "Will take effect in a few minutes."
    )  # GHL's wording (spec example); the simulator deletes at once
    return call.respond({**SUCCEEDED, "message": message})


ENDPOINTS = [
    Endpoint("get-user-by-location", list_location_users),
    Endpoint("search-users", search_users),
    Endpoint("get-user", get_user),
    Endpoint("create-user", create_user),
    Endpoint("update-user", update_user),
    Endpoint("delete-user", delete_user),
]
