"""The conformance walk for the areas beyond contacts and OAuth, and its documented exceptions.

`WIRE_EXCEPTIONS` lists operations whose recorded GHL response contradicts the official spec
(research/ghl-wire-facts.md); the simulator follows the wire, so their bodies/statuses are not
validated against the spec. Each entry says why.
"""

from __future__ import annotations

from typing import Any, Protocol

from ghl_bridge.simulator.review_replies import receive_review
from ghl_bridge.simulator.timefmt import iso_ms
from tests.simulator.conftest import SimClient

AREAS = ("contacts", "oauth", "opportunities", "calendars", "conversations", "campaigns",
         "workflows")  # fmt: skip

WIRE_EXCEPTIONS = {
    "get-pipelines": "the spec types each stage as an array; GHL returns stage objects "
    "{id, name, position, showInFunnel, showInPieChart}",
    "search-opportunities-advanced": "recorded status is 201 Created (spec says 200) and items "
    "carry their `sort` cursor (wire-facts §2.1)",
    "search-opportunity": "meta.nextPage/prevPage/nextPageUrl/startAfter are null at either end "
    "of the result (the spec types them as number/string)",
    "get-slots": "a top-level `traceId` string sits next to the date keys (wire-facts §6.3); the "
    "spec types every key as {slots}",
    "get-appointment": "recorded body is wrapped in `appointment` (the spec says `event`) "
    "(wire-facts §6.2)",
    "send-a-new-message": "the spec requires `status` in the answer; the recorded answer is "
    "{conversationId, messageId, traceId} only (wire-facts §5.2)",
    "get-message": "recorded body is wrapped in `message` (the spec shows it flat) (§5.3)",
    "get-messages": "recorded body is double-nested {messages: {lastMessageId, nextPage, "
    "messages}} (§5.3)",
    "get-calendar-events": "the spec types startTime/endTime/dateAdded as objects and requires "
    "groupId/assignedUserId; GHL sends ISO strings and omits unset ids (as get-appointment)",
}


class Hitter(Protocol):
    sim: SimClient

    async def hit(
        self, op_id: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> Any: ...


async def exercise_areas(rec: Hitter, sim: SimClient) -> None:
    contact = await rec.hit(
        "create-contact",
        "/contacts/",
        json={"locationId": sim.location_id, "firstName": "Area", "email": "areas@example.com"},
    )
    contact_id = contact["contact"]["id"]
    await _exercise_contact_extras(rec, sim.location_id, contact_id)
    await _exercise_opportunities(rec, sim.location_id, contact_id)
    await _exercise_calendars(rec, sim.location_id, contact_id)
    await _exercise_conversations(rec, sim.location_id)
    await _exercise_enrollment(rec, sim.location_id, contact_id)


async def _exercise_contact_extras(rec: Hitter, location: str, contact_id: str) -> None:
    listed = await rec.hit(
        "get-contacts", "/contacts/", params={"locationId": location, "limit": 3}
    )
    meta = listed["meta"]
    await rec.hit(
        "get-contacts",
        "/contacts/",
        params={"locationId": location, "limit": 3, "startAfter": meta["startAfter"],
                "startAfterId": meta["startAfterId"], "query": "a"},
    )  # fmt: skip
    path = f"/contacts/{contact_id}/followers"
    await rec.hit("add-followers-contact", path, json={"followers": ["u" * 20, "v" * 20]})
    await rec.hit("remove-followers-contact", path, json={"followers": ["v" * 20]})


async def _exercise_opportunities(rec: Hitter, location: str, contact_id: str) -> None:
    found = await rec.hit(
        "get-pipelines", "/opportunities/pipelines", params={"locationId": location}
    )
    pipeline = found["pipelines"][1]
    body = {
        "locationId": location, "pipelineId": pipeline["id"], "contactId": contact_id,
        "name": "Spec deal", "status": "open", "monetaryValue": 10, "assignedTo": "u" * 20,
        "customFields": [{"id": "cf1", "field_value": "x"}],
    }  # fmt: skip
    opp = (await rec.hit("create-opportunity", "/opportunities/", json=body))["opportunity"]
    path = f"/opportunities/{opp['id']}"
    await rec.hit("get-opportunity", path)
    stage = pipeline["stages"][1]["id"]
    await rec.hit("update-opportunity", path, json={"pipelineStageId": stage, "name": "Renamed"})
    await rec.hit("update-opportunity-status", f"{path}/status", json={"status": "won"})
    await rec.hit(
        "Upsert-opportunity",
        "/opportunities/upsert",
        json={"locationId": location, "pipelineId": pipeline["id"], "contactId": contact_id,
              "monetaryValue": 20},
    )  # fmt: skip
    await rec.hit(
        "search-opportunities-advanced",
        "/opportunities/search",
        json={"locationId": location, "limit": 2, "page": 1, "searchAfter": [], "query": "",
              "additionalDetails": {"notes": False, "tasks": False, "calendarEvents": False,
                                    "unReadConversations": False}},
    )  # fmt: skip
    await rec.hit(
        "search-opportunity", "/opportunities/search", params={"location_id": location, "limit": 2}
    )
    followers = {"followers": ["f" * 20, "g" * 20]}
    await rec.hit("add-followers-opportunity", f"{path}/followers", json=followers)
    await rec.hit(
        "remove-followers-opportunity", f"{path}/followers", json={"followers": ["f" * 20]}
    )
    await rec.hit(
        "get-lost-reason",
        "/opportunities/lost-reason",
        params={"locationId": location, "getCount": "true", "limit": 2},
    )
    await rec.hit("delete-opportunity", path)


async def _exercise_calendars(rec: Hitter, location: str, contact_id: str) -> None:
    found = await rec.hit("get-calendars", "/calendars/", params={"locationId": location})
    calendar_id = found["calendars"][0]["id"]
    await rec.hit("get-calendar", f"/calendars/{calendar_id}")
    start = 1_790_000_000_000  # the conftest clock
    window = {"startDate": str(start), "endDate": str(start + 7 * 86_400_000)}
    slots = await rec.hit("get-slots", f"/calendars/{calendar_id}/free-slots", params=window)
    day = next(v["slots"] for k, v in sorted(slots.items()) if k != "traceId")
    body = {"calendarId": calendar_id, "locationId": location, "contactId": contact_id,
            "startTime": day[0], "assignedUserId": "u" * 20}  # fmt: skip
    made = await rec.hit("create-appointment", "/calendars/events/appointments", json=body)
    path = f"/calendars/events/appointments/{made['id']}"
    await rec.hit("get-appointment", path)
    await rec.hit("edit-appointment", path, json={"startTime": day[2], "title": "Spec"})
    await rec.hit(
        "get-calendar-events",
        "/calendars/events",
        params={"locationId": location, "calendarId": calendar_id,
                "startTime": window["startDate"], "endTime": window["endDate"]},
    )  # fmt: skip
    await rec.hit("get-appointments-for-contact", f"/contacts/{contact_id}/appointments")
    await _exercise_appointment_notes(rec, made["id"])
    await rec.hit("delete-event", f"/calendars/events/{made['id']}")
    await _exercise_calendar_notifications(rec, calendar_id)
    await _exercise_calendar_settings(rec, location)


async def _exercise_appointment_notes(rec: Hitter, appointment_id: str) -> None:
    notes = f"/calendars/appointments/{appointment_id}/notes"
    note = await rec.hit("create-appointment-note", notes, json={"body": "n", "userId": "u" * 20})
    await rec.hit("get-appointment-notes", notes, params={"limit": 10, "offset": 0})
    note_path = f"{notes}/{note['note']['id']}"
    await rec.hit("update-appointment-note", note_path, json={"body": "m"})
    await rec.hit("delete-appointment-note", note_path)


async def _exercise_calendar_notifications(rec: Hitter, calendar_id: str) -> None:
    path = f"/calendars/{calendar_id}/notifications"
    reminder = {"receiverType": "contact", "channel": "email", "notificationType": "reminder",
                "subject": "Soon", "body": "See you", "beforeTime": [{"timeOffset": 1,
                "unit": "hours"}], "additionalEmailIds": ["a@example.com"]}  # fmt: skip
    booked = {"receiverType": "assignedUser", "channel": "inApp", "notificationType": "booked",
              "selectedUsers": ["u" * 20], "isActive": False}  # fmt: skip
    made = await rec.hit("create-event-notification", path, json=[reminder, booked])
    one = f"{path}/{made[0]['_id']}"
    await rec.hit("get-event-notification", path, params={"isActive": "true", "limit": 10})
    await rec.hit("find-event-notification", one)
    await rec.hit("update-event-notification", one, json={"subject": "Tomorrow"})
    await rec.hit("delete-event-notification", one)
    await rec.hit("find-event-notification", one)  # soft-deleted: still readable


async def _exercise_calendar_settings(rec: Hitter, location: str) -> None:
    span = {"openHour": 8, "openMinute": 0, "closeHour": 12, "closeMinute": 30}
    hours = [{"daysOfTheWeek": [1, 3], "hours": [span]}]
    body = {"locationId": location, "name": "Spec Demo", "openHours": hours,
            "teamMembers": [{"userId": "u" * 20, "priority": 1, "isPrimary": True}],
            "slotDuration": 1, "slotDurationUnit": "hours"}  # fmt: skip
    made = (await rec.hit("create-calendar", "/calendars/", json=body))["calendar"]
    path = f"/calendars/{made['id']}"
    await rec.hit("update-calendar", path, json={"name": "Spec Demo 2", "autoConfirm": False})
    await rec.hit("delete-calendar", path)


async def _exercise_conversations(rec: Hitter, location: str) -> None:
    made = await rec.hit(
        "create-contact",
        "/contacts/",
        json={"locationId": location, "firstName": "Talk", "lastName": "Spec",
              "email": "talk@example.com", "phone": "+15550142424"},
    )  # fmt: skip
    contact_id = made["contact"]["id"]
    conversation = await rec.hit(
        "create-conversation",
        "/conversations/",
        json={"locationId": location, "contactId": contact_id},
    )
    conversation_id = conversation["conversation"]["id"]
    sms = {"type": "SMS", "contactId": contact_id, "message": "hi", "subType": "SMS",
           "status": "pending"}  # fmt: skip
    sent = await rec.hit("send-a-new-message", "/conversations/messages", json=sms)
    email = {"type": "Email", "contactId": contact_id, "html": "<p>hi</p>", "subject": "s"}
    await rec.hit("send-a-new-message", "/conversations/messages", json=email)
    await rec.hit("get-message", f"/conversations/messages/{sent['messageId']}")
    await rec.hit("get-messages", f"/conversations/{conversation_id}/messages")
    await rec.hit("get-conversation", f"/conversations/{conversation_id}")
    await rec.hit("search-conversation", "/conversations/search", params={"locationId": location})
    await rec.hit(
        "update-message-status",
        f"/conversations/messages/{sent['messageId']}/status",
        json={"status": "delivered"},
    )
    await rec.hit(
        "add-an-inbound-message",
        "/conversations/messages/inbound",
        json={"type": "SMS", "conversationId": conversation_id, "contactId": contact_id,
              "message": "reply", "conversationProviderId": "p" * 20},
    )  # fmt: skip
    later = {**sms, "scheduledTimestamp": 1_790_086_400}  # a day after the conftest clock
    scheduled = await rec.hit("send-a-new-message", "/conversations/messages", json=later)
    await rec.hit(
        "cancel-scheduled-message", f"/conversations/messages/{scheduled['messageId']}/schedule"
    )
    await rec.hit(
        "export-messages-by-location",
        "/conversations/messages/export",
        params={"locationId": location, "limit": 10, "contactId": contact_id},
    )
    path = f"/conversations/{conversation_id}"
    await rec.hit(
        "update-conversation",
        path,
        json={"locationId": location, "unreadCount": 0, "starred": True},
    )
    await rec.hit("delete-conversation", path)
    await _exercise_review_reply(rec, location, contact_id)


async def _exercise_review_reply(rec: Hitter, location: str, contact_id: str) -> None:
    sim = rec.sim.app.state.sim  # a review arrives from Google, not through the API
    contact = sim.state.find_contact(contact_id)
    assert contact is not None
    review = receive_review(sim.state, contact, "Lovely", 5, iso_ms(sim.now()))
    body = {"conversationId": review["conversationId"], "locationId": location,
            "message": "Thank you!"}  # fmt: skip
    await rec.hit("send-review-reply", "/conversations/messages/review-reply", json=body)


async def _exercise_enrollment(rec: Hitter, location: str, contact_id: str) -> None:
    query = {"locationId": location}
    campaign = (await rec.hit("get-campaigns", "/campaigns/", params=query))["campaigns"][0]
    workflow = (await rec.hit("get-workflow", "/workflows/", params=query))["workflows"][0]
    campaign_path = f"/contacts/{contact_id}/campaigns/{campaign['id']}"
    await rec.hit("add-contact-to-campaign", campaign_path)
    await rec.hit("remove-contact-from-campaign", campaign_path)
    await rec.hit(
        "remove-contact-from-every-campaign", f"/contacts/{contact_id}/campaigns/removeAll"
    )
    workflow_path = f"/contacts/{contact_id}/workflow/{workflow['id']}"
    await rec.hit(
        "add-contact-to-workflow",
        workflow_path,
        json={"eventStartTime": "2026-10-01T09:00:00+01:00"},
    )
    await rec.hit("delete-contact-from-workflow", workflow_path)
