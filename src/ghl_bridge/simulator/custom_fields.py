"""A location's custom fields (contact and opportunity) and custom values.

A field's `fieldKey` is `<model>.<slug of its name>` (`contact.lead_score`) and a value's is
`{{ custom_values.<slug> }}`; both are fixed at creation, so renaming keeps merge tags working,
and a second record with the same key is a 400 (wording ours). `dataType` is one of GHL's
types; `options` (the choices of an option type) is accepted although the locations DTO omits
it: custom-fields.json documents it for the same fields, and GHL's forms need it. Deleting a
field drops its values from the location's contacts or opportunities.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.admin_access import path_location, path_record
from ghl_bridge.simulator.admin_records import (
    CUSTOM_FIELDS,
    CUSTOM_VALUES,
    custom_field,
    custom_value,
    key_slug,
)
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import SUCCEEDED
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["DATA_TYPES", "ENDPOINTS"]

Record = dict[str, Any]
# custom-fields.json's enum (MONETORY sic).
DATA_TYPES = (
    "TEXT", "LARGE_TEXT", "NUMERICAL", "PHONE", "MONETORY", "CHECKBOX", "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS", "DATE", "TEXTBOX_LIST", "FILE_UPLOAD", "RADIO", "EMAIL",
)  # fmt: skip
_OPTION_TYPES = ("SINGLE_OPTIONS", "MULTIPLE_OPTIONS", "RADIO", "CHECKBOX", "TEXTBOX_LIST")
_MODELS = ("contact", "opportunity")
_EXTRA = frozenset({"options"})
_FIELD_VIEW = (
    "id", "name", "fieldKey", "placeholder", "dataType", "position", "picklistOptions",
    "picklistImageOptions", "isAllowedCustomOption", "isMultiFileAllowed", "maxFileLimit",
    "locationId", "model",
)  # fmt: skip
_VALUE_VIEW = ("id", "name", "fieldKey", "value", "locationId")


def _view(record: Record, names: tuple[str, ...]) -> Record:
    return {name: record[name] for name in names if record.get(name) is not None}


def _options(body: dict[str, Any], data_type: str) -> list[str] | None:
    options = body.get("options")
    if options is None:
        return None
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise unprocessable(["each value in options must be a string"])
    if data_type not in _OPTION_TYPES:
        raise unprocessable([f"options are only allowed for {', '.join(_OPTION_TYPES)}"])
    return options


def _file_settings(field: Record, body: dict[str, Any]) -> None:
    """FILE_UPLOAD settings arrive as isMultipleFile/maxNumberOfFiles, render as
    isMultiFileAllowed/maxFileLimit (the request and response DTOs name them differently)."""
    if "isMultipleFile" in body:
        field["isMultiFileAllowed"] = bool(body["isMultipleFile"])
    if body.get("maxNumberOfFiles") is not None:
        field["maxFileLimit"] = body["maxNumberOfFiles"]
    for name in ("placeholder", "acceptedFormat", "textBoxListOptions"):
        if name in body:
            field[name] = body[name]


def _taken(state: SimState, kind: str, location_id: str, key: str) -> bool:
    return any(r["fieldKey"] == key for r in state.location_records(kind, location_id))


async def list_fields(call: Call) -> Response:
    location = path_location(call)
    model = call.query("model") or "all"
    if model not in (*_MODELS, "all"):
        raise unprocessable(
            ["model must be one of the following values: contact, opportunity, all"]
        )
    fields = [
        field
        for field in call.state.location_records(CUSTOM_FIELDS, location.id)
        if model == "all" or field["model"] == model
    ]
    fields.sort(key=lambda field: field["position"])
    return call.respond({"customFields": [_view(f, _FIELD_VIEW) for f in fields]})


async def get_field(call: Call) -> Response:
    _, field = path_record(call, CUSTOM_FIELDS, "id", "Custom field")
    return call.respond({"customField": _view(field, _FIELD_VIEW)})


async def create_field(call: Call) -> Response:
    body = call.validated_body(extra=_EXTRA)
    location = path_location(call)
    data_type, model = body["dataType"], body.get("model") or "contact"
    if data_type not in DATA_TYPES:
        raise unprocessable(
            [f"dataType must be one of the following values: {', '.join(DATA_TYPES)}"]
        )
    options = _options(body, data_type)
    key = f"{model}.{key_slug(body['name'])}"
    if _taken(call.state, CUSTOM_FIELDS, location.id, key):
        raise bad_request(f"Custom field with key {key} already exists")
    siblings = call.state.location_records(CUSTOM_FIELDS, location.id)
    position = body.get("position")
    field = custom_field(
        call.state, location.id, name=body["name"], data_type=data_type, model=model,
        position=int(position) if position is not None else 50 * len(siblings),
        options=options, now=iso_ms(call.sim.now()),
    )  # fmt: skip
    _file_settings(field, body)
    return call.respond({"customField": _view(field, _FIELD_VIEW)})


async def update_field(call: Call) -> Response:
    body = call.validated_body(extra=_EXTRA)
    _, field = path_record(call, CUSTOM_FIELDS, "id", "Custom field")
    if body.get("model") and body["model"] != field["model"]:
        raise bad_request("The model of a custom field cannot be changed")  # wording ours
    options = _options(body, field["dataType"])
    field["name"] = body["name"]
    if options is not None:
        field["picklistOptions"] = options
    if body.get("position") is not None:
        field["position"] = int(body["position"])
    _file_settings(field, body)
    return call.respond({"customField": _view(field, _FIELD_VIEW)})


async def delete_field(call: Call) -> Response:
    location, field = path_record(call, CUSTOM_FIELDS, "id", "Custom field")
    del call.state.store(CUSTOM_FIELDS)[field["id"]]
    if field["model"] == "contact":
        holders = list(call.state.location_contacts(location.id).values())
    else:
        holders = call.state.location_records("opportunities", location.id)
    for holder in holders:
        entries = holder.get("customFields") or []
        holder["customFields"] = [e for e in entries if e.get("id") != field["id"]]
    return call.respond(SUCCEEDED)


async def list_values(call: Call) -> Response:
    location = path_location(call)
    values = call.state.location_records(CUSTOM_VALUES, location.id)
    return call.respond({"customValues": [_view(v, _VALUE_VIEW) for v in values]})


async def get_value(call: Call) -> Response:
    _, value = path_record(call, CUSTOM_VALUES, "id", "Custom value")
    return call.respond({"customValue": _view(value, _VALUE_VIEW)})


async def create_value(call: Call) -> Response:
    body = call.validated_body()
    location = path_location(call)
    key = f"{{{{ custom_values.{key_slug(body['name'])} }}}}"
    if _taken(call.state, CUSTOM_VALUES, location.id, key):
        raise bad_request(f"Custom value with key {key} already exists")
    value = custom_value(call.state, location.id, body["name"], body["value"])
    return call.respond({"customValue": _view(value, _VALUE_VIEW)})


async def update_value(call: Call) -> Response:
    body = call.validated_body()
    _, value = path_record(call, CUSTOM_VALUES, "id", "Custom value")
    value.update(name=body["name"], value=body["value"])
    return call.respond({"customValue": _view(value, _VALUE_VIEW)})


async def delete_value(call: Call) -> Response:
    _, value = path_record(call, CUSTOM_VALUES, "id", "Custom value")
    del call.state.store(CUSTOM_VALUES)[value["id"]]
    return call.respond(SUCCEEDED)


ENDPOINTS = [
    Endpoint("get-custom-fields", list_fields),
    Endpoint("get-custom-field", get_field),
    Endpoint("locations.create-custom-field", create_field),
    Endpoint("locations.update-custom-field", update_field),
    Endpoint("locations.delete-custom-field", delete_field),
    Endpoint("get-custom-values", list_values),
    Endpoint("get-custom-value", get_value),
    Endpoint("create-custom-value", create_value),
    Endpoint("update-custom-value", update_value),
    Endpoint("delete-custom-value", delete_value),
]
