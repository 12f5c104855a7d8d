"""Conversations and messages: send rules, delivery, wrappers, thread paging, inbound, events."""

from __future__ import annotations

import json
import zlib
from typing import Any

import jsonschema

from ghl_bridge.simulator import drain
from tests.simulator.conftest import FakeClock, Receiver, SimClient
from tests.simulator.test_webhooks import WEBHOOK_SCHEMAS, events, flush, subscribe, verify

NO_CONTENT = "There is no message or attachments for this message. Skip sending."


async def new_contact(sim: SimClient, email: str, **extra: Any) -> dict[str, Any]:
    phone = f"+1555{zlib.crc32(email.encode()) % 10**7:07d}"
    body = {"locationId": sim.location_id, "firstName": "Chat", "lastName": "Person",
            "email": email, "phone": phone, **extra}  # fmt: skip
    resp = await sim.call("POST", "/contacts/", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["contact"])


async def send(sim: SimClient, contact_id: str, **fields: Any) -> Any:
    body = {"type": "SMS", "contactId": contact_id, "message": "hello", **fields}
    return await sim.call("POST", "/conversations/messages", json=body)


async def test_sms_send_then_delivered(sim: SimClient) -> None:
    contact = await new_contact(sim, "sms@example.com")
    resp = await send(sim, contact["id"])
    assert resp.status_code == 200, resp.text
    sent = resp.json()
    assert set(sent) == {"conversationId", "messageId", "traceId"}
    got = await sim.call("GET", f"/conversations/messages/{sent['messageId']}")
    message = got.json()["message"]
    assert (message["status"], message["type"], message["messageType"]) == (
        "pending",
        2,
        "TYPE_SMS",
    )
    assert message["direction"] == "outbound" and message["body"] == "hello"
    assert await drain(sim.app, 5) == 0
    later = (await sim.call("GET", f"/conversations/messages/{sent['messageId']}")).json()
    assert later["message"]["status"] == "delivered"


async def test_email_needs_html_and_returns_email_message_id(sim: SimClient) -> None:
    contact = await new_contact(sim, "mail@example.com")
    plain = await send(sim, contact["id"], type="Email", subject="Hi")
    assert (plain.status_code, plain.json()["message"]) == (422, NO_CONTENT)
    html = await send(sim, contact["id"], type="Email", subject="Hi", html="<p>Hi</p>")
    assert html.status_code == 200 and html.json()["emailMessageId"]
    message = (await sim.call("GET", f"/conversations/messages/{html.json()['messageId']}")).json()
    assert message["message"]["messageType"] == "TYPE_EMAIL" and message["message"]["type"] == 3


async def test_send_errors(sim: SimClient) -> None:
    dnd = await new_contact(sim, "dnd@example.com", dndSettings={"SMS": {"status": "active"}})
    blocked = await send(sim, dnd["id"])
    assert (blocked.status_code, blocked.json()["message"]) == (
        400, "Cannot send message as DND is active for SMS.",
    )  # fmt: skip
    assert (await send(sim, dnd["id"], type="Email", html="<p>ok</p>")).status_code == 200
    wrong_type = await send(sim, dnd["id"], type="Pigeon")
    assert wrong_type.json()["message"] == ["type must be a valid enum value"]
    missing = await send(sim, "nope")
    assert missing.status_code == 400
    other = await new_contact(sim, "other@example.com")
    foreign = await sim.call(
        "POST", "/conversations/messages", token=sim.pit(1),
        json={"type": "SMS", "contactId": other["id"], "message": "x"},
    )  # fmt: skip
    assert foreign.status_code == 403


async def test_thread_listing_is_double_nested_and_pages(sim: SimClient, clock: FakeClock) -> None:
    contact = await new_contact(sim, "thread@example.com")
    sent = []
    for n in range(7):
        clock.advance(1)
        sent.append((await send(sim, contact["id"], message=f"m{n}")).json())
    conversation_id = sent[0]["conversationId"]
    assert {s["conversationId"] for s in sent} == {conversation_id}
    seen: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    while True:
        resp = await sim.call("GET", f"/conversations/{conversation_id}/messages", params=params)
        listing = resp.json()["messages"]
        seen += [m["id"] for m in listing["messages"]]
        if not listing["nextPage"]:
            break
        params = {"limit": "3", "lastMessageId": listing["lastMessageId"]}
    assert seen == [s["messageId"] for s in reversed(sent)]


async def test_conversation_create_get_and_search_paging(sim: SimClient, clock: FakeClock) -> None:
    ids = []
    for n in range(5):
        clock.advance(10)
        contact = await new_contact(sim, f"conv{n}@example.com")
        made = await sim.call(
            "POST",
            "/conversations/",
            json={"locationId": sim.location_id, "contactId": contact["id"]},
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["conversation"]["id"])
        again = await sim.call(
            "POST",
            "/conversations/",
            json={"locationId": sim.location_id, "contactId": contact["id"]},
        )
        assert again.status_code == 400
    got = (await sim.call("GET", f"/conversations/{ids[0]}")).json()
    assert (got["id"], got["type"], got["deleted"]) == (ids[0], 1, False)
    seen: list[str] = []
    params = {"locationId": sim.location_id, "limit": "2"}
    while True:
        page = (await sim.call("GET", "/conversations/search", params=params)).json()
        if not page["conversations"]:
            break
        assert page["total"] == 5
        seen += [c["id"] for c in page["conversations"]]
        params = {**params, "startAfterDate": str(page["conversations"][-1]["sort"][0])}
    assert seen == list(reversed(ids))
    hit = await sim.call(
        "GET", "/conversations/search", params={"locationId": sim.location_id, "query": "conv3@"}
    )
    assert [c["id"] for c in hit.json()["conversations"]] == [ids[3]]
    no_location = await sim.call("GET", "/conversations/search")
    assert no_location.json()["message"] == ["locationId should not be empty"]


async def test_inbound_status_and_events(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    contact = await new_contact(sim, "events@example.com")
    sent = (await send(sim, contact["id"])).json()
    inbound = await sim.call(
        "POST", "/conversations/messages/inbound",
        json={"type": "SMS", "conversationId": sent["conversationId"],
              "contactId": contact["id"], "message": "reply"},
    )  # fmt: skip
    assert inbound.status_code == 200, inbound.text
    assert inbound.json()["success"] is True
    await flush(sim)
    types = [e["type"] for e in events(receiver) if e["type"].endswith("Message")]
    assert sorted(types) == ["InboundMessage", "OutboundMessage"]
    by_type = {e["type"]: e for e in events(receiver)}
    assert by_type["OutboundMessage"]["status"] == "delivered"
    assert by_type["OutboundMessage"]["messageId"] == sent["messageId"]
    assert by_type["InboundMessage"]["body"] == "reply"
    for body, headers in receiver.received:
        verify(sim, body, headers)
    status = await sim.call(
        "PUT", f"/conversations/messages/{sent['messageId']}/status", json={"status": "read"}
    )
    assert status.json()["status"] == "read"
    conversation = (await sim.call("GET", f"/conversations/{sent['conversationId']}")).json()
    assert conversation["unreadCount"] == 1 and conversation["lastMessageBody"] == "reply"


async def test_update_conversation_and_unread_event(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    contact = await new_contact(sim, "upd@example.com")
    sent = (await send(sim, contact["id"])).json()
    path = f"/conversations/{sent['conversationId']}"
    body = {"locationId": sim.location_id, "unreadCount": 3, "starred": True}
    resp = await sim.call("PUT", path, json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["success"] is True
    conversation = resp.json()["conversation"]
    assert (conversation["unreadCount"], conversation["starred"]) == (3, True)
    assert conversation["lastMessageBody"] == "hello"
    got = (await sim.call("GET", path)).json()
    assert (got["unreadCount"], got["starred"]) == (3, True)
    starred_only = {"locationId": sim.location_id, "starred": False}
    assert (await sim.call("PUT", path, json=starred_only)).status_code == 200
    await flush(sim)
    unread = [e for e in events(receiver) if e["type"] == "ConversationUnreadUpdate"]
    assert [(e["id"], e["unreadCount"], e["starred"]) for e in unread] == [
        (sent["conversationId"], 3, True)
    ]  # the star-only change leaves the count alone: no second event
    if WEBHOOK_SCHEMAS.is_file():  # the documented event schema, where the spec is present
        documented = json.loads(WEBHOOK_SCHEMAS.read_text(encoding="utf-8"))
        jsonschema.validate(unread[0], documented["ConversationUnreadWebhook"]["schema"])
    refused = [
        await sim.call("PUT", path, json={"unreadCount": 1}),
        await sim.call("PUT", path, json={**body, "unreadCount": -1}),
        await sim.call("PUT", path, json={**body, "pinned": True}),
    ]
    assert [r.json()["message"] for r in refused] == [
        ["locationId must be a string", "locationId should not be empty"],
        ["unreadCount must not be less than 0"],
        ["property pinned should not exist"],
    ]
    foreign = {**body, "locationId": sim.other_location_id}
    assert (await sim.call("PUT", path, json=foreign)).status_code == 403


async def test_delete_conversation_takes_its_messages(sim: SimClient) -> None:
    contact = await new_contact(sim, "del@example.com")
    sent = (await send(sim, contact["id"])).json()
    path = f"/conversations/{sent['conversationId']}"
    assert (await sim.call("DELETE", path, token=sim.pit(1))).status_code == 403
    deleted = await sim.call("DELETE", path)
    assert (deleted.status_code, deleted.json()["success"]) == (200, True)
    assert (await sim.call("GET", path)).status_code == 400
    assert (
        await sim.call("GET", f"/conversations/messages/{sent['messageId']}")
    ).status_code == 400
    again = (await send(sim, contact["id"], message="fresh start")).json()
    assert again["conversationId"] != sent["conversationId"]
    assert (await sim.call("DELETE", path)).status_code == 400


async def test_cancel_scheduled_message(sim: SimClient, clock: FakeClock) -> None:
    contact = await new_contact(sim, "sched@example.com")
    first = (await send(sim, contact["id"], message="now")).json()
    later = (await send(sim, contact["id"], message="later",
                        scheduledTimestamp=clock.now + 3600)).json()  # fmt: skip
    message = (await sim.call("GET", f"/conversations/messages/{later['messageId']}")).json()
    assert message["message"]["status"] == "scheduled"
    cancelled = await sim.call("DELETE", f"/conversations/messages/{later['messageId']}/schedule")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == 200
    assert (
        await sim.call("GET", f"/conversations/messages/{later['messageId']}")
    ).status_code == 400
    conversation = (await sim.call("GET", f"/conversations/{first['conversationId']}")).json()
    assert conversation["lastMessageBody"] == "now"  # the cancelled send left the thread
    not_scheduled = await sim.call(
        "DELETE", f"/conversations/messages/{first['messageId']}/schedule"
    )
    assert (not_scheduled.status_code, not_scheduled.json()["message"]) == (
        400, "Failed cancel the scheduled message",
    )  # fmt: skip
    due = (await send(sim, contact["id"], message="soon",
                      scheduledTimestamp=clock.now + 60)).json()  # fmt: skip
    clock.advance(61)  # the scheduler has sent it by now
    too_late = await sim.call("DELETE", f"/conversations/messages/{due['messageId']}/schedule")
    assert too_late.status_code == 400
    assert await drain(sim.app, 5) == 0
    sent_late = (await sim.call("GET", f"/conversations/messages/{due['messageId']}")).json()
    assert sent_late["message"]["status"] == "delivered"
    foreign = await sim.call(
        "DELETE", f"/conversations/messages/{due['messageId']}/schedule", token=sim.pit(1)
    )
    assert foreign.status_code == 403


async def _export(sim: SimClient, **params: Any) -> Any:
    query = {"locationId": sim.location_id, **params}
    return await sim.call("GET", "/conversations/messages/export", params=query)


async def test_export_messages_pages_by_cursor(sim: SimClient, clock: FakeClock) -> None:
    people = [await new_contact(sim, f"exp{n}@example.com") for n in range(3)]
    sent = []
    for n in range(12):
        clock.advance(1)
        contact = people[n % 3]
        sent.append((await send(sim, contact["id"], message=f"m{n}")).json()["messageId"])
    clock.advance(1)
    email = (await send(sim, contact["id"], type="Email", html="<p>x</p>")).json()["messageId"]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        page = (await _export(sim, **params)).json()
        assert page["total"] == 12
        seen += [m["id"] for m in page["messages"]]
        if "nextCursor" not in page:
            break
        params = {"limit": 10, "cursor": page["nextCursor"]}
    assert seen == list(reversed(sent))  # newest first, email left out by default
    emails = (await _export(sim, channel="Email")).json()
    assert [m["id"] for m in emails["messages"]] == [email]
    oldest = (await _export(sim, sortOrder="asc", limit=10, channel="SMS")).json()
    assert [m["id"] for m in oldest["messages"]] == sent[:10]
    one = (await _export(sim, contactId=contact["id"])).json()
    assert {m["contactId"] for m in one["messages"]} == {contact["id"]} and one["total"] == 4
    window = {"startDate": str(int((clock.now - 3) * 1000)), "endDate": str(int(clock.now * 1000))}
    recent = (await _export(sim, **window)).json()["messages"]  # the email is left out
    assert [m["id"] for m in recent] == sent[:-4:-1]
    refused = [
        await _export(sim, limit=5),
        await _export(sim, sortBy="name"),
        await _export(sim, cursor="not-a-cursor"),
    ]
    assert [r.status_code for r in refused] == [422, 422, 400]
    assert refused[0].json()["message"] == ["limit must not be less than 10"]
    foreign = await _export(sim, locationId=sim.other_location_id)
    assert foreign.status_code == 403
