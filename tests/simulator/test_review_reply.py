"""Replying to a Google Business review: the reply lands in the review's thread and on the
review; malformed bodies, non-review conversations and other locations are refused."""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator.review_replies import NOT_A_REVIEW, REVIEWS, receive_review
from ghl_bridge.simulator.timefmt import iso_ms
from tests.simulator.conftest import SimClient
from tests.simulator.test_conversations import new_contact, send

PATH = "/conversations/messages/review-reply"


async def _review(sim: SimClient, email: str, token: str | None = None) -> dict[str, Any]:
    """A review from a new contact of the token's location (`token` is the second location's
    PIT, or None for the first), arriving as Google would send it."""
    simulator = sim.app.state.sim
    location = sim.other_location_id if token else sim.location_id
    body = {"locationId": location, "firstName": "Rev", "email": email}
    made = await sim.call("POST", "/contacts/", token=token, json=body)
    contact = made.json()["contact"]
    return receive_review(simulator.state, contact, "Friendly staff", 5, iso_ms(simulator.now()))


def _reply(sim: SimClient, review: dict[str, Any], message: str = "Thank you!") -> dict[str, Any]:
    return {"conversationId": review["conversationId"], "locationId": review["locationId"],
            "message": message}  # fmt: skip


async def test_reply_is_stored_and_readable(sim: SimClient) -> None:
    review = await _review(sim, "happy@example.com")
    resp = await sim.call("POST", PATH, json=_reply(sim, review))
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["conversationId"] == review["conversationId"] and answer["status"] == "delivered"
    got = (await sim.call("GET", f"/conversations/messages/{answer['messageId']}")).json()
    message = got["message"]
    assert (message["messageType"], message["direction"], message["body"]) == (
        "TYPE_REVIEW", "outbound", "Thank you!",
    )  # fmt: skip
    thread = await sim.call("GET", f"/conversations/{review['conversationId']}/messages")
    bodies = [m["body"] for m in thread.json()["messages"]["messages"]]
    assert bodies == ["Thank you!", "Friendly staff"]
    again = await sim.call("POST", PATH, json=_reply(sim, review, "Thanks again!"))
    stored = sim.app.state.sim.state.store(REVIEWS)[review["id"]]
    assert stored["reply"] == {
        "comment": "Thanks again!",
        "updateTime": stored["reply"]["updateTime"],
        "messageId": again.json()["messageId"],
    }  # one reply per review: the second replaces the first


async def test_malformed_bodies(sim: SimClient) -> None:
    review = await _review(sim, "form@example.com")
    empty = await sim.call("POST", PATH, json={})
    assert (empty.status_code, empty.json()["error"]) == (422, "Unprocessable Entity")
    assert "conversationId should not be empty" in empty.json()["message"]
    blank = await sim.call("POST", PATH, json=_reply(sim, review, "   "))
    assert blank.json()["message"] == ["message should not be empty"]
    long = await sim.call("POST", PATH, json=_reply(sim, review, "x" * 4097))
    assert long.status_code == 422
    extra = await sim.call("POST", PATH, json={**_reply(sim, review), "rating": 5})
    assert extra.json()["message"] == ["property rating should not exist"]
    not_json = await sim.call(
        "POST", PATH, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert sim.app.state.sim.state.store(REVIEWS)[review["id"]]["reply"] is None


async def test_unknown_or_non_review_conversation_is_400(sim: SimClient) -> None:
    unknown = await sim.call(
        "POST", PATH, json={"conversationId": "nope", "locationId": sim.location_id,
                            "message": "hi"},
    )  # fmt: skip
    assert (unknown.status_code, unknown.json()["message"]) == (400, "Conversation not found")
    contact = await new_contact(sim, "sms-only@example.com")
    sent = (await send(sim, contact["id"])).json()
    plain = await sim.call(
        "POST", PATH, json={"conversationId": sent["conversationId"],
                            "locationId": sim.location_id, "message": "hi"},
    )  # fmt: skip
    assert (plain.status_code, plain.json()["message"]) == (400, NOT_A_REVIEW)


async def test_another_locations_token_is_refused(sim: SimClient) -> None:
    review = await _review(sim, "mine@example.com")
    other = sim.pit(1)
    as_mine = await sim.call(
        "POST", PATH, token=other, json={**_reply(sim, review), "locationId": sim.location_id}
    )
    assert as_mine.status_code == 403
    as_theirs = await sim.call(
        "POST", PATH, token=other,
        json={**_reply(sim, review), "locationId": sim.other_location_id},
    )  # fmt: skip
    assert as_theirs.status_code == 403  # the conversation is still the first location's
    theirs = await _review(sim, "theirs@example.com", token=other)
    crossed = await sim.call("POST", PATH, json=_reply(sim, theirs))
    assert crossed.status_code == 403
    assert sim.app.state.sim.state.store(REVIEWS)[review["id"]]["reply"] is None
    own = await sim.call("POST", PATH, token=other, json=_reply(sim, theirs))
    assert own.status_code == 200, own.text
