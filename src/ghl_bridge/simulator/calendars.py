"""Calendars (seeded, or created/updated/deleted here) and their free slots.

Free slots (research/ghl-wire-facts.md §6.3): `startDate`/`endDate` are epoch ms and may span
at most 31 days; the answer maps `YYYY-MM-DD` to `{"slots": [ISO with offset]}` next to a
top-level `traceId`, rendered in `timezone` (else the calendar's location zone). Only dates
with a slot appear. Slots come from the calendar's open hours every `slotInterval`, lasting
`slotDuration`, never in the past, and never overlapping a live appointment. Create applies
the request DTO's defaults (`slotDuration` 30, `autoConfirm` true, ...; `calendarType` is
`event` unless given, our choice), gives the calendar a slug unique in its location and
renders slots in the location's zone; a slug another calendar uses is a 400. Delete leaves
the calendar's appointments readable (calendar history).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.responses import Response

from ghl_bridge.simulator.calendar_model import apply_settings, minutes, nested_errors, unique_slug
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import GhlJSONResponse, bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import owned, query_int, query_location
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.timefmt import epoch_ms

__all__ = [
    "ENDPOINTS",
    "busy",
    "calendar_zone",
    "free_slots",
    "owned_calendar",
    "render",
    "zone_named",
]

Record = dict[str, Any]
MAX_RANGE_DAYS = 31
SLUG_TAKEN = "Calendar slug already exists"  # wording ours; GHL's is unrecorded
_NAMING = ("name", "slug", "widgetSlug")
_DAY_MS = 86_400_000


def owned_calendar(call: Call, calendar_id: str) -> Record:
    return owned(call, "calendars", calendar_id, "Calendar")


def calendar_zone(calendar: Record) -> ZoneInfo:
    return ZoneInfo(calendar.get("timezone") or "UTC")


def zone_named(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise unprocessable(["timezone must be a valid IANA time zone"]) from exc  # ours


def _view(calendar: Record) -> Record:
    """`timezone` is our bookkeeping (GHL uses the location's); it is not a calendar field."""
    return {key: value for key, value in calendar.items() if key != "timezone"}


def busy(state: SimState, calendar_id: str, exclude: str | None = None) -> list[tuple[int, int]]:
    """[start, end) in epoch ms of every live appointment on the calendar."""
    return [
        (epoch_ms(a["startTime"]) or 0, epoch_ms(a["endTime"]) or 0)
        for a in state.store("appointments").values()
        if a["calendarId"] == calendar_id
        and not a.get("deleted")
        and a.get("appointmentStatus") != "cancelled"
        and a["id"] != exclude
    ]


def free_slots(
    call: Call, calendar: Record, start_ms: int, end_ms: int, exclude: str | None = None
) -> list[datetime]:
    """Free slot starts in [start_ms, end_ms], as aware datetimes in the calendar's zone."""
    zone = calendar_zone(calendar)
    length = minutes(calendar, "slotDuration")
    step = minutes(calendar, "slotInterval", length)
    taken = busy(call.state, calendar["id"], exclude)
    now_ms = int(call.sim.now() * 1000)
    day = datetime.fromtimestamp(start_ms / 1000, zone).date()
    last_day = datetime.fromtimestamp(end_ms / 1000, zone).date()
    found: list[datetime] = []
    while day <= last_day:
        js_weekday = (day.weekday() + 1) % 7  # GHL's daysOfTheWeek: 0 = Sunday
        for rule in calendar.get("openHours", []):
            if js_weekday not in rule["daysOfTheWeek"]:
                continue
            for hours in rule["hours"]:
                opens = datetime(day.year, day.month, day.day, hours["openHour"],
                                 hours["openMinute"], tzinfo=zone)  # fmt: skip
                closes = opens.replace(hour=hours["closeHour"], minute=hours["closeMinute"])
                slot = opens
                while slot + timedelta(minutes=length) <= closes:
                    begin = int(slot.timestamp() * 1000)
                    finish = begin + length * 60_000
                    if (
                        start_ms <= begin <= end_ms
                        and begin > now_ms
                        and not any(b < finish and begin < e for b, e in taken)
                    ):
                        found.append(slot)
                    slot += timedelta(minutes=step)
        day += timedelta(days=1)
    return sorted(found)


def render(slot: datetime, zone: ZoneInfo) -> str:
    """`2026-09-22T09:00:00-07:00`: the one format free-slots emits and booking accepts."""
    return slot.astimezone(zone).replace(microsecond=0).isoformat()


async def get_calendars(call: Call) -> Response:
    location_id = query_location(call)
    group_id = call.query("groupId")
    calendars = [
        _view(c)
        for c in call.state.location_records("calendars", location_id)
        if not group_id or c.get("groupId") == group_id
    ]
    return call.respond({"calendars": calendars})


async def get_calendar(call: Call) -> Response:
    return call.respond({"calendar": _view(owned_calendar(call, call.param("calendarId")))})


def _range(call: Call) -> tuple[int, int]:
    missing = [f"{name} should not be empty" for name in ("startDate", "endDate")
               if not call.query(name)]  # fmt: skip
    if missing:
        raise unprocessable(missing)
    start_ms = query_int(call, "startDate", 0)
    end_ms = query_int(call, "endDate", 0)
    if end_ms < start_ms:
        raise bad_request("endDate must be after startDate")  # wording ours
    if end_ms - start_ms > MAX_RANGE_DAYS * _DAY_MS:
        # GHL caps the range at 31 days; its exact message is unrecorded.
        raise bad_request(f"Date range can not be more than {MAX_RANGE_DAYS} days")
    return start_ms, end_ms


async def get_slots(call: Call) -> Response:
    calendar = owned_calendar(call, call.param("calendarId"))
    start_ms, end_ms = _range(call)
    zone = zone_named(call.query("timezone"), calendar_zone(calendar))
    by_date: dict[str, Record] = {}
    for slot in free_slots(call, calendar, start_ms, end_ms):
        local = slot.astimezone(zone)
        by_date.setdefault(local.date().isoformat(), {"slots": []})["slots"].append(
            render(local, zone)
        )
    # The map itself is the body; `traceId` sits next to the date keys (recorded).
    return GhlJSONResponse({**by_date, "traceId": call.trace_id})


def _checked_settings(call: Call, body: Record, location_id: str, own_id: str | None) -> None:
    """422 for malformed nested settings, 400 for a slug another calendar already uses."""
    errors = nested_errors(body)
    if errors:
        raise unprocessable(errors)
    slug = body.get("slug")
    others = (c for c in call.state.location_records("calendars", location_id) if c["id"] != own_id)
    if slug and any(c.get("slug") == slug for c in others):
        raise bad_request(SLUG_TAKEN)


def _dto_defaults(call: Call) -> Record:
    properties = call.sim.spec.resolve(call.op.request_schema).get("properties", {})
    return {name: prop["default"] for name, prop in properties.items()
            if "default" in prop and not prop.get("readOnly")}  # fmt: skip


async def create_calendar(call: Call) -> Response:
    body = call.validated_body()
    location_id = body["locationId"]
    call.require_location(location_id)
    _checked_settings(call, body, location_id, None)
    location = call.state.locations.get(location_id)
    draft: Record = {"id": call.state.ids.ghl_id(), "locationId": location_id,
                     "calendarType": "event", "openHours": [], "teamMembers": [],
                     "slotDurationUnit": "mins", "slotIntervalUnit": "mins",
                     **_dto_defaults(call)}  # fmt: skip
    calendar = apply_settings(draft, body)
    taken = [c.get("slug") or "" for c in call.state.location_records("calendars", location_id)]
    calendar.setdefault("slug", unique_slug(calendar["name"], taken))
    calendar.setdefault("widgetSlug", calendar["slug"])
    calendar["timezone"] = location.timezone if location else "UTC"
    call.state.store("calendars")[calendar["id"]] = calendar
    return call.respond({"calendar": _view(calendar)})


async def update_calendar(call: Call) -> Response:
    body = call.validated_body()
    calendar = owned_calendar(call, call.param("calendarId"))
    blank = [f"{name} should not be empty" for name in _NAMING if body.get(name) == ""]
    if blank:
        raise unprocessable(blank)
    # `null` cannot unname a calendar: the field is left as it is.
    body = {k: v for k, v in body.items() if not (k in _NAMING and v is None)}
    _checked_settings(call, body, calendar["locationId"], calendar["id"])
    updated = apply_settings(calendar, body)
    call.state.store("calendars")[calendar["id"]] = updated
    return call.respond({"calendar": _view(updated)})


async def delete_calendar(call: Call) -> Response:
    calendar = owned_calendar(call, call.param("calendarId"))
    del call.state.store("calendars")[calendar["id"]]
    return call.respond({"success": True})


ENDPOINTS = [
    Endpoint("get-calendars", get_calendars),
    Endpoint("get-calendar", get_calendar),
    Endpoint("get-slots", get_slots),
    Endpoint("create-calendar", create_calendar),
    Endpoint("update-calendar", update_calendar),
    Endpoint("delete-calendar", delete_calendar),
]
