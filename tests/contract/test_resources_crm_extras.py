"""Typed resources for the later CRM operations against the simulator: the deprecated contact
list, followers, lost reasons, conversation update/delete, scheduled sends, the message export,
calendar settings and appointment notes."""

from __future__ import annotations

import time

import pytest
from tests.contract.conftest import Sim

from ghl_bridge.client import GHLClient
from ghl_bridge.client.errors import GHLAPIError

DAY_MS = 86_400_000


async def _contact(ghl: GHLClient, location: str, email: str) -> str:
    created = await ghl.contacts.create(location, {"firstName": "Fay", "email": email})
    return str(created["contact"]["id"])


async def test_contact_list_followers_and_appointments(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contact_id = await _contact(ghl, location, "fay@example.com")
    listed = [c async for c in ghl.contacts.iter_list(location, limit=3)]
    assert len(listed) == len({c["id"] for c in listed}) == 7  # six seeded, one made
    assert listed[0]["id"] == contact_id  # newest first
    added = await ghl.contacts.add_followers(location, contact_id, ["u1", "u2"])
    assert added["followersAdded"] == ["u1", "u2"]
    removed = await ghl.contacts.remove_followers(location, contact_id, ["u1"])
    assert removed["followers"] == ["u2"]
    calendar = (await ghl.calendars.list(location))["calendars"][0]
    now = int(time.time() * 1000)
    slots = await ghl.calendars.free_slots(location, calendar["id"], now, now + 7 * DAY_MS)
    start = next(day["slots"][0] for key, day in sorted(slots.items()) if key != "traceId")
    booked = await ghl.appointments.create(
        location, {"calendarId": calendar["id"], "contactId": contact_id, "startTime": start}
    )
    events = (await ghl.contacts.list_appointments(location, contact_id))["events"]
    assert [e["id"] for e in events] == [booked["id"]]


async def test_opportunity_followers_and_lost_reasons(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    opportunity = (await ghl.opportunities.search(location, {"limit": 1}))["opportunities"][0]
    await ghl.opportunities.add_followers(location, opportunity["id"], ["a", "b"])
    await ghl.opportunities.remove_followers(location, opportunity["id"], ["a"])
    got = (await ghl.opportunities.get(location, opportunity["id"]))["opportunity"]
    assert got["followers"] == ["b"]
    cleared = await ghl.opportunities.remove_followers(
        location, opportunity["id"], [], remove_all=True
    )
    assert (cleared["followers"], cleared["followersRemoved"]) == ([], ["b"])
    reasons = (await ghl.opportunities.lost_reasons(location))["lostReasons"]
    assert len(reasons) == 4 and {r["locationId"] for r in reasons} == {location}
    lost = await ghl.opportunities.set_status(
        location, opportunity["id"], "lost", lost_reason_id=reasons[0]["id"]
    )
    assert lost["succeded"]


async def test_conversation_update_schedule_export_delete(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contact_id = await _contact(ghl, location, "talk@example.com")
    sent = [
        await ghl.conversations.send(
            location, {"type": "SMS", "contactId": contact_id, "message": f"m{n}"}
        )
        for n in range(11)
    ]
    conversation_id = sent[0]["conversationId"]
    updated = await ghl.conversations.update(location, conversation_id, {"starred": True})
    assert updated["conversation"]["starred"] is True
    later = await ghl.conversations.send(
        location,
        {"type": "SMS", "contactId": contact_id, "message": "later",
         "scheduledTimestamp": int(time.time()) + 3600},
    )  # fmt: skip
    assert (await ghl.conversations.cancel_scheduled(location, later["messageId"]))["status"] == 200
    with pytest.raises(GHLAPIError) as refused:
        await ghl.conversations.cancel_scheduled(location, sent[0]["messageId"])
    assert refused.value.status == 400
    exported = [
        m["id"]
        async for m in ghl.conversations.iter_export(location, {"contactId": contact_id}, limit=10)
    ]
    assert exported == [s["messageId"] for s in reversed(sent)]
    assert (await ghl.conversations.delete(location, conversation_id))["success"] is True
    with pytest.raises(GHLAPIError):
        await ghl.conversations.get(location, conversation_id)


async def test_calendar_settings_and_appointment_notes(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    all_day = {"openHour": 0, "openMinute": 0, "closeHour": 23, "closeMinute": 0}
    hours = [{"daysOfTheWeek": list(range(7)), "hours": [all_day]}]
    made = (await ghl.calendars.create(location, {"name": "Demo", "openHours": hours}))["calendar"]
    renamed = await ghl.calendars.update(location, made["id"], {"name": "Demo Call"})
    assert (renamed["calendar"]["name"], renamed["calendar"]["slug"]) == ("Demo Call", "demo")
    now = int(time.time() * 1000)
    slots = await ghl.calendars.free_slots(location, made["id"], now, now + 2 * DAY_MS)
    start = next(day["slots"][0] for key, day in sorted(slots.items()) if key != "traceId")
    contact_id = await _contact(ghl, location, "notes@example.com")
    booked = await ghl.appointments.create(
        location, {"calendarId": made["id"], "contactId": contact_id, "startTime": start}
    )
    note = (await ghl.appointments.create_note(location, booked["id"], "bring x-rays"))["note"]
    await ghl.appointments.update_note(location, booked["id"], note["id"], "bring the x-rays")
    listed = await ghl.appointments.list_notes(location, booked["id"])
    assert [n["body"] for n in listed["notes"]] == ["bring the x-rays"]
    await ghl.appointments.delete_note(location, booked["id"], note["id"])
    assert (await ghl.appointments.list_notes(location, booked["id"]))["notes"] == []
    assert (await ghl.calendars.delete(location, made["id"]))["success"] is True
    with pytest.raises(GHLAPIError):
        await ghl.calendars.get(location, made["id"])
