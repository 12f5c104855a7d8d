"""Contact actions. Input schemas follow the spec's CreateContactDto (checked by a contract test)
but are closed (``additionalProperties: false``) so a typo fails here, not silently at GHL."""

from __future__ import annotations

from typing import Any

from ghl_bridge.actions.registry import JSON, Action, ActionContext

_CUSTOM_FIELD = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "key": {"type": "string"},
        "field_value": {},
    },
    "additionalProperties": False,
}

CONTACT_FIELDS: dict[str, Any] = {
    "firstName": {"type": "string", "maxLength": 255},
    "lastName": {"type": "string", "maxLength": 255},
    "name": {"type": "string", "maxLength": 255},
    "email": {"type": "string", "maxLength": 255, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
    "phone": {"type": "string", "maxLength": 32, "pattern": r"^\+?[0-9 ()\-.]{4,}$"},
    "gender": {"type": "string"},
    "address1": {"type": "string"},
    "city": {"type": "string"},
    "state": {"type": "string"},
    "postalCode": {"type": "string"},
    "website": {"type": "string"},
    "timezone": {"type": "string"},
    "dnd": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 100},
    "customFields": {"type": "array", "items": _CUSTOM_FIELD},
    "source": {"type": "string"},
    "country": {"type": "string", "minLength": 2, "maxLength": 2},
    "companyName": {"type": "string"},
    "assignedTo": {"type": "string"},
    "dateOfBirth": {"type": "string"},
}

CREATE_INPUT: JSON = {
    "type": "object",
    "properties": CONTACT_FIELDS,
    "additionalProperties": False,
    "anyOf": [
        {"required": ["email"]},
        {"required": ["phone"]},
        {"required": ["firstName"]},
        {"required": ["lastName"]},
        {"required": ["name"]},
    ],
}

CONTACT_OUTPUT: JSON = {
    "type": "object",
    "properties": {
        "contact": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "locationId": {"type": "string"}},
            "required": ["id"],
        }
    },
    "required": ["contact"],
}


async def _create(ctx: ActionContext, data: JSON) -> JSON:
    result = await ctx.ghl.contacts.create(ctx.location_id, data, options=ctx.request_options())
    return {"contact": result.get("contact", result)}


ACTIONS = [
    Action(
        name="contacts.create",
        summary="Create a contact in a location (fires GHL's ContactCreate webhook).",
        input_schema=CREATE_INPUT,
        output_schema=CONTACT_OUTPUT,
        run=_create,
        scopes=("contacts.write",),
    ),
]
