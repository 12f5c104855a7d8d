"""Replies to Google Business reviews (conversations.json `send-review-reply`; deprecated in v3).

A review reaches GHL from Google as a `TYPE_REVIEW` conversation carrying the review's id
(`reviewId`); the simulator has no Google side, so `receive_review` plays that part for tests
and demos. The reply DTO needs `conversationId`, `locationId` and `message` (422 otherwise);
the conversation must be that location's (400, as update-conversation answers) and a review's
(400, wording ours). Google takes at most 4096 bytes of reply text (its API's limit; GHL's
wording for it is unrecorded). The reply lands in the thread as an outbound `TYPE_REVIEW`
message, so get-message reads it back, and on the review (`reviews` store, `reply`); Google
keeps one reply per review, so a second reply replaces the first there. The answer is the
spec's SendMessageResponseDto `{conversationId, messageId, status}`: no live answer is recorded,
and `status` is "delivered" because Google takes the reply at once (our reading).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.conversations import owned_conversation
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.threads import add_message
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS", "NOT_A_REVIEW", "REVIEWS", "receive_review"]

Record = dict[str, Any]
REVIEWS = "reviews"
NOT_A_REVIEW = "Conversation is not a review conversation"  # wording ours
MAX_REPLY_BYTES = 4096


def receive_review(state: SimState, contact: Record, comment: str, rating: int, now: str) -> Record:
    """A Google review from `contact` arriving at its location: a new `TYPE_REVIEW`
    conversation holding the review as an inbound message. Returns the review record."""
    review_id = state.ids.ghl_id()
    conversation: Record = {
        "id": state.ids.ghl_id(), "locationId": contact["locationId"],
        "contactId": contact["id"], "type": "TYPE_REVIEW", "reviewId": review_id,
        "unreadCount": 0, "deleted": False, "inbox": True, "starred": False,
        "dateAdded": now, "dateUpdated": now, "lastMessageDate": now,
    }  # fmt: skip
    state.store("conversations")[conversation["id"]] = conversation
    add_message(
        state, conversation, now, messageType="TYPE_REVIEW", direction="inbound",
        status="delivered", body=comment, source="app",
    )  # fmt: skip
    review: Record = {
        "id": review_id, "locationId": contact["locationId"], "contactId": contact["id"],
        "conversationId": conversation["id"], "starRating": rating, "comment": comment,
        "createTime": now, "reply": None,
    }  # fmt: skip
    state.store(REVIEWS)[review_id] = review
    return review


def _checked_text(body: Record) -> str:
    text = str(body["message"])
    if not text.strip():
        raise unprocessable(["message should not be empty"])
    if len(text.encode()) > MAX_REPLY_BYTES:
        raise unprocessable([f"message must be shorter than or equal to {MAX_REPLY_BYTES} bytes"])
    return text


async def send_review_reply(call: Call) -> Response:
    body = call.validated_body()
    text = _checked_text(body)
    call.require_location(body["locationId"])
    conversation = owned_conversation(call, str(body["conversationId"]))
    if conversation["locationId"] != body["locationId"]:
        raise bad_request("Conversation not found")
    review = call.state.store(REVIEWS).get(conversation.get("reviewId") or "")
    if review is None:
        raise bad_request(NOT_A_REVIEW)
    now = iso_ms(call.sim.now())
    message = add_message(
        call.state, conversation, now, messageType="TYPE_REVIEW", direction="outbound",
        status="delivered", body=text, source="api", userId=call.principal.user_id,
    )  # fmt: skip
    review["reply"] = {"comment": text, "updateTime": now, "messageId": message["id"]}
    answer = {"conversationId": conversation["id"], "messageId": message["id"],
              "status": message["status"]}  # fmt: skip
    return call.respond(answer)


ENDPOINTS = [Endpoint("send-review-reply", send_review_reply)]
