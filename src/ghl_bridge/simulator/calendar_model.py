"""Calendar settings as create/update store them: nested-field checks, defaults, slugs.

The request DTO's top level is checked by `Call.validated_body`; GHL's class-validator DTOs also
validate nested objects (`@ValidateNested`), so the parts the simulator acts on are checked here
with the same wording and dotted paths (`openHours.0.hours.0.openHour must not be greater than
23`): open hours drive free slots, and team members are rendered back on the calendar. A slug
is unique within a location (it names the booking widget's URL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["apply_settings", "minutes", "nested_errors", "unique_slug"]

Record = dict[str, Any]
_HOUR_LIMITS = {"openHour": 23, "openMinute": 60, "closeHour": 23, "closeMinute": 60}
_PRIORITIES = (0, 0.5, 1)


def _int_errors(path: str, value: Any, high: int) -> list[str]:
    if value is None:
        return [f"{path} should not be empty"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{path} must be a number conforming to the specified constraints"]
    if value < 0:
        return [f"{path} must not be less than 0"]
    if value > high:
        return [f"{path} must not be greater than {high}"]
    return []


def _hours_errors(path: str, hours: Any) -> list[str]:
    if not isinstance(hours, dict):
        return [f"{path} must be an object"]
    errors = [
        message
        for name, high in _HOUR_LIMITS.items()
        for message in _int_errors(f"{path}.{name}", hours.get(name), high)
    ]
    if not errors:
        opens = hours["openHour"] * 60 + hours["openMinute"]
        if hours["closeHour"] * 60 + hours["closeMinute"] <= opens:
            errors.append(f"{path} must close after it opens")  # wording ours
    return errors


def _open_hour_errors(path: str, rule: Any) -> list[str]:
    if not isinstance(rule, dict):
        return [f"{path} must be an object"]
    days, hours = rule.get("daysOfTheWeek"), rule.get("hours")
    errors: list[str] = []
    if not isinstance(days, list):
        errors.append(f"{path}.daysOfTheWeek must be an array")
    else:
        for n, day in enumerate(days):
            errors += _int_errors(f"{path}.daysOfTheWeek.{n}", day, 6)
    if not isinstance(hours, list):
        errors.append(f"{path}.hours must be an array")
    else:
        for n, item in enumerate(hours):
            errors += _hours_errors(f"{path}.hours.{n}", item)
    return errors


def _member_errors(path: str, member: Any) -> list[str]:
    if not isinstance(member, dict):
        return [f"{path} must be an object"]
    errors = [] if member.get("userId") else [f"{path}.userId should not be empty"]
    if "priority" in member and member["priority"] not in _PRIORITIES:
        errors.append(f"{path}.priority must be a valid enum value")
    return errors


def nested_errors(body: Record) -> list[str]:
    """422 messages for `openHours` and `teamMembers` ([] when both are well formed)."""
    errors: list[str] = []
    for n, rule in enumerate(body.get("openHours") or []):
        errors += _open_hour_errors(f"openHours.{n}", rule)
    for n, member in enumerate(body.get("teamMembers") or []):
        errors += _member_errors(f"teamMembers.{n}", member)
    return errors


def apply_settings(calendar: Record, body: Record) -> Record:
    """`calendar` with every DTO field in `body` copied over; `null` clears a field."""
    updated = dict(calendar)
    for name, value in body.items():
        if value is None:
            updated.pop(name, None)
        else:
            updated[name] = value
    return updated


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "calendar"


def unique_slug(name: str, taken: Iterable[str]) -> str:
    """A slug for `name` that no other calendar of the location uses (`-2`, `-3`... appended)."""
    used = set(taken)
    base = _slugify(name)
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    return slug


def minutes(calendar: Record, field: str, default: int = 30) -> int:
    """`slotDuration` / `slotInterval` in minutes, honouring its `<field>Unit` (mins|hours)."""
    value = int(calendar.get(field) or default)
    return value * 60 if calendar.get(f"{field}Unit") == "hours" else value
