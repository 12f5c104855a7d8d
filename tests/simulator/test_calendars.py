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
