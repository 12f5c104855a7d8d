"""Contacts as GHL stores and renders them: input normalisation and the three wire shapes.

GHL renders a contact differently per endpoint (research/ghl-wire-facts.md §1.6, and Nango's
recorded responses): get/update/upsert omit unset fields; create adds a few flags; search
returns every key with `null` for unset ones, `address` instead of `address1`, and a
`searchAfter` cursor; the deprecated list adds `contactName`. Webhook events carry the fields
flat next to `type` and `locationId`.
"""

from __future__ import annotations

import re
from typing import Any

from ghl_bridge.simulator.timefmt import epoch_ms, parse_birth_date

__all__ = [
    "apply_input",
    "create_view",
    "detail_view",
    "event_view",
    "list_view",
    "normalize_phone",
    "normalize_tags",
    "search_view",
]

Contact = dict[str, Any]
_SIMPLE = (
    "firstName", "lastName", "gender", "address1", "city", "state", "postalCode", "website",
    "timezone", "dnd", "dndSettings", "inboundDndSettings", "source", "country", "companyName",
    "assignedTo",
)  # fmt: skip
_DETAIL_ORDER = (
    "id", "dateAdded", "dateUpdated", "type", "locationId", "firstName", "firstNameLowerCase",
    "lastName", "lastNameLowerCase", "fullNameLowerCase", "email", "emailLowerCase", "phone",
    "gender", "address1", "city", "state", "postalCode", "country", "timezone", "website",
    "companyName", "source", "assignedTo", "dnd", "dndSettings", "inboundDndSettings",
    "dateOfBirth", "businessId", "tags", "customFields", "additionalEmails", "additionalPhones",
    "followers", "createdBy", "lastUpdatedBy",
)  # fmt: skip
_EVENT_FIELDS = (
    "id", "address1", "city", "state", "companyName", "country", "source", "dateAdded",
    "dateOfBirth", "dnd", "email", "name", "firstName", "lastName", "phone", "postalCode",
    "tags", "website", "attachments", "assignedTo", "customFields",
)  # fmt: skip
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DND_STATUSES = ("active", "inactive", "permanent")


def normalize_phone(raw: str) -> str:
    """GHL stores E.164; a bare 10-digit number is taken as North American (+1)."""
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+"):
        return f"+{digits}"
    if len(digits) == 10:
        return f"+1{digits}"
    return f"+{digits}"


def normalize_tags(tags: list[Any]) -> list[str]:
    """GHL keeps tags trimmed, lower-cased and unique, in the order first seen."""
    seen: dict[str, None] = {}
    for tag in tags:
        text = str(tag).strip().lower()
        if text:
            seen.setdefault(text, None)
    return list(seen)


def apply_input(contact: Contact, body: dict[str, Any]) -> list[str]:
    """Copy a create/update/upsert DTO onto `contact`; return 422 messages (contact untouched
    by invalid fields). `null` clears a field. `tags` replaces all tags, as the spec says."""
    errors: list[str] = []
    for name in _SIMPLE:
        if name in body:
            _set(contact, name, body[name])
    if "email" in body:
        email = body["email"]
        if email and not _EMAIL.match(str(email).strip()):
            errors.append("email must be an email")
        else:
            _set(contact, "email", str(email).strip() if email else None)
    if "phone" in body:
        _set(contact, "phone", normalize_phone(body["phone"]) if body["phone"] else None)
    if body.get("name") and "firstName" not in body and "lastName" not in body:
        first, _, last = str(body["name"]).strip().partition(" ")
        _set(contact, "firstName", first or None)
        _set(contact, "lastName", last.strip() or None)
    if "tags" in body:
        contact["tags"] = normalize_tags(body["tags"] or [])
    if body.get("customFields"):
        contact["customFields"] = _merge_custom_fields(
            contact.get("customFields", []), body["customFields"]
        )
    if "dateOfBirth" in body:
        errors.extend(_apply_birth_date(contact, body["dateOfBirth"]))
    errors.extend(_dnd_errors(contact.get("dndSettings")))
    return errors


def _set(contact: Contact, name: str, value: Any) -> None:
    if value is None:
        contact.pop(name, None)
    else:
        contact[name] = value


def _apply_birth_date(contact: Contact, value: Any) -> list[str]:
    if value in (None, ""):
        contact.pop("dateOfBirth", None)
        return []
    parsed = parse_birth_date(str(value))
    if parsed is None:
        return ["dateOfBirth must be a valid date"]
    contact["dateOfBirth"] = parsed
    return []


def _merge_custom_fields(
    current: list[dict[str, Any]], incoming: list[Any]
) -> list[dict[str, Any]]:
    """Input entries are `{id|key, field_value}`; stored and returned as `{id, value}`."""
    merged = {entry["id"]: entry for entry in current}
    for item in incoming:
        if isinstance(item, dict) and (item.get("id") or item.get("key")):
            field_id = str(item.get("id") or item.get("key"))
            merged[field_id] = {"id": field_id, "value": item.get("field_value", item.get("value"))}
    return [entry for entry in merged.values() if entry["value"] not in (None, "")]


def _dnd_errors(settings: Any) -> list[str]:
    if settings is None:
        return []
    if not isinstance(settings, dict):
        return ["dndSettings must be an object"]
    allowed = ", ".join(_DND_STATUSES)
    return [
        f"dndSettings.{channel}.status must be one of the following values: {allowed}"
        for channel, value in settings.items()
        if not isinstance(value, dict) or value.get("status") not in _DND_STATUSES
    ]


def _derived(contact: Contact) -> dict[str, Any]:
    first, last = contact.get("firstName"), contact.get("lastName")
    full = " ".join(part for part in (first, last) if part)
    email = contact.get("email")
    return {
        "firstNameLowerCase": first.lower() if first else None,
        "lastNameLowerCase": last.lower() if last else None,
        "fullNameLowerCase": full.lower() or None,
        "emailLowerCase": email.lower() if email else None,
    }


def detail_view(contact: Contact) -> dict[str, Any]:
    """get-contact / update-contact / upsert-contact shape: unset fields are omitted."""
    merged = {**contact, **_derived(contact)}
    return {name: merged[name] for name in _DETAIL_ORDER if merged.get(name) is not None}


def create_view(contact: Contact) -> dict[str, Any]:
    """create-contact shape (recorded): detail fields plus delivery flags, no list extras."""
    view = detail_view(contact)
    for name in ("additionalEmails", "additionalPhones", "followers"):
        view.pop(name, None)
    view.update(deleted=False, bounceEmail=False, unsubscribeEmail=False)
    view.update(validEmail=None, validEmailDate=None)
    return view


def list_view(contact: Contact) -> dict[str, Any]:
    """Deprecated `GET /contacts/` item: the detail fields plus `contactName`, which a v1-era
    capture shows as the lower-cased full name, or the email for a contact with no name.

    Unset fields are omitted rather than `null` (the spec types them as plain strings and no
    v2 capture of this endpoint is known)."""
    view = detail_view(contact)
    name = view.pop("fullNameLowerCase", None) or contact.get("email")
    for derived in ("emailLowerCase", "createdBy", "lastUpdatedBy"):
        view.pop(derived, None)
    return {"id": view.pop("id"), **({"contactName": name} if name else {}), **view}


def search_view(contact: Contact, cursor: list[Any]) -> dict[str, Any]:
    """search-contacts-advanced shape: every key present, `null` when unset (recorded)."""
    derived = _derived(contact)
    view: dict[str, Any] = {
        "id": contact["id"], "phoneLabel": None, "country": contact.get("country"),
        "address": contact.get("address1"), "source": contact.get("source"),
        "type": contact.get("type"), "locationId": contact["locationId"],
        "website": contact.get("website"), "dnd": bool(contact.get("dnd", False)),
        "state": contact.get("state"), "businessName": contact.get("businessName"),
        "customFields": contact.get("customFields", []), "tags": contact.get("tags", []),
        "dateAdded": contact.get("dateAdded"),
        "additionalEmails": contact.get("additionalEmails", []),
        "phone": contact.get("phone"), "companyName": contact.get("companyName"),
        "additionalPhones": contact.get("additionalPhones", []),
        "dateUpdated": contact.get("dateUpdated"), "city": contact.get("city"),
        "dateOfBirth": epoch_ms(contact.get("dateOfBirth")),
        "firstNameLowerCase": derived["firstNameLowerCase"],
        "lastNameLowerCase": derived["lastNameLowerCase"],
        "firstName": contact.get("firstName"), "lastName": contact.get("lastName"),
        "contactName": derived["fullNameLowerCase"], "email": contact.get("email"),
        "assignedTo": contact.get("assignedTo"), "followers": contact.get("followers", []),
        "validEmail": None, "dndSettings": contact.get("dndSettings", {}),
        "postalCode": contact.get("postalCode"), "businessId": contact.get("businessId"),
        "searchAfter": cursor, "timezone": contact.get("timezone"),
        "inboundDndSettings": contact.get("inboundDndSettings", {}),
        "attributionSource": {}, "lastAttributionSource": {},
    }  # fmt: skip
    if contact.get("opportunities"):  # the key is absent, not empty, without opportunities
        view["opportunities"] = contact["opportunities"]
    return view


def event_view(contact: Contact) -> dict[str, Any]:
    """Contact* webhook fields (webhook-events.json): flat, unset fields omitted."""
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    merged = {**contact, "name": name or None, "attachments": []}
    return {field: merged[field] for field in _EVENT_FIELDS if merged.get(field) is not None}
