"""Messages: send, read one, list a thread, provider status updates, simulated inbound, and
cancelling a scheduled send.

Per research/ghl-wire-facts.md §5: sending needs only `{type, contactId, message}` (the spec's
required `subType`/`status` are not enforced live); Email needs `html` (or attachments), else
422 "There is no message or attachments for this message. Skip sending."; a contact with DND
on the channel gets 400 "Cannot send message as DND is active for SMS."; the answer is
`{conversationId, messageId}` (+ `emailMessageId` for Email) without the spec's `status`.
Delivery and scheduled sends are in `delivery`. GET of one message is wrapped in
`{"message": ...}`; the thread listing is double-nested `{"messages": {"lastMessageId",
"nextPage", "messages": [...]}}` and pages with `lastMessageId` + `limit`, newest first.
Cancelling works only while the message is still `scheduled`; it then leaves the thread
(`status` has no "cancelled" value). Otherwise 400 with the failure text the spec's example
gives. The location-wide export is in `message_export`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.conversations import owned_conversation
from ghl_bridge.simulator.delivery import event_view, queue_delivery, release_due
from ghl_bridge.simulator.errors import ApiError, bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.message_export import ENDPOINTS as EXPORT_ENDPOINTS
from ghl_bridge.simulator.resources import owned, query_int
from ghl_bridge.simulator.threads import (
    add_message,
    conversation_for,
    message_view,
    remove_message,
    thread,
)
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
NO_CONTENT = "There is no message or attachments for this message. Skip sending."
CANCEL_FAILED = "Failed cancel the scheduled message"  # the spec's own example text
# Send `type` -> (messageType, the dndSettings channel it obeys)
_SEND = {
    "SMS": ("TYPE_SMS", "SMS"), "RCS": ("TYPE_RCS", "SMS"), "Email": ("TYPE_EMAIL", "Email"),
    "WhatsApp": ("TYPE_WHATSAPP", "WhatsApp"), "IG": ("TYPE_INSTAGRAM", "FB"),
    "FB": ("TYPE_FACEBOOK", "FB"), "Custom": ("TYPE_CUSTOM_SMS", "SMS"),
    "Live_Chat": ("TYPE_LIVE_CHAT", None), "TIKTOK": ("TYPE_TIKTOK", None),
}  # fmt: skip
_INBOUND = {
    "SMS": "TYPE_SMS", "RCS": "TYPE_RCS", "Email": "TYPE_EMAIL", "WhatsApp": "TYPE_WHATSAPP",
    "GMB": "TYPE_GMB", "IG": "TYPE_INSTAGRAM", "FB": "TYPE_FACEBOOK", "Custom": "TYPE_CUSTOM_SMS",
    "WebChat": "TYPE_WEBCHAT", "Live_Chat": "TYPE_LIVE_CHAT", "Call": "TYPE_CALL",
    "IVR_Call": "TYPE_IVR_CALL", "Campaign_Call": "TYPE_CAMPAIGN_CALL",
    "Campaign_VoiceMail": "TYPE_CAMPAIGN_VOICEMAIL", "TIKTOK": "TYPE_TIKTOK",
    "ALL_IN_ONE_CHAT": "TYPE_LIVE_CHAT", "FORM_SUBMISSION": "TYPE_FORM_SUBMISSION",
}  # fmt: skip


def _dnd_blocks(contact: Record, channel: str | None) -> bool:
    if contact.get("dnd"):
        return True
    settings = (contact.get("dndSettings") or {}).get(channel or "") or {}
    return bool(channel) and settings.get("status") == "active"


def _checked(call: Call, body: dict[str, Any]) -> tuple[Record, str, str | None]:
    contact = call.state.find_contact(str(body["contactId"]))
    if contact is None:
        raise bad_request(f"Contact with id {body['contactId']} not found")
    call.require_location(contact["locationId"])
    message_type, channel = _SEND[body["type"]]
    content = body.get("html") if body["type"] == "Email" else body.get("message")
    if not content and not body.get("attachments"):
        raise ApiError(422, {"statusCode": 422, "message": NO_CONTENT})
    if _dnd_blocks(contact, channel):
        raise bad_request(f"Cannot send message as DND is active for {channel or body['type']}.")
    return contact, message_type, channel


async def send_message(call: Call) -> Response:
    body = call.validated_body(frozenset({"subType", "status"}))
    contact, message_type, _ = _checked(call, body)
    now = iso_ms(call.sim.now())
    conversation = conversation_for(call.state, contact, now)
    email = body["type"] == "Email"
    send_at = float(body.get("scheduledTimestamp") or 0)  # UTC seconds (spec)
    scheduled = send_at > call.sim.now()
    fields: Record = {
        "messageType": message_type, "direction": "outbound", "source": "api",
        "status": "scheduled" if scheduled else "pending",
        "body": (body.get("html") if email else body.get("message")) or "",
        "attachments": list(body.get("attachments") or []),
        "contentType": "text/html" if email else "text/plain",
    }  # fmt: skip
    if email:
        fields.update(subject=body.get("subject"), meta={"email": {"messageIds": []}})
        fields["to"], fields["from"] = contact.get("email"), body.get("emailFrom")
    else:
        fields["to"], fields["from"] = contact.get("phone"), body.get("fromNumber")
    if scheduled:
        fields["scheduledAt"] = send_at
    message = add_message(call.state, conversation, now, **fields)
    answer: Record = {"conversationId": conversation["id"], "messageId": message["id"]}
    if email:
        answer["emailMessageId"] = message["emailMessageId"] = call.state.ids.ghl_id()
        message["meta"]["email"]["messageIds"] = [answer["emailMessageId"]]
    if not scheduled:
        queue_delivery(call.sim, message["id"])
    return call.respond(answer)


def _owned_message(call: Call, message_id: str) -> Record:
    message = owned(call, "messages", message_id, "Message")
    release_due(call.sim, [message])
    return message


async def get_message(call: Call) -> Response:
    return call.respond({"message": message_view(_owned_message(call, call.param("id")))})


async def get_messages(call: Call) -> Response:
    conversation = owned_conversation(call, call.param("conversationId"))
    limit = query_int(call, "limit", 20, 1, 100)
    types = {t for t in (call.query("type") or "").split(",") if t}
    everything = thread(call.state, conversation["id"])
    release_due(call.sim, everything)
    messages = [m for m in everything if not types or m["messageType"] in types]
    last_id = call.query("lastMessageId")
    if last_id:
        ids = [m["id"] for m in messages]
        if last_id not in ids:
            raise bad_request("Message not found")  # wording ours
        messages = messages[ids.index(last_id) + 1 :]
    page = messages[:limit]
    listing = {
        "lastMessageId": page[-1]["id"] if page else None,
        "nextPage": len(messages) > limit,
        "messages": [message_view(m) for m in page],
    }
    return call.respond({"messages": listing})


async def update_status(call: Call) -> Response:
    body = call.validated_body()
    message = _owned_message(call, call.param("messageId"))
    if message["direction"] != "outbound":
        raise bad_request("Only outbound messages can have their status updated")  # ours
    message.update(status=body["status"], dateUpdated=iso_ms(call.sim.now()))
    if body.get("error"):
        message["error"] = body["error"]
    answer = {"conversationId": message["conversationId"], "messageId": message["id"],
              "status": message["status"]}  # fmt: skip
    return call.respond(answer)


async def add_inbound(call: Call) -> Response:
    """A contact's reply. The spec requires `conversationProviderId` (custom providers); the
    simulator also takes it without one, so tests can simulate replies on built-in channels."""
    body = call.validated_body(frozenset({"conversationProviderId"}))
    conversation = owned_conversation(call, body["conversationId"])
    if body.get("contactId") and body["contactId"] != conversation["contactId"]:
        raise unprocessable(["contactId does not belong to this conversation"])  # ours
    now = iso_ms(call.sim.now())
    email = body["type"] == "Email"
    message = add_message(
        call.state, conversation, now,
        messageType=_INBOUND[body["type"]], direction="inbound", status="delivered",
        body=(body.get("html") if email else body.get("message")) or "", source="app",
        attachments=list(body.get("attachments") or []),
        contentType="text/html" if email else "text/plain",
        conversationProviderId=body.get("conversationProviderId"),
    )  # fmt: skip
    call.emit("InboundMessage", conversation["locationId"], event_view(message))
    answer = {"success": True, "conversationId": conversation["id"], "messageId": message["id"],
              "message": "Message added successfully", "contactId": conversation["contactId"],
              "dateAdded": now}  # fmt: skip
    return call.respond(answer)


async def cancel_scheduled(call: Call) -> Response:
    message = _owned_message(call, call.param("messageId"))  # a due one is released here
    if message["status"] != "scheduled":
        raise bad_request(CANCEL_FAILED)
    remove_message(call.state, message)
    # The success wording is ours; the spec only shows the failure text in this DTO.
    return call.respond({"status": 200, "message": "Scheduled message cancelled successfully"})


ENDPOINTS = [
    Endpoint("send-a-new-message", send_message),
    Endpoint("get-message", get_message),
    Endpoint("get-messages", get_messages),
    Endpoint("update-message-status", update_status),
    Endpoint("add-an-inbound-message", add_inbound),
    Endpoint("cancel-scheduled-message", cancel_scheduled),
    *EXPORT_ENDPOINTS,
]
