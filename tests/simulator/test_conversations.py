"""Conversations and messages: send rules, delivery, wrappers, thread paging, inbound, events."""

from __future__ import annotations

import zlib
from typing import Any

from ghl_bridge.simulator import drain
from tests.simulator.conftest import FakeClock, Receiver, SimClient
from tests.simulator.test_webhooks import events, flush, subscribe, verify

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
