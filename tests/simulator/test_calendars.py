"""Calendars, free slots and appointments: slot validation, races, wrappers, deletes, webhooks."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.simulator.conftest import FakeClock, Receiver, SimClient
from tests.simulator.test_webhooks import events, flush, subscribe, verify

DAY_MS = 86_400_000
SLOT_TAKEN = "The slot you have selected is no longer available."


async def calendars(sim: SimClient) -> list[dict[str, Any]]:
    resp = await sim.call("GET", "/calendars/", params={"locationId": sim.location_id})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["calendars"])


async def slots(
    sim: SimClient, calendar_id: str, clock: FakeClock, days: int = 7, **extra: str
) -> Any:
    start = int(clock.now * 1000)
    params = {"startDate": str(start), "endDate": str(start + days * DAY_MS), **extra}
    return await sim.call("GET", f"/calendars/{calendar_id}/free-slots", params=params)


async def a_contact(sim: SimClient) -> dict[str, Any]:
    found = await sim.call(
        "POST", "/contacts/search", json={"locationId": sim.location_id, "pageLimit": 1}
    )
    return dict(found.json()["contacts"][0])


async def book(sim: SimClient, calendar_id: str, contact_id: str, start: str, **extra: Any) -> Any:
    body = {"calendarId": calendar_id, "locationId": sim.location_id, "contactId": contact_id,
            "startTime": start, **extra}  # fmt: skip
    return await sim.call("POST", "/calendars/events/appointments", json=body)


async def test_seeded_calendars(sim: SimClient) -> None:
    found = await calendars(sim)
    assert [c["name"] for c in found] == ["Consultation", "Follow-up Call"]
    assert found[0]["slotDuration"] == 30 and found[0]["openHours"][0]["daysOfTheWeek"] == [
        1,
        2,
        3,
        4,
        5,
    ]
    one = await sim.call("GET", f"/calendars/{found[0]['id']}")
    assert one.json()["calendar"] == found[0]
    assert (
        await sim.call("GET", f"/calendars/{found[0]['id']}", token=sim.pit(1))
    ).status_code == 403
    missing = await sim.call("GET", "/calendars/nope")
    assert (missing.status_code, missing.json()["message"]) == (400, "Calendar not found")


async def test_free_slots_shape_and_timezone(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[0]
    body = (await slots(sim, calendar["id"], clock)).json()
    trace = body.pop("traceId")
    assert isinstance(trace, str)
    # Clock: Monday 2026-09-21 07:13 in Los Angeles; Mon-Fri 09:00-17:00 every 30 minutes.
    assert sorted(body) == ["2026-09-21", "2026-09-22", "2026-09-23", "2026-09-24", "2026-09-25"]
    monday = body["2026-09-21"]["slots"]
    assert (monday[0], monday[-1], len(monday)) == (
        "2026-09-21T09:00:00-07:00", "2026-09-21T16:30:00-07:00", 16,
    )  # fmt: skip
    eastern = (await slots(sim, calendar["id"], clock, timezone="America/New_York")).json()
    assert eastern["2026-09-21"]["slots"][0] == "2026-09-21T12:00:00-04:00"
    clock.advance(2 * 3600)  # 09:13: the 09:00 slot is gone
    later = (await slots(sim, calendar["id"], clock, days=1)).json()
    assert later["2026-09-21"]["slots"][0] == "2026-09-21T09:30:00-07:00"


async def test_free_slots_errors(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[0]
    too_long = await slots(sim, calendar["id"], clock, days=32)
    assert too_long.status_code == 400
    missing = await sim.call("GET", f"/calendars/{calendar['id']}/free-slots")
    assert missing.json()["message"] == [
        "startDate should not be empty",
        "endDate should not be empty",
    ]


async def test_booking_validates_the_slot(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[0]
    contact = await a_contact(sim)
    first = (await slots(sim, calendar["id"], clock)).json()["2026-09-22"]["slots"][0]
    made = await book(sim, calendar["id"], contact["id"], first)
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["status"] == "booked" and body["appoinmentStatus"] == body["appointmentStatus"]
    assert body["title"] == f"{contact['firstName']} {contact['lastName']}"
    assert "startTime" not in body and "endTime" not in body
    after = (await slots(sim, calendar["id"], clock)).json()["2026-09-22"]["slots"]
    assert first not in after
    for start in (
        first,
        "2026-09-22T16:00:00Z",
        "2026-09-22T09:10:00-07:00",
        "2026-09-20T10:00:00-07:00",
    ):
        refused = await book(sim, calendar["id"], contact["id"], start)
        assert (refused.status_code, refused.json()["message"]) == (400, SLOT_TAKEN), start
    forced = await book(sim, calendar["id"], contact["id"], "2026-09-22T09:10:00-07:00",
                        ignoreFreeSlotValidation=True, title="Forced")  # fmt: skip
    assert forced.status_code == 200 and forced.json()["title"] == "Forced"


async def test_concurrent_identical_bookings_one_wins(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[1]
    contact = await a_contact(sim)
    slot = (await slots(sim, calendar["id"], clock)).json()["2026-09-23"]["slots"][2]
    results = await asyncio.gather(
        *(book(sim, calendar["id"], contact["id"], slot) for _ in range(4))
    )
    assert sorted(r.status_code for r in results) == [200, 400, 400, 400]


async def test_get_edit_delete_and_list(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[0]
    contact = await a_contact(sim)
    day = (await slots(sim, calendar["id"], clock)).json()["2026-09-24"]["slots"]
    made = (await book(sim, calendar["id"], contact["id"], day[0])).json()
    path = f"/calendars/events/appointments/{made['id']}"
    got = (await sim.call("GET", path)).json()["appointment"]
    assert (got["startTime"], got["endTime"]) == (day[0], day[1])
    assert got["deleted"] is False and got["createdBy"]["source"] == "third_party"
    moved = await sim.call("PUT", path, json={"startTime": day[3], "appointmentStatus": "showed"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["appointmentStatus"] == "showed"
    taken = await sim.call("PUT", path, json={"startTime": "2026-09-24T09:05:00-07:00"})
    assert taken.json()["message"] == SLOT_TAKEN
    now_ms = int(clock.now * 1000)
    window = {"locationId": sim.location_id, "calendarId": calendar["id"],
              "startTime": str(now_ms), "endTime": str(now_ms + 7 * DAY_MS)}  # fmt: skip
    listed = (await sim.call("GET", "/calendars/events", params=window)).json()["events"]
    assert [(e["id"], e["startTime"]) for e in listed] == [(made["id"], day[3])]
    deleted = await sim.call("DELETE", f"/calendars/events/{made['id']}")
    assert (deleted.status_code, deleted.json()["succeeded"]) == (201, True)
    still = await sim.call("GET", path)
    assert still.status_code == 200 and still.json()["appointment"]["deleted"] is True
    assert (await sim.call("GET", "/calendars/events", params=window)).json()["events"] == []
    assert day[3] in (await slots(sim, calendar["id"], clock)).json()["2026-09-24"]["slots"]
    no_filter = {k: v for k, v in window.items() if k != "calendarId"}
    assert (await sim.call("GET", "/calendars/events", params=no_filter)).status_code == 400


async def test_booking_errors(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[0]
    contact = await a_contact(sim)
    missing = await sim.call(
        "POST", "/calendars/events/appointments", json={"locationId": sim.location_id}
    )
    assert (
        missing.status_code == 422 and "calendarId should not be empty" in missing.json()["message"]
    )
    stranger = await book(sim, calendar["id"], "nobody", "2026-09-22T09:00:00-07:00")
    assert stranger.status_code == 400
    foreign = await book(sim, calendar["id"], contact["id"], "2026-09-22T09:00:00-07:00")
    foreign_token = await sim.call(
        "POST", "/calendars/events/appointments", token=sim.pit(1),
        json={"calendarId": calendar["id"], "locationId": sim.location_id,
              "contactId": contact["id"], "startTime": "2026-09-22T09:30:00-07:00"},
    )  # fmt: skip
    assert foreign.status_code == 200 and foreign_token.status_code == 403


async def test_booking_logs_activity_and_emits_events(
    sim: SimClient, clock: FakeClock, receiver: Receiver
) -> None:
    await subscribe(sim, receiver)
    calendar = (await calendars(sim))[0]
    contact = await a_contact(sim)
    slot = (await slots(sim, calendar["id"], clock)).json()["2026-09-25"]["slots"][0]
    made = (await book(sim, calendar["id"], contact["id"], slot)).json()
    await sim.call("PUT", f"/calendars/events/appointments/{made['id']}", json={"title": "Renamed"})
    await sim.call("DELETE", f"/calendars/events/{made['id']}")
    await flush(sim)
    got = [e for e in events(receiver) if e["type"].startswith("Appointment")]
    assert [e["type"] for e in got] == [
        "AppointmentCreate",
        "AppointmentUpdate",
        "AppointmentDelete",
    ]
    assert got[0]["appointment"]["id"] == made["id"] and got[0]["appointment"]["startTime"] == slot
    assert got[1]["appointment"]["title"] == "Renamed"
    for body, headers in receiver.received:
        verify(sim, body, headers)
    messages = sim.app.state.sim.state.store("messages").values()
    activity = [m for m in messages if m["contactId"] == contact["id"]]
    assert [(m["type"], m["messageType"]) for m in activity] == [(31, "TYPE_ACTIVITY_APPOINTMENT")]
    assert activity[0]["activity"]["type"] == "appointment_created"


def _hours(*days: int, opens: int = 9, closes: int = 12) -> list[dict[str, Any]]:
    span = {"openHour": opens, "openMinute": 0, "closeHour": closes, "closeMinute": 0}
    return [{"daysOfTheWeek": list(days), "hours": [span]}]


async def _create(sim: SimClient, **fields: Any) -> Any:
    body = {"locationId": sim.location_id, "name": "Strategy Call", **fields}
    return await sim.call("POST", "/calendars/", json=body)


async def test_create_calendar_defaults_slug_and_own_slots(
    sim: SimClient, clock: FakeClock
) -> None:
    made = await _create(sim, openHours=_hours(2), slotDuration=1, slotDurationUnit="hours",
                         slotInterval=1, slotIntervalUnit="hours")  # fmt: skip
    assert made.status_code == 200, made.text
    calendar = made.json()["calendar"]
    assert (calendar["slug"], calendar["widgetSlug"], calendar["calendarType"]) == (
        "strategy-call", "strategy-call", "event",
    )  # fmt: skip
    assert (calendar["autoConfirm"], calendar["appoinmentPerSlot"], calendar["isActive"]) == (
        True, 1, True,
    )  # fmt: skip
    assert "timezone" not in calendar
    assert calendar["id"] in [c["id"] for c in await calendars(sim)]
    free = (await slots(sim, calendar["id"], clock)).json()
    free.pop("traceId")
    assert free == {"2026-09-22": {"slots": [
        "2026-09-22T09:00:00-07:00", "2026-09-22T10:00:00-07:00", "2026-09-22T11:00:00-07:00",
    ]}}  # fmt: skip
    second = (await _create(sim)).json()["calendar"]
    assert second["slug"] == "strategy-call-2"
    taken = await _create(sim, slug="strategy-call")
    assert (taken.status_code, taken.json()["message"]) == (400, "Calendar slug already exists")


async def test_create_calendar_validation(sim: SimClient) -> None:
    bad = await _create(
        sim,
        openHours=[{"daysOfTheWeek": [7], "hours": [{"openHour": 10, "openMinute": 0,
                                                     "closeHour": 9, "closeMinute": 0}]}],
        teamMembers=[{"priority": 2}],
    )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["message"] == [
        "openHours.0.daysOfTheWeek.0 must not be greater than 6",
        "openHours.0.hours.0 must close after it opens",
        "teamMembers.0.userId should not be empty",
        "teamMembers.0.priority must be a valid enum value",
    ]
    nameless = await sim.call("POST", "/calendars/", json={"locationId": sim.location_id})
    assert nameless.json()["message"] == ["name must be a string", "name should not be empty"]
    foreign = await _create(sim, locationId=sim.other_location_id)
    assert foreign.status_code == 403


async def test_update_and_delete_calendar(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await _create(sim, openHours=_hours(2))).json()["calendar"]
    path = f"/calendars/{calendar['id']}"
    moved = await sim.call("PUT", path, json={"openHours": _hours(3), "name": "Renamed"})
    assert moved.status_code == 200 and moved.json()["calendar"]["name"] == "Renamed"
    free = (await slots(sim, calendar["id"], clock)).json()
    assert sorted(free) == ["2026-09-23", "traceId"] and len(free["2026-09-23"]["slots"]) == 6
    assert (await sim.call("GET", path)).json()["calendar"]["openHours"] == _hours(3)
    kept_name = await sim.call("PUT", path, json={"name": None, "description": "Weekly"})
    assert (kept_name.json()["calendar"]["name"], kept_name.json()["calendar"]["description"]) == (
        "Renamed", "Weekly",
    )  # fmt: skip
    refused = [
        await sim.call("PUT", path, json={"name": "", "slug": ""}),
        await sim.call("PUT", path, json={"locationId": sim.location_id}),
        await sim.call("PUT", path, json={"slug": "consultation-0"}),  # a seeded calendar's
    ]
    assert [(r.status_code, r.json()["message"]) for r in refused] == [
        (422, ["name should not be empty", "slug should not be empty"]),
        (422, ["property locationId should not exist"]),
        (400, "Calendar slug already exists"),
    ]
    assert (await sim.call("PUT", path, json={"name": "x"}, token=sim.pit(1))).status_code == 403
    contact = await a_contact(sim)
    booked = (await book(sim, calendar["id"], contact["id"], free["2026-09-23"]["slots"][0])).json()
    deleted = await sim.call("DELETE", path)
    assert (deleted.status_code, deleted.json()["success"]) == (200, True)
    assert (await sim.call("GET", path)).status_code == 400
    assert (await slots(sim, calendar["id"], clock)).status_code == 400
    kept = await sim.call("GET", f"/calendars/events/appointments/{booked['id']}")
    assert kept.status_code == 200 and kept.json()["appointment"]["calendarId"] == calendar["id"]


async def test_appointment_notes(sim: SimClient, clock: FakeClock) -> None:
    calendar = (await calendars(sim))[0]
    contact = await a_contact(sim)
    day = (await slots(sim, calendar["id"], clock)).json()["2026-09-22"]["slots"]
    made = (await book(sim, calendar["id"], contact["id"], day[0])).json()
    other = (await book(sim, calendar["id"], contact["id"], day[2])).json()
    notes = f"/calendars/appointments/{made['id']}/notes"
    ids = []
    for n in range(3):
        clock.advance(1)
        resp = await sim.call("POST", notes, json={"body": f"note {n}", "userId": "u" * 20})
        assert resp.status_code == 201, resp.text
        note = resp.json()["note"]
        assert (note["contactId"], note["createdBy"]) == (contact["id"], {"id": "u" * 20})
        ids.append(note["id"])
    first = (await sim.call("GET", notes, params={"limit": 2, "offset": 0})).json()
    assert ([n["id"] for n in first["notes"]], first["hasMore"]) == ([ids[2], ids[1]], True)
    rest = (await sim.call("GET", notes, params={"limit": 2, "offset": 2})).json()
    assert ([n["id"] for n in rest["notes"]], rest["hasMore"]) == ([ids[0]], False)
    edited = await sim.call("PUT", f"{notes}/{ids[0]}", json={"body": "edited"})
    assert edited.json()["note"]["body"] == "edited"
    assert (await sim.call("DELETE", f"{notes}/{ids[1]}")).json()["success"] is True
    left = (await sim.call("GET", notes, params={"limit": 20, "offset": 0})).json()["notes"]
    assert [(n["id"], n["body"]) for n in left] == [(ids[2], "note 2"), (ids[0], "edited")]
    elsewhere = f"/calendars/appointments/{other['id']}/notes/{ids[0]}"
    assert (await sim.call("PUT", elsewhere, json={"body": "x"})).status_code == 400
    errors = [
        await sim.call("GET", notes, params={"limit": 21, "offset": 0}),
        await sim.call("GET", notes, params={"limit": 5}),
        await sim.call("POST", notes, json={"body": "x" * 5001}),
    ]
    assert [r.json()["message"] for r in errors] == [
        ["limit must not be greater than 20"],
        ["offset should not be empty"],
        ["body must be shorter than or equal to 5000 characters"],
    ]
    assert (await sim.call("POST", notes, json={"body": "x"}, token=sim.pit(1))).status_code == 403
    await sim.call("DELETE", f"/calendars/events/{made['id']}")
    assert (await sim.call("POST", notes, json={"body": "late"})).status_code == 400
    assert (
        len((await sim.call("GET", notes, params={"limit": 5, "offset": 0})).json()["notes"]) == 2
    )
