"""Location-wide task search (`POST /locations/{locationId}/tasks/search`).

Tasks live on contacts (records.py); this searches the tasks of every contact of the location.
Filters: `contactId[]`, `assignedTo[]`, `completed`, `businessId` (tasks of that business's
contacts) and `query` (case-insensitive, in title or body). `skip`/`limit` (default 0/25) page
the result, ordered by due date with undated tasks last. The spec types each task as an array;
GHL sends task objects: get-task's shape plus `locationId` and `dateAdded`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.admin_access import path_location
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import unprocessable
from ghl_bridge.simulator.gate import Endpoint

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
_VIEW = ("id", "title", "body", "assignedTo", "dueDate", "completed", "contactId", "dateAdded")


def _count(body: dict[str, Any], name: str, default: int, low: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if not float(value).is_integer():
        raise unprocessable([f"{name} must be an integer number"])
    if value < low:
        raise unprocessable([f"{name} must not be less than {low}"])
    return int(value)


def _matches(task: Record, contact: Record, body: dict[str, Any]) -> bool:
    if body.get("contactId") and contact["id"] not in body["contactId"]:
        return False
    if body.get("assignedTo") and task.get("assignedTo") not in body["assignedTo"]:
        return False
    if body.get("completed") is not None and bool(task.get("completed")) != body["completed"]:
        return False
    if body.get("businessId") and contact.get("businessId") != body["businessId"]:
        return False
    needle = str(body.get("query") or "").casefold()
    text = f"{task.get('title') or ''}\n{task.get('body') or ''}".casefold()
    return needle in text


async def search_tasks(call: Call) -> Response:
    body = call.validated_body() if call.body is not None else {}
    skip, limit = _count(body, "skip", 0, 0), _count(body, "limit", 25, 1)
    location = path_location(call)
    found = [
        {**{k: task[k] for k in _VIEW if task.get(k) is not None}, "locationId": location.id}
        for contact in call.state.location_contacts(location.id).values()
        for task in call.state.tasks.get(contact["id"], {}).values()
        if _matches(task, contact, body)
    ]
    found.sort(key=lambda t: (t.get("dueDate") is None, t.get("dueDate") or "", t["id"]))
    return call.respond({"tasks": found[skip : skip + limit]})


ENDPOINTS = [Endpoint("task-search", search_tasks)]
