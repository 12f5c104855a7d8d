"""Conversations and their messages as stored records, shared by every area that writes to a
contact's thread (sending messages, booking appointments) or reads across threads (export).

GHL keeps one conversation per contact for the phone/email/social channels and numbers message
types by the 1-based position in its enum, leaving out the later-added `TYPE_RCS`
(research/ghl-wire-facts.md §5.3: SMS=2, EMAIL=3, ACTIVITY_APPOINTMENT=31).
"""

from __future__ import annotations

from typing import Any

from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.timefmt import epoch_ms

__all__ = [
    "CONVERSATION_TYPES",
    "MESSAGE_TYPES",
    "add_message",
    "conversation_for",
    "message_view",
    "remove_message",
    "thread",
    "type_number",
]

Record = dict[str, Any]
MESSAGE_TYPES = (
    "TYPE_CALL", "TYPE_SMS", "TYPE_EMAIL", "TYPE_SMS_REVIEW_REQUEST", "TYPE_WEBCHAT",
    "TYPE_SMS_NO_SHOW_REQUEST", "TYPE_CAMPAIGN_SMS", "TYPE_CAMPAIGN_CALL", "TYPE_CAMPAIGN_EMAIL",
    "TYPE_CAMPAIGN_VOICEMAIL", "TYPE_FACEBOOK", "TYPE_CAMPAIGN_FACEBOOK",
    "TYPE_CAMPAIGN_MANUAL_CALL", "TYPE_CAMPAIGN_MANUAL_SMS", "TYPE_GMB", "TYPE_CAMPAIGN_GMB",
    "TYPE_REVIEW", "TYPE_INSTAGRAM", "TYPE_WHATSAPP", "TYPE_CUSTOM_SMS", "TYPE_CUSTOM_EMAIL",
    "TYPE_CUSTOM_PROVIDER_SMS", "TYPE_CUSTOM_PROVIDER_EMAIL", "TYPE_IVR_CALL",
    "TYPE_ACTIVITY_CONTACT", "TYPE_ACTIVITY_INVOICE", "TYPE_ACTIVITY_PAYMENT",
    "TYPE_ACTIVITY_OPPORTUNITY", "TYPE_LIVE_CHAT", "TYPE_LIVE_CHAT_INFO_MESSAGE",
    "TYPE_ACTIVITY_APPOINTMENT", "TYPE_FACEBOOK_COMMENT", "TYPE_INSTAGRAM_COMMENT",
    "TYPE_CUSTOM_CALL", "TYPE_INTERNAL_COMMENT", "TYPE_ACTIVITY_EMPLOYEE_ACTION_LOG",
    "TYPE_TIKTOK", "TYPE_TIKTOK_COMMENT", "TYPE_ACTIVITY_WHATSAPP", "TYPE_FORM_SUBMISSION",
    "TYPE_SMS_REACTION",
    "TYPE_RCS",  # added later; numbered after the rest so the recorded numbers stay right
)  # fmt: skip
_VIEW = (
    "id", "direction", "status", "type", "messageType", "locationId", "contactId",
    "conversationId", "dateAdded", "dateUpdated", "body", "contentType", "attachments", "source",
    "meta", "userId", "conversationProviderId", "activity", "from", "to", "subject",
)  # fmt: skip
CONVERSATION_TYPES = (
    "TYPE_PHONE",
    "TYPE_EMAIL",
    "TYPE_FB_MESSENGER",
    "TYPE_REVIEW",
    "TYPE_GROUP_SMS",
)


def type_number(message_type: str) -> int:
    return MESSAGE_TYPES.index(message_type) + 1


def conversation_for(state: SimState, contact: Record, now: str) -> Record:
    """The contact's conversation, created on first use (as GHL does on the first message)."""
    for existing in state.location_records("conversations", contact["locationId"]):
        if existing["contactId"] == contact["id"]:
            return existing
    now = state.stamp(now)
    conversation: Record = {
        "id": state.ids.ghl_id(),
        "locationId": contact["locationId"],
        "contactId": contact["id"],
        "type": "TYPE_PHONE",
        "unreadCount": 0,
        "deleted": False,
        "inbox": True,
        "starred": False,
        "dateAdded": now,
        "dateUpdated": now,
        "lastMessageDate": now,
    }
    state.store("conversations")[conversation["id"]] = conversation
    return conversation


def message_view(message: Record) -> Record:
    """A message on the wire (get, thread listing, export): unset fields omitted, bookkeeping
    such as `scheduledAt` hidden."""
    return {key: message[key] for key in _VIEW if message.get(key) is not None}


def add_message(state: SimState, conversation: Record, now: str, **fields: Any) -> Record:
    """Append a message to `conversation` and make it the conversation's last message."""
    now = state.stamp(now)
    message: Record = {
        "id": state.ids.ghl_id(),
        "conversationId": conversation["id"],
        "locationId": conversation["locationId"],
        "contactId": conversation["contactId"],
        "contentType": "text/plain",
        "attachments": [],
        "dateAdded": now,
        "dateUpdated": now,
        **fields,
    }
    message["type"] = type_number(message["messageType"])
    state.store("messages")[message["id"]] = message
    _make_last(conversation, message)
    conversation["dateUpdated"] = now
    if message.get("direction") == "inbound":
        conversation["unreadCount"] += 1
    return message


def _make_last(conversation: Record, message: Record) -> None:
    conversation.update(
        lastMessageDate=message["dateAdded"],
        lastMessageBody=message.get("body") or "",
        lastMessageType=message["messageType"],
        lastMessageDirection=message.get("direction"),
        lastMessageAt=epoch_ms(message["dateAdded"]),
    )


def remove_message(state: SimState, message: Record) -> None:
    """Delete a message; its conversation's "last message" falls back to the one before it."""
    state.store("messages").pop(message["id"], None)
    conversation = state.store("conversations").get(message["conversationId"])
    if conversation is None:
        return
    remaining = thread(state, conversation["id"])
    if remaining:
        _make_last(conversation, remaining[0])
        return
    for key in ("lastMessageBody", "lastMessageType", "lastMessageDirection", "lastMessageAt"):
        conversation.pop(key, None)
    conversation["lastMessageDate"] = conversation["dateAdded"]


def thread(state: SimState, conversation_id: str) -> list[Record]:
    """The conversation's messages, newest first (ties: the later-added first)."""
    messages = [
        (index, m)
        for index, m in enumerate(state.store("messages").values())
        if m["conversationId"] == conversation_id
    ]
    messages.sort(key=lambda pair: (epoch_ms(pair[1]["dateAdded"]) or 0, pair[0]), reverse=True)
    return [m for _, m in messages]
