"""A calendar's event notifications: list, create (one or many), find, update, delete.

Spec (calendars.json, `*-event-notification`): create takes a JSON *array* of
CreateCalendarNotificationDTO, all for the path's calendar, and answers the created ones as a
bare array, as the list does; those two bodies therefore carry no `traceId` (no live answer is
recorded). A body that is not an array is a 400 in NestJS `ParseArrayPipe`'s wording; each item
is checked like any DTO, its messages prefixed `[index] ` as that pipe does (422 as GHL's other
DTO failures; the status for arrays is unrecorded). Find answers the notification itself,
update and delete answer `{message}`. Delete is soft (the update DTO's `deleted`): the
notification leaves the default listing, `deleted=true` lists it, and an update with
`deleted: false` restores it. The list filters on `isActive`/`deleted` and pages with `limit`
(default 100) and `skip`, in creation order. Rendered fields are exactly the response DTO's; a
notification id that is not this calendar's is a 400 like any unknown id.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.calendars import owned_calendar
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import GhlJSONResponse, bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import query_bool, query_int
from ghl_bridge.simulator.validation import dto_errors

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
KIND = "calendar_notifications"
NOT_AN_ARRAY = "Validation failed (parsable array expected)"  # ParseArrayPipe's own text
_VIEW = (
    "_id", "receiverType", "additionalEmailIds", "additionalPhoneNumbers", "channel",
    "notificationType", "isActive", "additionalWhatsappNumbers", "templateId", "body", "subject",
    "afterTime", "beforeTime", "selectedUsers", "deleted",
)  # fmt: skip
_SCHEDULES = ("afterTime", "beforeTime")
_SCHEDULE_DTO = {"properties": {"timeOffset": {"type": "number"}, "unit": {"type": "string"}}}


def _view(notification: Record) -> Record:
    return {key: notification[key] for key in _VIEW if notification.get(key) is not None}


def _schedule_errors(body: Record) -> list[str]:
    """SchedulesDTO items (`{timeOffset: number, unit: string}`), which the top-level check
    does not reach: class-validator's nested wording and dotted paths."""
    errors: list[str] = []
    for name in _SCHEDULES:
        for n, item in enumerate(body.get(name) or []):
            path = f"{name}.{n}"
            if not isinstance(item, dict):
                errors.append(f"nested property {path} must be either object or array")
                continue
            errors += [f"{path}.{message}" for message in dto_errors(_SCHEDULE_DTO, item)]
    return errors


def _item_schema(call: Call) -> Record:
    return call.sim.spec.resolve(call.sim.spec.resolve(call.op.request_schema).get("items"))


def _item_errors(schema: Record, item: Any) -> list[str]:
    if not isinstance(item, dict):
        return ["request body must be an object"]
    return dto_errors(schema, item) + _schedule_errors(item)


def _checked_items(call: Call) -> list[Record]:
    if not isinstance(call.body, list):
        raise bad_request(NOT_AN_ARRAY)
    schema = _item_schema(call)
    errors = [
        f"[{n}] {message}"
        for n, item in enumerate(call.body)
        for message in _item_errors(schema, item)
    ]
    if errors:
        raise unprocessable(errors)
    return list(call.body)


def _settings(body: Record) -> Record:
    """The DTO fields given; `null` leaves a field as it is (@IsOptional)."""
    return {key: value for key, value in body.items() if value is not None}


def _owned(call: Call) -> tuple[Record, Record]:
    calendar = owned_calendar(call, call.param("calendarId"))
    notification = call.state.store(KIND).get(call.param("notificationId"))
    if notification is None or notification["calendarId"] != calendar["id"]:
        raise bad_request("Notification not found")  # wording ours
    return calendar, notification


async def list_notifications(call: Call) -> Response:
    calendar = owned_calendar(call, call.param("calendarId"))
    active = query_bool(call, "isActive")
    deleted = bool(query_bool(call, "deleted"))
    limit = query_int(call, "limit", 100, low=1)
    skip = query_int(call, "skip", 0)
    found = [
        n for n in call.state.location_records(KIND, calendar["locationId"])
        if n["calendarId"] == calendar["id"] and n["deleted"] == deleted
        and (active is None or n["isActive"] == active)
    ]  # fmt: skip
    page = [_view(n) for n in found[skip : skip + limit]]
    return GhlJSONResponse(page, status_code=call.op.status)


async def create_notifications(call: Call) -> Response:
    items = _checked_items(call)
    calendar = owned_calendar(call, call.param("calendarId"))
    made = []
    for item in items:
        notification: Record = {
            "_id": call.state.ids.object_id(), "calendarId": calendar["id"],
            "locationId": calendar["locationId"], "isActive": True, **_settings(item),
            "deleted": False,
        }  # fmt: skip
        call.state.store(KIND)[notification["_id"]] = notification
        made.append(_view(notification))
    return GhlJSONResponse(made, status_code=call.op.status)


async def find_notification(call: Call) -> Response:
    return call.respond(_view(_owned(call)[1]))


async def update_notification(call: Call) -> Response:
    body = call.validated_body()
    errors = _schedule_errors(body)
    if errors:
        raise unprocessable(errors)
    _, notification = _owned(call)
    notification.update(_settings(body))
    return call.respond({"message": "Notification updated successfully"})  # wording ours


async def delete_notification(call: Call) -> Response:
    _, notification = _owned(call)
    notification["deleted"] = True
    return call.respond({"message": "Notification deleted successfully"})  # wording ours


ENDPOINTS = [
    Endpoint("get-event-notification", list_notifications),
    Endpoint("create-event-notification", create_notifications),
    Endpoint("find-event-notification", find_notification),
    Endpoint("update-event-notification", update_notification),
    Endpoint("delete-event-notification", delete_notification),
]
