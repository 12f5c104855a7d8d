"""A contact's notes and tasks: the same CRUD shape, so one set of handlers serves both.

Wire shapes follow Nango's recorded responses (`{"note": {...}}`, `{"task": {...}}`); unset
fields are omitted because the spec types them as plain strings. Events: NoteCreate/Update/Delete,
TaskCreate/TaskComplete/TaskDelete (webhook-events.json).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.contacts import contact_for_call
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint, Handler
from ghl_bridge.simulator.timefmt import epoch_ms, iso_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
_SUCCEEDED = {"succeded": True, "succeeded": True}


@dataclass(frozen=True, slots=True)
class RecordKind:
    """What differs between notes and tasks."""

    singular: str  # "note" -> {"note": ...}; plural for lists
    id_param: str
    fields: tuple[str, ...]
    defaults: dict[str, Any]
    view_fields: tuple[str, ...]

    @property
    def plural(self) -> str:
        return f"{self.singular}s"

    def store(self, call: Call, contact_id: str) -> dict[str, Record]:
        table = call.state.notes if self.singular == "note" else call.state.tasks
        return table.setdefault(contact_id, {})

    def view(self, record: Record) -> Record:
        return {name: record[name] for name in self.view_fields if record.get(name) is not None}

    def event(self, record: Record) -> Record:
        return {
            name: record[name]
            for name in (*self.view_fields, "dateAdded")
            if record.get(name) is not None
        }


NOTES = RecordKind(
    "note",
    "id",
    ("body", "userId", "title", "color", "pinned"),
    {"pinned": False},
    ("id", "body", "userId", "dateAdded", "contactId", "title", "color", "pinned"),
)
TASKS = RecordKind(
    "task",
    "taskId",
    ("title", "body", "dueDate", "completed", "assignedTo"),
    {"completed": False},
    ("id", "title", "body", "assignedTo", "dueDate", "completed", "contactId"),
)


def _apply(kind: RecordKind, record: Record, body: dict[str, Any]) -> Record:
    """Copy DTO fields onto a copy of `record`; dueDate is normalised to GHL's ISO form."""
    updated = dict(record)
    for name in kind.fields:
        if name in body:
            updated[name] = body[name]
    if "dueDate" in body:
        millis = epoch_ms(str(body["dueDate"]))
        if millis is None:
            raise unprocessable(["dueDate must be a valid ISO 8601 date string"])
        updated["dueDate"] = iso_ms(millis / 1000)
    if "body" in body and kind is NOTES:
        updated["bodyText"] = body["body"]
    return updated


def _find(kind: RecordKind, call: Call) -> tuple[Record, Record]:
    contact = contact_for_call(call)
    record_id = call.param(kind.id_param)
    record = kind.store(call, contact["id"]).get(record_id)
    if record is None:
        # GHL answers missing ids with 400 (see contacts); the wording here is ours.
        raise bad_request(f"{kind.singular.capitalize()} with id {record_id} not found")
    return contact, record


def _emit(kind: RecordKind, call: Call, verb: str, contact: Record, record: Record) -> None:
    name = f"{kind.singular.capitalize()}{verb}"
    call.emit(name, contact["locationId"], kind.event(record))


def _list(kind: RecordKind) -> Handler:
    async def handler(call: Call) -> Response:
        contact = contact_for_call(call)
        records = sorted(
            kind.store(call, contact["id"]).values(), key=lambda r: r["dateAdded"], reverse=True
        )
        return call.respond({kind.plural: [kind.view(r) for r in records]})

    return handler


def _create(kind: RecordKind) -> Handler:
    async def handler(call: Call) -> Response:
        body = call.validated_body()
        contact = contact_for_call(call)
        base = {"id": call.state.ids.ghl_id(), "contactId": contact["id"], **kind.defaults}
        record = _apply(kind, {**base, "dateAdded": iso_ms(call.sim.now())}, body)
        kind.store(call, contact["id"])[record["id"]] = record
        _emit(kind, call, "Create", contact, record)
        return call.respond({kind.singular: kind.view(record)})

    return handler


def _get(kind: RecordKind) -> Handler:
    async def handler(call: Call) -> Response:
        return call.respond({kind.singular: kind.view(_find(kind, call)[1])})

    return handler


def _update(kind: RecordKind) -> Handler:
    async def handler(call: Call) -> Response:
        body = call.validated_body()
        contact, record = _find(kind, call)
        updated = _apply(kind, record, body)
        kind.store(call, contact["id"])[record["id"]] = updated
        if kind is NOTES:
            _emit(kind, call, "Update", contact, updated)
        elif updated.get("completed") and not record.get("completed"):
            _emit(kind, call, "Complete", contact, updated)
        return call.respond({kind.singular: kind.view(updated)})

    return handler


def _delete(kind: RecordKind) -> Handler:
    async def handler(call: Call) -> Response:
        contact, record = _find(kind, call)
        del kind.store(call, contact["id"])[record["id"]]
        _emit(kind, call, "Delete", contact, record)
        return call.respond(_SUCCEEDED)

    return handler


def _endpoints(kind: RecordKind, op_ids: dict[str, str]) -> list[Endpoint]:
    makers: dict[str, Callable[[RecordKind], Handler]] = {
        "list": _list,
        "create": _create,
        "get": _get,
        "update": _update,
        "delete": _delete,
    }
    return [Endpoint(op_ids[verb], make(kind)) for verb, make in makers.items()]


ENDPOINTS = [
    *_endpoints(
        NOTES,
        {
            "list": "get-all-notes",
            "create": "create-note",
            "get": "get-note",
            "update": "update-note",
            "delete": "delete-note",
        },
    ),
    *_endpoints(
        TASKS,
        {
            "list": "get-all-tasks",
            "create": "create-task",
            "get": "get-task",
            "update": "update-task",
            "delete": "delete-task",
        },
    ),
    # PUT .../tasks/{taskId}/completed takes `{completed}` only: the same update path.
    Endpoint("update-task-completed", _update(TASKS)),
]
