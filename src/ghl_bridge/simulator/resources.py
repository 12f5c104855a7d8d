"""Helpers every non-contact area shares: query parameters, owned-record lookup, paging.

GHL's query DTOs are NestJS `ValidationPipe`s too, so a missing or malformed query parameter is
a 422 with class-validator's wording, like a body field. A record id that does not exist is a
400 (the spec declares no 404 for these areas, and contacts answer 400 the same way).
"""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable

__all__ = [
    "SUCCEEDED",
    "owned",
    "query_bool",
    "query_int",
    "query_location",
    "required_query",
    "slice_page",
]

Record = dict[str, Any]
# GHL sends both spellings; the spec only knows the misspelt one.
SUCCEEDED = {"succeded": True, "succeeded": True}


def required_query(call: Call, name: str) -> str:
    value = call.query(name)
    if value is None or not value.strip():
        raise unprocessable([f"{name} should not be empty"])
    return value


def query_location(call: Call, name: str = "locationId") -> str:
    """The location named in the query string, which the token must be allowed to use."""
    location_id = required_query(call, name)
    call.require_location(location_id)
    return location_id


def query_int(call: Call, name: str, default: int, low: int = 0, high: int | None = None) -> int:
    """An integer query parameter (GHL's `@Type(() => Number)` DTO fields) within bounds."""
    raw = call.query(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise unprocessable(
            [f"{name} must be a number conforming to the specified constraints"]
        ) from exc
    if not value.is_integer():
        raise unprocessable([f"{name} must be an integer number"])
    if value < low:
        raise unprocessable([f"{name} must not be less than {low}"])
    if high is not None and value > high:
        raise unprocessable([f"{name} must not be greater than {high}"])
    return int(value)


def query_bool(call: Call, name: str) -> bool | None:
    raw = call.query(name)
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise unprocessable([f"{name} must be a boolean value"])
    return raw == "true"


def owned(call: Call, kind: str, record_id: str, label: str) -> Record:
    """The `kind` record with `record_id`; 400 if missing, 403 if another location's."""
    record = call.state.store(kind).get(record_id)
    if record is None:
        # Wording is ours (NestJS-style); GHL's exact text for these areas is unrecorded.
        raise bad_request(f"{label} not found")
    call.require_location(record.get("locationId"))
    return record


def slice_page(records: list[Record], start: int, limit: int) -> list[Record]:
    return records[start : start + limit]
