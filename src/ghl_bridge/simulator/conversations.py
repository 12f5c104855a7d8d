"""Conversations: search, create, get, update (read state, star) and delete.

`GET /conversations/search` pages by `startAfterDate` (epoch ms of the last item's
`lastMessageDate`, also given as the item's one-element `sort` cursor), newest first unless
`sort=asc`; `total` counts every match. Like GHL, the cursor is a bare timestamp, so two
conversations whose last messages share a millisecond can straddle a page boundary. One
conversation per contact: creating a second answers 400 (GHL's NestJS guard; wording ours).
Update answers `{success, conversation}` and emits ConversationUnreadUpdate when the unread
count changes (the event's fields are the conversation's read state, webhook-events.json).
Delete removes the conversation with its messages; the contact's next message starts a new one.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import ApiError, bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import owned, query_int, query_location
from ghl_bridge.simulator.state import SimState
from ghl_bridge.simulator.threads import CONVERSATION_TYPES, conversation_for
from ghl_bridge.simulator.timefmt import epoch_ms, iso_ms

__all__ = ["ENDPOINTS", "owned_conversation"]

Record = dict[str, Any]
MAX_LIMIT = 100


def owned_conversation(call: Call, conversation_id: str) -> Record:
    return owned(call, "conversations", conversation_id, "Conversation")


def _last_ms(conversation: Record) -> int:
    return conversation.get("lastMessageAt") or epoch_ms(conversation["dateAdded"]) or 0


def _search_view(state: SimState, conversation: Record) -> Record:
    contact = state.find_contact(conversation["contactId"]) or {}
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    view = {
        "id": conversation["id"],
        "contactId": conversation["contactId"],
        "locationId": conversation["locationId"],
        "lastMessageBody": conversation.get("lastMessageBody"),
        "lastMessageType": conversation.get("lastMessageType"),
        "lastMessageDirection": conversation.get("lastMessageDirection"),
        "type": conversation["type"],
        "unreadCount": conversation["unreadCount"],
        "fullName": name,
        "contactName": name,
        "email": contact.get("email") or "",
        "phone": contact.get("phone") or "",
        "companyName": contact.get("companyName"),
        "tags": contact.get("tags", []),
        "starred": conversation["starred"],
        "dateAdded": epoch_ms(conversation["dateAdded"]),
        "dateUpdated": epoch_ms(conversation["dateUpdated"]),
        "lastMessageDate": _last_ms(conversation),
        "sort": [_last_ms(conversation)],
    }
    # fullName/contactName/email/phone are required by the spec, so an unset one is "" (what
    # GHL sends then is unrecorded).
    return {key: value for key, value in view.items() if value is not None}


def _matches(state: SimState, conversation: Record, call: Call) -> bool:
    for name in ("contactId", "id", "assignedTo", "lastMessageDirection"):
        wanted = call.query(name)
        if wanted and conversation.get(name) != wanted:
            return False
    status = call.query("status") or "all"
    if (status == "unread" and not conversation["unreadCount"]) or (
        status == "starred" and not conversation["starred"]
    ):
        return False
    if status == "read" and conversation["unreadCount"]:
        return False
    query = (call.query("query") or "").casefold()
    if not query:
        return True
    view = _search_view(state, conversation)
    return any(query in str(view.get(f) or "").casefold() for f in ("fullName", "email", "phone"))


async def search_conversations(call: Call) -> Response:
    location_id = query_location(call)
    order = call.query("sort") or "desc"
    if order not in ("asc", "desc"):
        raise unprocessable(["sort must be one of the following values: asc, desc"])
    limit = query_int(call, "limit", 20, 1, MAX_LIMIT)
    found = [
        c
        for c in call.state.location_records("conversations", location_id)
        if not c["deleted"] and _matches(call.state, c, call)
    ]
    found.sort(key=lambda c: (_last_ms(c), c["id"]), reverse=order == "desc")
    after = call.query("startAfterDate")
    rest = found
    if after:
        cursor = query_int(call, "startAfterDate", 0)
        rest = [
            c for c in found if (_last_ms(c) < cursor if order == "desc" else _last_ms(c) > cursor)
        ]
    items = [_search_view(call.state, c) for c in rest[:limit]]
    return call.respond({"conversations": items, "total": len(found)})


async def create_conversation(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    contact = call.state.find_contact(body["contactId"])
    if contact is None or contact["locationId"] != body["locationId"]:
        raise bad_request(f"Contact with id {body['contactId']} not found")
    existing = [
        c for c in call.state.location_records("conversations", body["locationId"])
        if c["contactId"] == contact["id"] and not c["deleted"]
    ]  # fmt: skip
    if existing:
        raise ApiError(
            400,
            {"statusCode": 400, "message": "Conversation already exists",
             "conversationId": existing[0]["id"]},
        )  # fmt: skip
    conversation = conversation_for(call.state, contact, iso_ms(call.sim.now()))
    keys = ("id", "dateUpdated", "dateAdded", "deleted", "contactId", "locationId")
    view = {key: conversation[key] for key in keys}
    view["lastMessageDate"] = conversation["lastMessageDate"]
    return call.respond({"success": True, "conversation": view})


def _dto(conversation: Record) -> Record:
    """The spec's ConversationDto (update's answer): `lastMessageDate` as the ISO string."""
    keys = (
        "id", "contactId", "locationId", "deleted", "inbox", "unreadCount", "starred",
        "assignedTo", "userId", "lastMessageBody", "lastMessageType", "lastMessageDate",
    )  # fmt: skip
    return {key: conversation[key] for key in keys if conversation.get(key) is not None}


def _update_errors(body: Record) -> list[str]:
    count = body.get("unreadCount")
    if count is None or isinstance(count, bool):
        return []
    if not float(count).is_integer():
        return ["unreadCount must be an integer number"]
    return ["unreadCount must not be less than 0"] if count < 0 else []


async def update_conversation(call: Call) -> Response:
    body = call.validated_body()
    call.require_location(body["locationId"])
    conversation = owned_conversation(call, call.param("conversationId"))
    if conversation["locationId"] != body["locationId"]:
        raise bad_request("Conversation not found")
    errors = _update_errors(body)
    if errors:
        raise unprocessable(errors)
    before = conversation["unreadCount"]
    if body.get("unreadCount") is not None:
        conversation["unreadCount"] = int(body["unreadCount"])
    if body.get("starred") is not None:
        conversation["starred"] = body["starred"]
    if body.get("feedback") is not None:
        conversation["feedback"] = body["feedback"]
    conversation["dateUpdated"] = iso_ms(call.sim.now())
    if conversation["unreadCount"] != before:
        fields = {k: conversation[k] for k in ("id", "contactId", "deleted", "inbox", "starred",
                                               "unreadCount")}  # fmt: skip
        call.emit("ConversationUnreadUpdate", conversation["locationId"], fields)
    return call.respond({"success": True, "conversation": _dto(conversation)})


async def delete_conversation(call: Call) -> Response:
    conversation = owned_conversation(call, call.param("conversationId"))
    messages = call.state.store("messages")
    for message_id in [k for k, m in messages.items() if m["conversationId"] == conversation["id"]]:
        del messages[message_id]
    del call.state.store("conversations")[conversation["id"]]
    return call.respond({"success": True})


async def get_conversation(call: Call) -> Response:
    conversation = owned_conversation(call, call.param("conversationId"))
    view = {
        key: conversation[key]
        for key in ("id", "contactId", "locationId", "deleted", "inbox", "unreadCount", "starred")
    }
    view["type"] = CONVERSATION_TYPES.index(conversation["type"]) + 1
    for key in ("lastMessageBody", "lastMessageType", "lastMessageDirection"):
        if conversation.get(key) is not None:
            view[key] = conversation[key]
    view["lastMessageDate"] = _last_ms(conversation)
    return call.respond(view)


ENDPOINTS = [
    Endpoint("search-conversation", search_conversations),
    Endpoint("create-conversation", create_conversation),
    Endpoint("get-conversation", get_conversation),
    Endpoint("update-conversation", update_conversation),
    Endpoint("delete-conversation", delete_conversation),
]
