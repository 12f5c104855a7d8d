"""Appointments: book, read, edit, delete, list a calendar's or a contact's events. Notes on an
appointment live in `appointment_notes`.

Booking (research/ghl-wire-facts.md §6.1-6.2): 200 with the appointment *flat* (no wrapper, no
start/end echoed, `status: "booked"`, both `appointmentStatus` and the misspelt
`appoinmentStatus`); no `title` means the contact's full name. Unless
`ignoreFreeSlotValidation`, `startTime` must be a free slot written exactly as free-slots
writes it (an offset, not `Z`), else 400 "The slot you have selected is no longer available."
Check and insert run without an `await` between them, so of identical concurrent bookings
exactly one succeeds. GET is wrapped in `{"appointment": ...}` and still answers for a deleted
appointment, with `deleted: true`. Booking also writes a TYPE_ACTIVITY_APPOINTMENT message to
the contact's conversation. Events: AppointmentCreate/Update/Delete with the fields nested
under `appointment` (webhook-events.json).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.appointment_notes import ENDPOINTS as NOTE_ENDPOINTS
from ghl_bridge.simulator.calendar_model import minutes
from ghl_bridge.simulator.calendars import calendar_zone, free_slots, owned_calendar, render
from ghl_bridge.simulator.contacts import contact_for_call
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import SUCCEEDED, owned, query_int, query_location
from ghl_bridge.simulator.threads import add_message, conversation_for
from ghl_bridge.simulator.timefmt import epoch_ms, iso_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
SLOT_TAKEN = "The slot you have selected is no longer available."
_SLOT_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_EDITABLE = ("title", "address", "appointmentStatus", "assignedUserId", "meetingLocationType")
_EVENT_FIELDS = (
    "id", "address", "title", "calendarId", "contactId", "groupId", "appointmentStatus",
    "assignedUserId", "users", "notes", "source", "startTime", "endTime", "dateAdded",
    "dateUpdated",
)  # fmt: skip


def _instant(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise unprocessable([f"{name} must be a valid ISO 8601 date string"]) from exc
    if moment.tzinfo is None:
        raise unprocessable([f"{name} must be a valid ISO 8601 date string"])
    return moment


def _check_slot(call: Call, calendar: Record, raw: str, exclude: str | None = None) -> None:
    moment = _instant(raw, "startTime")
    millis = int(moment.timestamp() * 1000)
    offered = {
        int(s.timestamp() * 1000) for s in free_slots(call, calendar, millis, millis, exclude)
    }
    # A `Z` or millisecond form of an offered slot is refused too (seen live).
    if millis not in offered or not _SLOT_FORMAT.match(raw):
        raise bad_request(SLOT_TAKEN)


def _times(calendar: Record, body: dict[str, Any], current: Record | None) -> tuple[str, str]:
    """Start/end as ISO with the calendar's offset; end defaults to start + slot duration."""
    zone = calendar_zone(calendar)
    start = _instant(body["startTime"], "startTime") if body.get("startTime") else None
    if start is None and current is not None:
        start = _instant(current["startTime"], "startTime")
    assert start is not None  # create requires startTime (DTO)
    if body.get("endTime"):
        end = _instant(body["endTime"], "endTime")
    elif current is not None and not body.get("startTime"):
        end = _instant(current["endTime"], "endTime")
    else:
        end = start + timedelta(minutes=minutes(calendar, "slotDuration"))
    if end <= start:
        raise bad_request("endTime must be after startTime")  # wording ours
    return render(start, zone), render(end, zone)


def _flat(appointment: Record) -> Record:
    """The create/edit response (recorded): flat, `status: booked`, no start/end echoed."""
    keys = ("id", "calendarId", "locationId", "contactId", "title", "assignedUserId")
    view = {key: appointment[key] for key in keys if appointment.get(key) is not None}
    status = appointment["appointmentStatus"]
    view.update(status="booked", appointmentStatus=status, appoinmentStatus=status)
    view.update(address=appointment.get("address") or "", dateAdded=appointment["dateAdded"])
    view.update(dateUpdated=appointment["dateUpdated"], isRecurring=False)
    return view


def _detail(appointment: Record) -> Record:
    """The get-appointment / list shape (recorded keys), `deleted` included."""
    view = _flat(appointment)
    del view["status"]
    view.update(
        startTime=appointment["startTime"],
        endTime=appointment["endTime"],
        assignedResources=[],
        createdBy={"source": "third_party", "userId": None},
        appointmentMeta={"slotType": "custom"},
        deleted=bool(appointment.get("deleted")),
    )
    return view


def _event(appointment: Record) -> Record:
    merged = {**appointment, "users": [], "source": "third_party"}
    return {"appointment": {k: merged[k] for k in _EVENT_FIELDS if merged.get(k) is not None}}


def _contact(call: Call, contact_id: str, location_id: str) -> Record:
    contact = call.state.find_contact(contact_id)
    if contact is None or contact["locationId"] != location_id:
        raise bad_request(f"Contact with id {contact_id} not found")
    return contact


def _calendar_in(call: Call, calendar_id: str, location_id: str) -> Record:
    calendar = owned_calendar(call, calendar_id)
    if calendar["locationId"] != location_id:
        raise bad_request("Calendar not found")
    return calendar


async def create_appointment(call: Call) -> Response:
    body = call.validated_body()
    location_id = body["locationId"]
    call.require_location(location_id)
    calendar = _calendar_in(call, body["calendarId"], location_id)
    contact = _contact(call, body["contactId"], location_id)
    if not body.get("ignoreFreeSlotValidation"):
        _check_slot(call, calendar, str(body["startTime"]))
    start, end = _times(calendar, body, None)
    now = iso_ms(call.sim.now())
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    appointment: Record = {
        "id": call.state.ids.ghl_id(), "calendarId": calendar["id"], "locationId": location_id,
        "contactId": contact["id"], "title": body.get("title") or name or "Appointment",
        "appointmentStatus": body.get("appointmentStatus") or "confirmed",
        "address": body.get("address") or "", "startTime": start, "endTime": end,
        "dateAdded": now, "dateUpdated": now, "deleted": False,
    }  # fmt: skip
    if body.get("assignedUserId"):
        appointment["assignedUserId"] = body["assignedUserId"]
    call.state.store("appointments")[appointment["id"]] = appointment
    _log_activity(call, contact, appointment, now)
    call.emit("AppointmentCreate", location_id, _event(appointment))
    return call.respond(_flat(appointment))


def _log_activity(call: Call, contact: Record, appointment: Record, now: str) -> None:
    conversation = conversation_for(call.state, contact, now)
    add_message(
        call.state, conversation, now,
        messageType="TYPE_ACTIVITY_APPOINTMENT", direction="outbound", body="",
        source="app", status="delivered",
        activity={"type": "appointment_created", "title": "New appointment created",
                  "data": {"appointmentId": appointment["id"],
                           "calendarId": appointment["calendarId"],
                           "startTime": appointment["startTime"]}},
    )  # fmt: skip


def _owned(call: Call) -> Record:
    return owned(call, "appointments", call.param("eventId"), "Appointment")


async def get_appointment(call: Call) -> Response:
    # Recorded wrapper is `appointment` (the spec says `event`).
    return call.respond({"appointment": _detail(_owned(call))})


async def edit_appointment(call: Call) -> Response:
    body = call.validated_body()
    current = _owned(call)
    if current.get("deleted"):
        raise bad_request("Appointment not found")
    calendar = _calendar_in(call, body.get("calendarId") or current["calendarId"],
                            current["locationId"])  # fmt: skip
    if body.get("startTime") and not body.get("ignoreFreeSlotValidation"):
        _check_slot(call, calendar, str(body["startTime"]), exclude=current["id"])
    start, end = _times(calendar, body, current)
    updated = {**current, "calendarId": calendar["id"], "startTime": start, "endTime": end}
    updated.update({k: body[k] for k in _EDITABLE if body.get(k) is not None})
    updated["dateUpdated"] = iso_ms(call.sim.now())
    call.state.store("appointments")[current["id"]] = updated
    call.emit("AppointmentUpdate", updated["locationId"], _event(updated))
    return call.respond(_flat(updated))


async def delete_event(call: Call) -> Response:
    appointment = _owned(call)
    if not appointment.get("deleted"):
        appointment.update(deleted=True, dateUpdated=iso_ms(call.sim.now()))
        call.emit("AppointmentDelete", appointment["locationId"], _event(appointment))
    return call.respond({"succeeded": True, **SUCCEEDED})


async def get_calendar_events(call: Call) -> Response:
    location_id = query_location(call)
    missing = [f"{n} should not be empty" for n in ("startTime", "endTime") if not call.query(n)]
    if missing:
        raise unprocessable(missing)
    start_ms, end_ms = query_int(call, "startTime", 0), query_int(call, "endTime", 0)
    calendar_id, user_id, group_id = (call.query(n) for n in ("calendarId", "userId", "groupId"))
    if not (calendar_id or user_id or group_id):
        # GHL needs one of the three; its exact wording is unrecorded.
        raise bad_request("Either calendarId, userId or groupId is required")
    events = [
        a for a in call.state.location_records("appointments", location_id)
        if not a.get("deleted")
        and (not calendar_id or a["calendarId"] == calendar_id)
        and (not user_id or a.get("assignedUserId") == user_id)
        and (not group_id or a.get("groupId") == group_id)
        and (epoch_ms(a["startTime"]) or 0) < end_ms
        and (epoch_ms(a["endTime"]) or 0) > start_ms
    ]  # fmt: skip
    events.sort(key=lambda a: (epoch_ms(a["startTime"]) or 0, a["id"]))
    return call.respond({"events": [_detail(a) for a in events]})


async def get_contact_appointments(call: Call) -> Response:
    """`GET /contacts/{contactId}/appointments`: the contact's live appointments, soonest
    first, in the get-appointment shape (the spec's GetEventSchema is a subset of it)."""
    contact = contact_for_call(call)
    mine = [
        a for a in call.state.location_records("appointments", contact["locationId"])
        if a["contactId"] == contact["id"] and not a.get("deleted")
    ]  # fmt: skip
    mine.sort(key=lambda a: (epoch_ms(a["startTime"]) or 0, a["id"]))
    return call.respond({"events": [_detail(a) for a in mine]})


ENDPOINTS = [
    Endpoint("create-appointment", create_appointment),
    Endpoint("get-appointment", get_appointment),
    Endpoint("edit-appointment", edit_appointment),
    Endpoint("delete-event", delete_event),
    Endpoint("get-calendar-events", get_calendar_events),
    Endpoint("get-appointments-for-contact", get_contact_appointments),
    *NOTE_ENDPOINTS,
]
