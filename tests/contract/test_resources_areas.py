"""Typed resources against the simulator: contacts extras, opportunities, calendars, messages."""

from __future__ import annotations

import time

from tests.contract.conftest import Sim

from ghl_bridge.client import GHLClient


async def _contact(ghl: GHLClient, location: str, email: str = "r@example.com") -> str:
    created = await ghl.contacts.create(location, {"firstName": "Rita", "email": email})
    return str(created["contact"]["id"])


async def test_contact_tags_notes_and_tasks(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contact_id = await _contact(ghl, location)
    await ghl.contacts.add_tags(location, contact_id, ["vip", "new"])
    await ghl.contacts.remove_tags(location, contact_id, ["new"])
    assert (await ghl.contacts.get(location, contact_id))["contact"]["tags"] == ["vip"]

    note = await ghl.contacts.notes.create(location, contact_id, {"body": "called"})
    note_id = note["note"]["id"]
    await ghl.contacts.notes.update(location, contact_id, note_id, {"body": "called twice"})
    assert (await ghl.contacts.notes.get(location, contact_id, note_id))["note"]["body"] == (
        "called twice"
    )
    await ghl.contacts.notes.delete(location, contact_id, note_id)
    assert (await ghl.contacts.notes.list(location, contact_id))["notes"] == []

    task = await ghl.contacts.tasks.create(
        location,
        contact_id,
        {"title": "Call back", "dueDate": "2030-01-01T10:00:00Z", "completed": False},
    )
    task_id = task["task"]["id"]
    await ghl.contacts.tasks.set_completed(location, contact_id, task_id)
    assert (await ghl.contacts.tasks.get(location, contact_id, task_id))["task"]["completed"]
    await ghl.contacts.tasks.delete(location, contact_id, task_id)
    duplicate = await ghl.contacts.find_duplicate(location, email="r@example.com")
    assert duplicate["contact"]["id"] == contact_id


async def test_opportunity_lifecycle_and_stage_move(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contact_id = await _contact(ghl, location)
    pipeline = (await ghl.pipelines.list(location))["pipelines"][0]
    first, second = pipeline["stages"][0]["id"], pipeline["stages"][1]["id"]
    created = await ghl.opportunities.create(
        location,
        {
            "pipelineId": pipeline["id"],
            "pipelineStageId": first,
            "name": "Roof",
            "status": "open",
            "contactId": contact_id,
            "monetaryValue": 1200,
        },
    )
    opportunity_id = created["opportunity"]["id"]
    await ghl.opportunities.update(
        location, opportunity_id, {"pipelineId": pipeline["id"], "pipelineStageId": second}
    )
    await ghl.opportunities.set_status(location, opportunity_id, "won")
    got = (await ghl.opportunities.get(location, opportunity_id))["opportunity"]
    assert (got["pipelineStageId"], got["status"]) == (second, "won")
    upserted = await ghl.opportunities.upsert(
        location,
        {
            "pipelineId": pipeline["id"],
            "contactId": contact_id,
            "name": "Roof v2",
            "status": "open",
        },
    )
    assert upserted["opportunity"]["id"]
    await ghl.opportunities.delete(location, opportunity_id)


async def test_book_a_free_slot_then_edit_and_cancel(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contact_id = await _contact(ghl, location)
    calendar = (await ghl.calendars.list(location))["calendars"][0]
    assert (await ghl.calendars.get(location, calendar["id"]))["calendar"]["id"] == calendar["id"]
    now = int(time.time() * 1000)
    slots = await ghl.calendars.free_slots(
        location, calendar["id"], now, now + 7 * 86_400_000, timezone="UTC"
    )
    start = next(day["slots"][0] for key, day in sorted(slots.items()) if key != "traceId")
    booked = await ghl.appointments.create(
        location, {"calendarId": calendar["id"], "contactId": contact_id, "startTime": start}
    )
    event_id = booked["id"]
    await ghl.appointments.update(location, event_id, {"title": "Checkup"})
    assert (await ghl.appointments.get(location, event_id))["appointment"]["title"] == "Checkup"
    events = await ghl.calendars.events(
        location, now, now + 8 * 86_400_000, calendar_id=calendar["id"]
    )
    assert event_id in [e["id"] for e in events["events"]]
    await ghl.appointments.delete(location, event_id)


async def test_send_read_and_report_a_message(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contact_id = await _contact(ghl, location)
    sent = await ghl.conversations.send(
        location, {"type": "SMS", "contactId": contact_id, "message": "Your slot is booked"}
    )
    message = (await ghl.conversations.get_message(location, sent["messageId"]))["message"]
    assert message["body"] == "Your slot is booked"
    conversation = await ghl.conversations.get(location, sent["conversationId"])
    assert conversation["contactId"] == contact_id or conversation.get("conversation")


async def test_campaign_and_workflow_enrolment(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    contact_id = await _contact(ghl, location)
    campaign = (await ghl.campaigns.list(location))["campaigns"][0]
    workflow = (await ghl.workflows.list(location))["workflows"][0]
    enrolled = await ghl.contacts.add_to_campaign(location, contact_id, campaign["id"])
    assert enrolled["succeded"]  # sic: GHL's spelling
    await ghl.contacts.remove_from_campaign(location, contact_id, campaign["id"])
    await ghl.contacts.remove_from_all_campaigns(location, contact_id)
    started = await ghl.contacts.add_to_workflow(
        location, contact_id, workflow["id"], event_start_time="2030-06-23T03:30:00+01:00"
    )
    assert started["succeded"]
    await ghl.contacts.remove_from_workflow(location, contact_id, workflow["id"])
