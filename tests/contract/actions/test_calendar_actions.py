"""Calendar, appointment and calendar-notification actions against the simulator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.contract.actions.conftest import Acts


def _week_ahead(**extra: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    start, end = today + timedelta(days=1), today + timedelta(days=7)
    return {"startDate": start.isoformat(), "endDate": end.isoformat(), **extra}


async def _slots(acts: Acts, **extra: Any) -> list[str]:
    calendar = acts.seed["calendars"][0]
    out = await acts.run("calendars.free_slots", {"calendarId": calendar, **_week_ahead(**extra)})
    assert out["count"] == len(out["slots"]) > 1
    return list(out["slots"])


async def _booking(acts: Acts) -> tuple[str, list[str]]:
    contact = await acts.run("contacts.create", {"firstName": "Bea", "email": "bea@example.com"})
    slots = await _slots(acts)
    made = await acts.run(
        "appointments.create",
        {
            "calendarId": acts.seed["calendars"][0],
            "contactId": contact["contact"]["id"],
            "startTime": slots[0],
        },
    )
    return str(made["appointment"]["id"]), slots


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_list_calendars(acts: Acts) -> None:
    out = await acts.run("calendars.list")
    assert set(acts.seed["calendars"]) <= {c["id"] for c in out["items"]}
    assert await acts.invalid("calendars.list", {"groupId": "not an id!"}) == ["groupId"]


async def test_free_slots_in_a_time_zone(acts: Acts) -> None:
    calendar = acts.seed["calendars"][0]
    out = await acts.run(
        "calendars.free_slots", {"calendarId": calendar, **_week_ahead(timezone="Asia/Tokyo")}
    )
    assert out["slots"] and all(s.endswith("+09:00") for s in out["slots"])
    for day in out["days"]:
        assert all(s.startswith(day["date"]) for s in day["slots"])
    assert out["slots"] == sorted(out["slots"], key=_instant)
    first, last = date.fromisoformat(out["days"][0]["date"]), out["days"][-1]["date"]
    assert first > datetime.now(UTC).date() - timedelta(days=1) and last <= _week_ahead()["endDate"]


async def test_free_slots_refusals(acts: Acts) -> None:
    calendar = acts.seed["calendars"][0]
    long = {"calendarId": calendar, "startDate": "2030-01-01", "endDate": "2030-03-01"}
    assert await acts.invalid("calendars.free_slots", long) == ["(root)"]
    backwards = {"calendarId": calendar, "startDate": "2030-01-05", "endDate": "2030-01-01"}
    assert await acts.invalid("calendars.free_slots", backwards) == ["(root)"]
    zone = await acts.refused(
        "calendars.free_slots", {"calendarId": calendar, **_week_ahead(timezone="Mars/Base")}
    )
    assert zone.code == "validation_error"
    unknown = await acts.refused("calendars.free_slots", {"calendarId": "nope123", **_week_ahead()})
    assert unknown.code == "not_found"


async def test_book_get_reschedule_cancel(acts: Acts) -> None:
    appointment_id, slots = await _booking(acts)
    got = await acts.run("appointments.get", {"appointmentId": appointment_id})
    assert _instant(got["appointment"]["startTime"]) == _instant(slots[0])
    moved = await acts.run(
        "appointments.reschedule", {"appointmentId": appointment_id, "startTime": slots[1]}
    )
    assert moved["appointment"]["id"] == appointment_id
    again = await acts.run(
        "appointments.reschedule", {"appointmentId": appointment_id, "startTime": slots[1]}
    )
    assert again["appointment"]["id"] == appointment_id  # the same move twice is harmless
    got = await acts.run("appointments.get", {"appointmentId": appointment_id})
    assert _instant(got["appointment"]["startTime"]) == _instant(slots[1])
    assert slots[1] not in await _slots(acts)
    cancelled = await acts.run(
        "appointments.cancel", {"appointmentId": appointment_id, "toNotify": False}
    )
    assert cancelled["appointment"]["appointmentStatus"] == "cancelled"
    got = await acts.run("appointments.get", {"appointmentId": appointment_id})
    assert got["appointment"]["appointmentStatus"] == "cancelled"
    assert slots[1] in await _slots(acts)  # the slot is free again


async def test_booking_refusals(acts: Acts) -> None:
    appointment_id, slots = await _booking(acts)
    contact = await acts.run("contacts.create", {"firstName": "Cy"})
    taken = await acts.refused(
        "appointments.create",
        {
            "calendarId": acts.seed["calendars"][0],
            "contactId": contact["contact"]["id"],
            "startTime": slots[0],
        },
    )
    assert taken.code == "ghl_error" and "no longer available" in taken.message
    assert await acts.invalid(
        "appointments.create",
        {"calendarId": "c1", "contactId": "k1", "startTime": "tomorrow at ten"},
    ) == ["startTime"]
    missing = await acts.refused("appointments.get", {"appointmentId": "nope123"})
    assert missing.code == "not_found"
    assert await acts.invalid("appointments.reschedule", {"appointmentId": appointment_id}) == [
        "startTime"
    ]
    nowhere = await acts.refused(
        "appointments.reschedule", {"appointmentId": appointment_id, "startTime": slots[0][:-6]}
    )
    assert nowhere.code == "validation_error"  # no offset: refused before GHL
    gone = await acts.refused("appointments.cancel", {"appointmentId": "nope123"})
    assert gone.code == "not_found"


async def test_appointment_notes(acts: Acts) -> None:
    appointment_id, _ = await _booking(acts)
    note = await acts.run(
        "appointments.add_note", {"appointmentId": appointment_id, "body": "Bring X-rays"}
    )
    assert note["note"]["body"] == "Bring X-rays"
    listed = await acts.ghl.appointments.list_notes(acts.location_id, appointment_id)
    assert [n["id"] for n in listed["notes"]] == [note["note"]["id"]]
    assert await acts.invalid(
        "appointments.add_note", {"appointmentId": appointment_id, "body": ""}
    ) == ["body"]
    missing = await acts.refused(
        "appointments.add_note", {"appointmentId": "nope123", "body": "hello"}
    )
    assert missing.code == "not_found"


REMINDER = {
    "notificationType": "reminder",
    "channel": "sms",
    "receiverType": "contact",
    "body": "See you soon",
    "beforeTime": [{"timeOffset": 2, "unit": "hours"}],
}


async def test_notifications_set_creates_then_changes_one(acts: Acts) -> None:
    calendar = acts.seed["calendars"][0]
    made = await acts.run("calendars.notifications_set", {"calendarId": calendar, **REMINDER})
    assert made["created"] is True
    notification_id = made["notification"]["id"]
    changed = await acts.run(
        "calendars.notifications_set",
        {**REMINDER, "calendarId": calendar, "beforeTime": [{"timeOffset": 1, "unit": "days"}]},
    )
    assert changed["created"] is False and changed["notification"]["id"] == notification_id
    assert changed["notification"]["beforeTime"] == [{"timeOffset": 1, "unit": "days"}]
    listed = await acts.run("calendars.notifications_list", {"calendarId": calendar})
    reminders = [n for n in listed["items"] if n["notificationType"] == "reminder"]
    assert [n["id"] for n in reminders] == [notification_id]
    off = await acts.run(
        "calendars.notifications_set",
        {**REMINDER, "calendarId": calendar, "notificationId": notification_id, "isActive": False},
    )
    assert off["notification"]["isActive"] is False
    active = await acts.run(
        "calendars.notifications_list", {"calendarId": calendar, "isActive": True}
    )
    assert notification_id not in {n["id"] for n in active["items"]}
    email = await acts.run(
        "calendars.notifications_set",
        {**REMINDER, "calendarId": calendar, "channel": "email", "subject": "Soon"},
    )
    assert email["created"] is True and email["notification"]["id"] != notification_id


async def test_notification_refusals(acts: Acts) -> None:
    calendar = acts.seed["calendars"][0]
    assert await acts.invalid(
        "calendars.notifications_set", {**REMINDER, "calendarId": calendar, "channel": "pigeon"}
    ) == ["channel"]
    unknown = await acts.refused(
        "calendars.notifications_set",
        {**REMINDER, "calendarId": calendar, "notificationId": "nope123"},
    )
    assert unknown.code == "not_found"
    no_calendar = await acts.refused("calendars.notifications_list", {"calendarId": "nope123"})
    assert no_calendar.code == "not_found"
