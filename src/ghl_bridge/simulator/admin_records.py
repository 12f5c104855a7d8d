"""Record shapes for the admin areas (location catalogues, users, businesses, snapshots).

The seed (`seed_admin`) and the handlers both build records here, so a seeded record and one
made through the API cannot drift apart. Only state, spec data and time helpers are imported:
`seed.py` loads this module while `context` is still initialising, so no handler module may be.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from ghl_bridge.simulator.spec import load_spec
from ghl_bridge.simulator.state import SimState

__all__ = [
    "BUSINESSES",
    "CUSTOM_FIELDS",
    "CUSTOM_VALUES",
    "PROFILES",
    "PUSHES",
    "SHARE_LINKS",
    "SNAPSHOTS",
    "SNIPPETS",
    "TAGS",
    "USERS",
    "business",
    "custom_field",
    "custom_value",
    "default_permissions",
    "key_slug",
    "snapshot",
    "snippet",
    "tag",
    "user",
]

Record = dict[str, Any]
# Store names (SimState.store kinds). Every location-owned record carries `locationId`, so
# deleting a location can purge them all generically.
PROFILES = "locationProfiles"
CUSTOM_FIELDS = "customFields"
CUSTOM_VALUES = "customValues"
TAGS = "locationTags"
SNIPPETS = "snippets"
USERS = "users"
BUSINESSES = "businesses"
SNAPSHOTS = "snapshots"
SHARE_LINKS = "snapshotShareLinks"
PUSHES = "snapshotPushes"


def key_slug(name: str) -> str:
    """GHL's key form of a display name: "Lead Score" -> "lead_score"."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_") or "field"


def custom_field(
    state: SimState,
    location_id: str,
    *,
    name: str,
    data_type: str,
    model: str,
    position: int,
    options: list[str] | None = None,
    now: str,
) -> Record:
    """A contact/opportunity field; its `fieldKey` is `<model>.<slug>` and never changes."""
    field: Record = {
        "id": state.ids.ghl_id(),
        "name": name,
        "fieldKey": f"{model}.{key_slug(name)}",
        "dataType": data_type,
        "position": position,
        "picklistOptions": list(options or []),
        "picklistImageOptions": [],
        "isAllowedCustomOption": False,
        "locationId": location_id,
        "model": model,
        "dateAdded": now,
    }
    state.store(CUSTOM_FIELDS)[field["id"]] = field
    return field


def custom_value(state: SimState, location_id: str, name: str, value: str) -> Record:
    """A named merge value, used in templates as `{{ custom_values.<slug> }}`."""
    record: Record = {
        "id": state.ids.ghl_id(),
        "name": name,
        "fieldKey": f"{{{{ custom_values.{key_slug(name)} }}}}",
        "value": value,
        "locationId": location_id,
    }
    state.store(CUSTOM_VALUES)[record["id"]] = record
    return record


def tag(state: SimState, location_id: str, name: str) -> Record:
    """A location tag; GHL keeps tag names trimmed and lower-cased, as on contacts."""
    record: Record = {
        "id": state.ids.ghl_id(),
        "name": name.strip().lower(),
        "locationId": location_id,
    }
    state.store(TAGS)[record["id"]] = record
    return record


def snippet(
    state: SimState, location_id: str, kind: str, name: str, template: Record, now: str
) -> Record:
    """An SMS/email/WhatsApp snippet (`/locations/{id}/templates`); deletion is soft."""
    record: Record = {
        "id": state.ids.ghl_id(),
        "name": name,
        "type": kind,
        "locationId": location_id,
        "dateAdded": now,
        "template": template,
        "deleted": False,
    }
    if kind != "email":
        record["urlAttachments"] = []
    state.store(SNIPPETS)[record["id"]] = record
    return record


@cache
def default_permissions() -> dict[str, bool]:
    """Every user permission at the default the spec's PermissionsDto gives it."""
    schema = load_spec().schemas["users.PermissionsDto"]
    return {name: bool(prop.get("default", False)) for name, prop in schema["properties"].items()}


def user(
    state: SimState,
    *,
    first: str,
    last: str,
    email: str,
    kind: str,
    role: str,
    location_ids: list[str],
    user_id: str | None = None,
    phone: str | None = None,
) -> Record:
    """A user of the agency: `kind` is agency/account, `role` admin/user (roles in GHL)."""
    record: Record = {
        "id": user_id or state.ids.ghl_id(),
        "companyId": state.agency.company_id,
        "firstName": first,
        "lastName": last,
        "email": email,
        "extension": "",
        "type": kind,
        "role": role,
        "locationIds": list(location_ids),
        "permissions": dict(default_permissions()),
        "deleted": False,
    }
    if phone:
        record["phone"] = phone
    state.store(USERS)[record["id"]] = record
    return record


def business(
    state: SimState, location_id: str, fields: Record, created_by: Record, now: str
) -> Record:
    """A business (B2B account) contacts can belong to; its id is a Mongo ObjectId."""
    record: Record = {
        "id": state.ids.object_id(),
        **fields,
        "locationId": location_id,
        "createdBy": created_by,
        "updatedBy": created_by,
        "createdAt": now,
        "updatedAt": now,
    }
    state.store(BUSINESSES)[record["id"]] = record
    return record


def snapshot(state: SimState, name: str, kind: str, source_location_id: str | None) -> Record:
    """An agency snapshot: `own` ones are taken from one of the agency's locations, whose
    custom fields, custom values and tags a push copies; `imported` ones carry none of ours."""
    record: Record = {
        "id": state.ids.ghl_id(),
        "name": name,
        "type": kind,
        "companyId": state.agency.company_id,
        "sourceLocationId": source_location_id,
    }
    state.store(SNAPSHOTS)[record["id"]] = record
    return record
