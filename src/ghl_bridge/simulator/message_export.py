"""`GET /conversations/messages/export`: every message of a location, cursor-paged.

Per the spec: `limit` 10-500 (default 100), `sortBy` createdAt|updatedAt (default createdAt),
`sortOrder` (default desc), filters `conversationId`, `contactId`, `channel`, `startDate`,
`endDate`. Without `channel` every non-email type is returned, activity messages included;
`channel=Email` returns only emails. The answer is `{messages, total, nextCursor}`: `total`
counts every match, and `nextCursor` (omitted on the last page) is opaque base64 of the last
item's sort position, `{"lastSort": [ms], "lastId": id}`, modelled on the spec's example
cursor (which also carries an Elasticsearch `pitId`; ours needs no snapshot).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.delivery import release_due
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import query_int, query_location
from ghl_bridge.simulator.threads import message_view
from ghl_bridge.simulator.timefmt import epoch_ms, parse_instant_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
Position = tuple[int, str]
_EMAIL = frozenset(
    {"TYPE_EMAIL", "TYPE_CUSTOM_EMAIL", "TYPE_CUSTOM_PROVIDER_EMAIL", "TYPE_CAMPAIGN_EMAIL"}
)
_CHANNELS = {
    "Call": frozenset({"TYPE_CALL", "TYPE_IVR_CALL", "TYPE_CAMPAIGN_CALL", "TYPE_CUSTOM_CALL",
                       "TYPE_CAMPAIGN_MANUAL_CALL", "TYPE_CAMPAIGN_VOICEMAIL"}),
    "SMS": frozenset({"TYPE_SMS", "TYPE_CUSTOM_SMS", "TYPE_CUSTOM_PROVIDER_SMS",
                      "TYPE_CAMPAIGN_SMS", "TYPE_CAMPAIGN_MANUAL_SMS", "TYPE_RCS"}),
    "Email": _EMAIL,
    "WhatsApp": frozenset({"TYPE_WHATSAPP"}),
    "Instagram": frozenset({"TYPE_INSTAGRAM", "TYPE_INSTAGRAM_COMMENT"}),
    "Facebook": frozenset({"TYPE_FACEBOOK", "TYPE_FACEBOOK_COMMENT", "TYPE_CAMPAIGN_FACEBOOK"}),
}  # fmt: skip
_SORT_FIELDS = {"createdAt": "dateAdded", "updatedAt": "dateUpdated"}


def _choice(call: Call, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = call.query(name) or default
    if value is not None and value not in allowed:
        raise unprocessable([f"{name} must be one of the following values: {', '.join(allowed)}"])
    return value


def _bound(call: Call, name: str) -> int | None:
    raw = call.query(name)
    if not raw:
        return None
    millis = parse_instant_ms(raw)
    if millis is None:
        raise unprocessable([f"{name} must be a valid ISO 8601 date string"])
    return millis


def _wanted(call: Call, message: Record, types: frozenset[str] | None) -> bool:
    if types is None and message["messageType"] in _EMAIL:
        return False
    if types is not None and message["messageType"] not in types:
        return False
    return all(
        not call.query(name) or message[name] == call.query(name)
        for name in ("conversationId", "contactId")
    )


def _encode(position: Position) -> str:
    payload = {"lastSort": [position[0]], "lastId": position[1]}
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _decode(cursor: str) -> Position:
    try:
        payload = json.loads(base64.b64decode(cursor, validate=True))
        return int(payload["lastSort"][0]), str(payload["lastId"])
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise bad_request("Invalid cursor") from exc  # wording ours


async def export_messages(call: Call) -> Response:
    location_id = query_location(call)
    limit = query_int(call, "limit", 100, 10, 500)
    sort_by = _SORT_FIELDS[str(_choice(call, "sortBy", tuple(_SORT_FIELDS), "createdAt"))]
    descending = _choice(call, "sortOrder", ("asc", "desc"), "desc") == "desc"
    channel = _choice(call, "channel", tuple(_CHANNELS), None)
    types = _CHANNELS[channel] if channel else None
    start, end = _bound(call, "startDate"), _bound(call, "endDate")
    messages = call.state.location_records("messages", location_id)
    release_due(call.sim, messages)
    found: list[tuple[Position, Record]] = []
    for message in messages:
        added = epoch_ms(message["dateAdded"]) or 0
        if (start is not None and added < start) or (end is not None and added > end):
            continue
        if _wanted(call, message, types):
            found.append(((epoch_ms(message[sort_by]) or 0, message["id"]), message))
    found.sort(key=lambda pair: pair[0], reverse=descending)
    rest = found
    if call.query("cursor"):
        after = _decode(str(call.query("cursor")))
        rest = [p for p in found if (p[0] < after if descending else p[0] > after)]
    page = rest[:limit]
    answer: Record = {"messages": [message_view(m) for _, m in page], "total": len(found)}
    if len(rest) > limit:
        answer["nextCursor"] = _encode(page[-1][0])
    return call.respond(answer)


ENDPOINTS = [Endpoint("export-messages-by-location", export_messages)]
