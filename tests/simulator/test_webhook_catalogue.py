"""Every event type the actions can cause is emitted, signed, and matches webhook-events.json.

One scenario drives the simulator's API (and, for UNINSTALL, its control API: GHL has no
public call a sub-account's app makes to be removed by a user) through each change, then every
delivered body is verified (Ed25519 and RSA over the raw bytes) and validated against the
documented schema of its type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.simulator.conftest import FakeClock, Receiver, SimClient, install
from tests.simulator.test_webhooks import events, flush, subscribe, verify

WEBHOOK_SCHEMAS = (
    Path(__file__).resolve().parents[3] / "shared" / "ghl-spec" / "webhook-events.json"
)
# The doc file (schema key) of a `type` value, where the two differ (ghl-facts.md §4.5).
SCHEMA_OF = {
    "INSTALL": "AppInstall",
    "UNINSTALL": "AppUninstall",
    "ConversationUnreadUpdate": "ConversationUnreadWebhook",
}
EXPECTED = {
    "ContactCreate", "ContactUpdate", "ContactDelete", "ContactTagUpdate", "ContactDndUpdate",
    "NoteCreate", "NoteUpdate", "NoteDelete", "TaskCreate", "TaskComplete", "TaskDelete",
    "OpportunityCreate", "OpportunityUpdate", "OpportunityDelete", "OpportunityStageUpdate",
    "OpportunityStatusUpdate", "OpportunityMonetaryValueUpdate", "OpportunityAssignedToUpdate",
    "AppointmentCreate", "AppointmentUpdate", "AppointmentDelete", "InboundMessage",
    "OutboundMessage", "CampaignStatusUpdate", "INSTALL", "UNINSTALL", "LocationCreate",
    "LocationUpdate",
}  # fmt: skip
# The fields a consumer keys on, per family (ghl-facts.md §4.5 "Key fields").
KEY_FIELDS = {
    "Contact": ("id", "locationId"),
    "Note": ("id", "locationId", "contactId", "body"),
    "Task": ("id", "locationId", "contactId", "title"),
    "Opportunity": ("id", "locationId", "contactId", "pipelineId", "pipelineStageId", "status"),
    "Appointment": ("locationId", "appointment"),
    "InboundMessage": ("locationId", "contactId", "conversationId", "messageId", "body"),
    "OutboundMessage": ("locationId", "contactId", "conversationId", "messageId", "status"),
    "CampaignStatusUpdate": ("locationId", "id", "contactId", "status", "templateId"),
    "INSTALL": ("appId", "companyId"),
    "UNINSTALL": ("appId",),
    "Location": ("id", "companyId", "name"),
}


def _schemas() -> dict[str, Any]:
    if not WEBHOOK_SCHEMAS.is_file():
        pytest.skip("the shared GHL spec is not present")
    # The docs type one date as "Date", which is not a JSON Schema type.
    text = WEBHOOK_SCHEMAS.read_text(encoding="utf-8").replace('"Date"', '"string"')
    return dict(json.loads(text))


def _key_fields(event_type: str) -> tuple[str, ...]:
    for prefix, names in KEY_FIELDS.items():
        if event_type.startswith(prefix):
            return names
    return ()


async def _ok(resp: Any) -> dict[str, Any]:
    assert resp.status_code < 300, resp.text
    return dict(resp.json())


async def _contacts_notes_tasks(sim: SimClient) -> None:
    body = {"locationId": sim.location_id, "firstName": "Cat", "email": "cat@example.com"}
    cid = (await _ok(await sim.call("POST", "/contacts/", json=body)))["contact"]["id"]
    await _ok(await sim.call("PUT", f"/contacts/{cid}", json={"tags": ["vip"], "dnd": True}))
    note = await _ok(await sim.call("POST", f"/contacts/{cid}/notes", json={"body": "a"}))
    nid = note["note"]["id"]
    await _ok(await sim.call("PUT", f"/contacts/{cid}/notes/{nid}", json={"body": "b"}))
    await _ok(await sim.call("DELETE", f"/contacts/{cid}/notes/{nid}"))
    task_body = {"title": "call", "dueDate": "2026-10-01T00:00:00Z", "completed": False}
    task = await _ok(await sim.call("POST", f"/contacts/{cid}/tasks", json=task_body))
    tid = task["task"]["id"]
    await _ok(
        await sim.call("PUT", f"/contacts/{cid}/tasks/{tid}/completed", json={"completed": True})
    )
    await _ok(await sim.call("DELETE", f"/contacts/{cid}/tasks/{tid}"))
    campaigns = await _ok(
        await sim.call("GET", "/campaigns/", params={"locationId": sim.location_id})
    )
    campaign = campaigns["campaigns"][0]["id"]
    await _ok(await sim.call("POST", f"/contacts/{cid}/campaigns/{campaign}"))
    await _ok(await sim.call("DELETE", f"/contacts/{cid}/campaigns/{campaign}"))
    await _ok(await sim.call("DELETE", f"/contacts/{cid}"))


async def _opportunities(sim: SimClient, contact_id: str) -> None:
    found = await _ok(
        await sim.call("GET", "/opportunities/pipelines", params={"locationId": sim.location_id})
    )
    pipeline = found["pipelines"][0]
    body = {"locationId": sim.location_id, "pipelineId": pipeline["id"], "contactId": contact_id,
            "name": "Deal", "status": "open",
            "pipelineStageId": pipeline["stages"][0]["id"]}  # fmt: skip
    oid = (await _ok(await sim.call("POST", "/opportunities/", json=body)))["opportunity"]["id"]
    user = "u" * 20
    change = {"pipelineStageId": pipeline["stages"][1]["id"], "monetaryValue": 99,
              "assignedTo": user}  # fmt: skip
    await _ok(await sim.call("PUT", f"/opportunities/{oid}", json=change))
    await _ok(await sim.call("PUT", f"/opportunities/{oid}/status", json={"status": "won"}))
    await _ok(await sim.call("DELETE", f"/opportunities/{oid}"))


async def _appointments_and_messages(sim: SimClient, contact_id: str) -> None:
    cals = await _ok(await sim.call("GET", "/calendars/", params={"locationId": sim.location_id}))
    body = {"calendarId": cals["calendars"][0]["id"], "locationId": sim.location_id,
            "contactId": contact_id, "startTime": "2026-09-22T09:10:00-07:00",
            "ignoreFreeSlotValidation": True}  # fmt: skip
    made = await _ok(await sim.call("POST", "/calendars/events/appointments", json=body))
    path = f"/calendars/events/appointments/{made['id']}"
    await _ok(await sim.call("PUT", path, json={"title": "Moved"}))
    await _ok(await sim.call("DELETE", f"/calendars/events/{made['id']}"))
    sent = await _ok(
        await sim.call(
            "POST", "/conversations/messages",
            json={"type": "SMS", "contactId": contact_id, "message": "hello"},
        )
    )  # fmt: skip
    inbound = {"type": "SMS", "conversationId": sent["conversationId"], "contactId": contact_id,
               "message": "reply"}  # fmt: skip
    await _ok(await sim.call("POST", "/conversations/messages/inbound", json=inbound))


async def _locations_and_installs(sim: SimClient) -> None:
    company, pit = sim.seed["agency"]["companyId"], sim.seed["agency"]["pit"]
    body = {"name": "Harbor Yoga", "companyId": company, "city": "Tacoma"}
    made = await _ok(await sim.call("POST", "/locations/", token=pit, json=body))
    location = made.get("id") or made["location"]["id"]
    change = {"name": "Harbor Yoga II", "companyId": company}
    await _ok(await sim.call("PUT", f"/locations/{location}", token=pit, json=change))
    await install(sim, locationId=sim.location_id)
    gone = await sim.http.post("/_sim/uninstall", json={"locationId": sim.location_id})
    assert gone.status_code == 200, gone.text


async def test_every_action_event_is_emitted_signed_and_documented(
    sim: SimClient, receiver: Receiver, clock: FakeClock
) -> None:
    schemas = _schemas()
    await subscribe(sim, receiver)
    await _contacts_notes_tasks(sim)
    other = {"locationId": sim.location_id, "firstName": "Opp", "phone": "+15415550101"}
    contact_id = (await _ok(await sim.call("POST", "/contacts/", json=other)))["contact"]["id"]
    await _opportunities(sim, contact_id)
    await _appointments_and_messages(sim, contact_id)
    await _locations_and_installs(sim)
    assert (await flush(sim))["pending"] == 0

    emitted = events(receiver)
    assert {event["type"] for event in emitted} >= EXPECTED
    assert len({event["webhookId"] for event in emitted}) == len(emitted)
    for (body, headers), event in zip(receiver.received, emitted, strict=True):
        verify(sim, body, headers)
        schema = schemas[SCHEMA_OF.get(event["type"], event["type"])]["schema"]
        jsonschema.validate(event, schema)
        missing = [name for name in _key_fields(event["type"]) if name not in event]
        assert not missing, (event["type"], missing)
        assert isinstance(event["timestamp"], str) and event["webhookId"]


async def test_campaign_status_update_payload(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    body = {"locationId": sim.location_id, "email": "camp@example.com"}
    cid = (await _ok(await sim.call("POST", "/contacts/", json=body)))["contact"]["id"]
    listing = await _ok(
        await sim.call("GET", "/campaigns/", params={"locationId": sim.location_id})
    )
    first, second = (c["id"] for c in listing["campaigns"][:2])
    for campaign in (first, first, second):  # the repeat changes nothing: no event
        await _ok(await sim.call("POST", f"/contacts/{cid}/campaigns/{campaign}"))
    await _ok(await sim.call("DELETE", f"/contacts/{cid}/campaigns/removeAll"))
    await flush(sim)
    updates = [e for e in events(receiver) if e["type"] == "CampaignStatusUpdate"]
    assert [(e["templateId"], e["status"]) for e in updates] == [
        (first, "active"), (second, "active"), (first, "removed"), (second, "removed"),
    ]  # fmt: skip
    assert {e["contactId"] for e in updates} == {cid}
    assert {e["locationId"] for e in updates} == {sim.location_id}


async def test_uninstall_revokes_and_is_checked(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    tokens = await install(sim, locationId=sim.location_id)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    before = await sim.call("GET", f"/contacts/?locationId={sim.location_id}", headers=headers)
    assert before.status_code == 200, before.text
    gone = await sim.http.post("/_sim/uninstall", json={"locationId": sim.location_id})
    assert gone.status_code == 200
    after = await sim.call("GET", f"/contacts/?locationId={sim.location_id}", headers=headers)
    assert after.status_code == 401
    again = await sim.http.post("/_sim/uninstall", json={"locationId": sim.location_id})
    assert again.status_code == 400
    for bad in ({}, {"locationId": ""}, {"locationId": "a", "companyId": "b"}, {"companyId": 3}):
        resp = await sim.http.post("/_sim/uninstall", json=bad)
        assert resp.status_code == 422, bad
    assert (await sim.http.post("/_sim/uninstall", content=b"[")).status_code == 422
    await flush(sim)
    [uninstalled] = [e for e in events(receiver) if e["type"] == "UNINSTALL"]
    assert uninstalled["webhookId"] == gone.json()["webhookId"]
    assert (uninstalled["locationId"], uninstalled["appId"]) == (
        sim.location_id,
        sim.seed["app"]["appId"],
    )
    assert "companyId" not in uninstalled


async def test_agency_uninstall_names_the_company(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    await install(sim, userType="Company")
    company = sim.seed["agency"]["companyId"]
    gone = await sim.http.post("/_sim/uninstall", json={"companyId": company})
    assert gone.status_code == 200, gone.text
    await flush(sim)
    [event] = [e for e in events(receiver) if e["type"] == "UNINSTALL"]
    assert event["companyId"] == company and "locationId" not in event
    state = sim.app.state.sim.state
    assert state.installs == {} and state.company_installed_at is None
