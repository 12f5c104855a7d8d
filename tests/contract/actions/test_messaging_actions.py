"""Messaging, template, conversation and review actions against the simulator: each sends or
reads for real and fails clearly on bad input or at GHL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.contract.actions.conftest import Acts
from tests.contract.conftest import Sim
from tests.support.stack import free_port

from ghl_bridge.cli import servers
from ghl_bridge.simulator import SimConfig
from ghl_bridge.simulator import create_app as create_sim_app
from ghl_bridge.simulator.review_replies import REVIEWS, receive_review
from ghl_bridge.simulator.timefmt import iso_ms

LOCATION = "Lakeside Dental Studio"  # the first seeded location
LINK = "https://g.page/r/lakeside/review"


@dataclass
class ServedSim(Sim):
    """The simulator with its app at hand: reviews reach GHL from Google, not through the API."""

    app: Any = None

    def review(self, contact_id: str, comment: str) -> dict[str, Any]:
        simulator = self.app.state.sim
        contact = simulator.state.find_contact(contact_id)
        return receive_review(simulator.state, contact, comment, 5, iso_ms(simulator.now()))


@pytest.fixture
async def sim() -> AsyncIterator[ServedSim]:
    """Overrides the shared ``sim`` (so ``acts`` runs on this one)."""
    app = create_sim_app(SimConfig())
    port = free_port()
    server = servers.make_server(app, "127.0.0.1", port)
    task = await servers.start(server)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            url = f"http://127.0.0.1:{port}"
            seed = (await http.get(f"{url}/_sim/seed")).json()
            yield ServedSim(url, seed, http, app)
    finally:
        await servers.stop([server], [task])


async def _contact(acts: Acts, **fields: Any) -> str:
    out = await acts.run("contacts.create", {"firstName": "Ada", **fields})
    return str(out["contact"]["id"])


def _later(days: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


async def test_send_sms_and_read_its_status(acts: Acts) -> None:
    contact_id = await _contact(acts, phone="+15550001111")
    sent = await acts.run("messages.send_sms", {"contactId": contact_id, "message": "Hello Ada"})
    assert sent["conversationId"] and "scheduledAt" not in sent
    got = await acts.run("messages.status", {"messageId": sent["messageId"]})
    assert got["status"] in ("pending", "delivered") and got["direction"] == "outbound"
    assert got["messageType"] == "TYPE_SMS" and got["message"]["body"] == "Hello Ada"
    assert (await acts.refused("messages.status", {"messageId": "nope123"})).code == "not_found"


async def test_a_keyed_send_repeated_sends_once(acts: Acts) -> None:
    contact_id = await _contact(acts, phone="+15550009999")
    text = {"contactId": contact_id, "message": "Only once"}
    first = await acts.run("messages.send_sms", text, idempotency_key="sms-once")
    again = await acts.run("messages.send_sms", text, idempotency_key="sms-once")
    assert again == first
    thread = [
        m
        async for m in acts.ghl.conversations.iter_messages(
            acts.location_id, first["conversationId"]
        )
    ]
    assert [m["body"] for m in thread] == ["Only once"]


async def test_send_sms_refusals(acts: Acts) -> None:
    missing = await acts.refused("messages.send_sms", {"contactId": "nope123", "message": "Hi"})
    assert missing.code == "not_found"
    quiet = await _contact(acts, phone="+15550002222", dnd=True)
    dnd = await acts.refused("messages.send_sms", {"contactId": quiet, "message": "Hi"})
    assert dnd.code == "ghl_error" and dnd.status == 400 and "DND" in dnd.message
    assert await acts.invalid("messages.send_sms", {"contactId": quiet}) == ["message"]
    late = {"contactId": quiet, "message": "Hi", "scheduledAt": "tomorrow"}
    assert await acts.invalid("messages.send_sms", late) == ["scheduledAt"]


async def test_schedule_then_cancel_and_cancel_again(acts: Acts) -> None:
    contact_id = await _contact(acts, phone="+15550003333")
    sent = await acts.run(
        "messages.send_sms", {"contactId": contact_id, "message": "Later", "scheduledAt": _later()}
    )
    assert (await acts.run("messages.status", {"messageId": sent["messageId"]}))["status"] == (
        "scheduled"
    )
    ref = {"messageId": sent["messageId"]}
    first = await acts.run("messages.cancel_scheduled", ref)
    assert first == {"messageId": sent["messageId"], "cancelled": True, "alreadyCancelled": False}
    again = await acts.run("messages.cancel_scheduled", ref)
    assert again["cancelled"] is True and again["alreadyCancelled"] is True
    assert (await acts.refused("messages.status", ref)).code == "not_found"
    unknown = await acts.refused("messages.cancel_scheduled", {"messageId": "nope123"})
    assert unknown.code == "not_found"
    now = await acts.run("messages.send_sms", {"contactId": contact_id, "message": "Now"})
    too_late = await acts.refused("messages.cancel_scheduled", {"messageId": now["messageId"]})
    assert too_late.code == "ghl_error" and too_late.status == 400


async def test_send_email_with_html(acts: Acts) -> None:
    contact_id = await _contact(acts, email="ada@example.com")
    body = {"contactId": contact_id, "subject": "Hi", "html": "<p>Hello</p>"}
    sent = await acts.run("messages.send_email", body)
    assert sent["emailMessageId"]
    got = await acts.run("messages.status", {"messageId": sent["messageId"]})
    assert got["message"]["subject"] == "Hi" and got["message"]["body"] == "<p>Hello</p>"
    assert await acts.invalid("messages.send_email", {"contactId": contact_id}) == ["(root)"]
    no_subject = {"contactId": contact_id, "html": "<p>x</p>"}
    assert await acts.invalid("messages.send_email", no_subject) == ["(root)"]


async def _template(acts: Acts, name: str, **query: Any) -> dict[str, Any]:
    listed = await acts.run("templates.list", query)
    return next(t for t in listed["items"] if t["name"] == name)


async def test_send_email_from_a_location_template(acts: Acts) -> None:
    contact_id = await _contact(acts, email="ada@example.com")
    welcome = await _template(acts, "Welcome Email", type="email", source="location")
    ref = {"contactId": contact_id, "templateId": welcome["id"]}
    dry = await acts.run("messages.send_email", ref, dry_run=True)  # reads, renders, sends nothing
    assert dry["request"]["body"]["html"] == f"<p>Welcome to {LOCATION}, Ada!</p>"
    sent = await acts.run("messages.send_email", ref)
    assert sent["templateId"] == welcome["id"]
    got = (await acts.run("messages.status", {"messageId": sent["messageId"]}))["message"]
    assert got["body"] == f"<p>Welcome to {LOCATION}, Ada!</p>"
    assert got["subject"] == f"Welcome to {LOCATION}"


async def test_send_email_template_refusals(acts: Acts) -> None:
    contact_id = await _contact(acts, email="ada@example.com")
    builder = await _template(acts, "Monthly Newsletter", source="email_builder")
    refused = await acts.refused(
        "messages.send_email", {"contactId": contact_id, "templateId": builder["id"]}
    )
    assert refused.code == "validation_error" and refused.details["previewUrl"]
    sms = await _template(acts, "Missed Call Text Back", type="sms")
    wrong = await acts.refused(
        "messages.send_email", {"contactId": contact_id, "templateId": sms["id"]}
    )
    assert wrong.code == "validation_error" and "sms" in wrong.message
    unknown = await acts.refused(
        "messages.send_email", {"contactId": contact_id, "templateId": "nope123"}
    )
    assert unknown.code == "not_found"


async def test_templates_list_merges_both_sources(acts: Acts) -> None:
    every = await acts.run("templates.list", {})
    by_source: dict[str, set[str]] = {}
    for item in every["items"]:
        by_source.setdefault(item["source"], set()).add(item["name"])
    assert by_source["location"] == {
        "Appointment Reminder",
        "Missed Call Text Back",
        "Welcome Email",
    }
    # nested in a folder, but found; the archived one and the folder itself are not listed
    assert by_source["email_builder"] == {
        "Welcome Email",
        "Monthly Newsletter",
        "Appointment Reminder",
    }
    sms = await acts.run("templates.list", {"type": "sms"})
    assert sms["count"] == 2 and {t["source"] for t in sms["items"]} == {"location"}
    assert {t["type"] for t in sms["items"]} == {"sms"}
    few = await acts.run("templates.list", {"limit": 2})
    assert few["count"] == 2 and few["truncated"] is True
    assert await acts.invalid("templates.list", {"type": "fax"}) == ["type"]


async def test_conversations_search_pages_and_filters(acts: Acts) -> None:
    contacts = [await _contact(acts, phone=f"+1555000444{n}") for n in range(3)]
    for contact_id in contacts:
        await acts.run("messages.send_sms", {"contactId": contact_id, "message": "Hi"})
    few = await acts.run("conversations.search", {"limit": 2})
    assert few["count"] == 2 and few["truncated"] is True
    one = await acts.run("conversations.search", {"contactId": contacts[1]})
    assert one["count"] == 1 and one["items"][0]["contactId"] == contacts[1]
    assert await acts.invalid("conversations.search", {"status": "sideways"}) == ["status"]


async def test_review_reply(acts: Acts) -> None:
    assert isinstance(acts.sim, ServedSim)
    contact_id = await _contact(acts, email="reviewer@example.com")
    review = acts.sim.review(contact_id, "Friendly staff")
    reply = {"conversationId": review["conversationId"], "message": "Thank you, Ada!"}
    out = await acts.run("reviews.reply", reply)
    assert out["conversationId"] == review["conversationId"] and out["status"] == "delivered"
    got = await acts.run("messages.status", {"messageId": out["messageId"]})
    assert got["messageType"] == "TYPE_REVIEW" and got["message"]["body"] == "Thank you, Ada!"
    stored = acts.sim.app.state.sim.state.store(REVIEWS)[review["id"]]
    assert stored["reply"]["comment"] == "Thank you, Ada!"


async def test_review_reply_refusals(acts: Acts) -> None:
    contact_id = await _contact(acts, phone="+15550005555")
    sms = await acts.run("messages.send_sms", {"contactId": contact_id, "message": "Hi"})
    not_review = {"conversationId": sms["conversationId"], "message": "Thanks"}
    refused = await acts.refused("reviews.reply", not_review)
    assert refused.code == "ghl_error" and refused.status == 400
    missing = await acts.refused("reviews.reply", {"conversationId": "nope123", "message": "x"})
    assert missing.code == "not_found"
    long = {"conversationId": "c1", "message": "x" * 4097}
    assert await acts.invalid("reviews.reply", long) == ["message"]


async def test_review_request_by_sms_and_email(acts: Acts) -> None:
    contact_id = await _contact(acts, phone="+15550006666", email="ada@example.com")
    sms = await acts.run("reviews.request", {"contactId": contact_id, "reviewLink": LINK})
    assert sms["body"].startswith(f"Hi Ada, thank you for choosing {LOCATION}!")
    assert sms["body"].endswith(LINK)
    got = await acts.run("messages.status", {"messageId": sms["messageId"]})
    assert got["messageType"] == "TYPE_SMS" and got["message"]["body"] == sms["body"]
    welcome = await _template(acts, "Welcome Email", type="email", source="location")
    email = await acts.run(
        "reviews.request",
        {"contactId": contact_id, "reviewLink": LINK, "channel": "email",
         "templateId": welcome["id"]},
    )  # fmt: skip
    sent = (await acts.run("messages.status", {"messageId": email["messageId"]}))["message"]
    assert sent["body"] == f'<p>Welcome to {LOCATION}, Ada!</p><p><a href="{LINK}">{LINK}</a></p>'
    assert sent["subject"] == f"Welcome to {LOCATION}"


async def test_review_request_refusals(acts: Acts) -> None:
    contact_id = await _contact(acts, phone="+15550007777")
    assert await acts.invalid("reviews.request", {"contactId": contact_id}) == ["reviewLink"]
    ftp = {"contactId": contact_id, "reviewLink": "ftp://example.com/review"}
    assert await acts.invalid("reviews.request", ftp) == ["reviewLink"]
    unknown = {"contactId": contact_id, "reviewLink": LINK, "templateId": "nope123"}
    assert (await acts.refused("reviews.request", unknown)).code == "not_found"
    nobody = await acts.refused("reviews.request", {"contactId": "nope123", "reviewLink": LINK})
    assert nobody.code == "not_found"
