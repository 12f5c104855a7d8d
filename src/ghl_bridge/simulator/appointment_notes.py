"""Notes on an appointment: create, list (offset paging), update, delete.

Spec (calendars.json): `body` is required and at most 5,000 characters; the list needs `limit`
(at most 20) and `offset`, and answers `{notes, hasMore}`, newest first; a note carries the
appointment's `contactId` and, when `userId` names a known user, `createdBy {id, name}`. A note
id that is not this appointment's answers 400 like any unknown id. A deleted appointment keeps
its notes readable but takes no new ones.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import owned, query_int, required_query
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
MAX_BODY = 5000
MAX_LIMIT = 20
_VIEW = ("id", "body", "userId", "contactId", "dateAdded", "createdBy")


def _view(note: Record) -> Record:
    return {key: note[key] for key in _VIEW if note.get(key) is not None}


def _appointment(call: Call) -> Record:
    return owned(call, "appointments", call.param("appointmentId"), "Appointment")


def _note(call: Call, appointment: Record) -> Record:
    note = call.state.store("appointment_notes").get(call.param("noteId"))
    if note is None or note["appointmentId"] != appointment["id"]:
        raise bad_request("Note not found")  # wording ours
    return note


def _text(call: Call) -> dict[str, Any]:
    body = call.validated_body()
    if len(str(body["body"])) > MAX_BODY:
        raise unprocessable([f"body must be shorter than or equal to {MAX_BODY} characters"])
    return body


def _author(call: Call, user_id: Any) -> Record | None:
    """`createdBy` for a user the simulator knows (seeded by the users area, if any)."""
    if not user_id:
        return None
    user = call.state.store("users").get(str(user_id)) or {}
    name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
    return {"id": str(user_id), **({"name": name} if name else {})}


async def create_note(call: Call) -> Response:
    body = _text(call)
    appointment = _appointment(call)
    if appointment.get("deleted"):
        raise bad_request("Appointment not found")  # as editing a deleted appointment answers
    note: Record = {
        "id": call.state.ids.ghl_id(), "appointmentId": appointment["id"],
        "locationId": appointment["locationId"], "contactId": appointment["contactId"],
        "body": body["body"], "userId": body.get("userId"),
        "createdBy": _author(call, body.get("userId")), "dateAdded": iso_ms(call.sim.now()),
    }  # fmt: skip
    call.state.store("appointment_notes")[note["id"]] = note
    return call.respond({"note": _view(note)})


async def list_notes(call: Call) -> Response:
    for name in ("limit", "offset"):
        required_query(call, name)
    limit = query_int(call, "limit", MAX_LIMIT, 1, MAX_LIMIT)
    offset = query_int(call, "offset", 0, 0)
    appointment = _appointment(call)
    notes = [
        n for n in reversed(call.state.store("appointment_notes").values())
        if n["appointmentId"] == appointment["id"]
    ]  # fmt: skip
    notes.sort(key=lambda n: n["dateAdded"], reverse=True)  # stable: ties stay newest first
    page = notes[offset : offset + limit]
    return call.respond({"notes": [_view(n) for n in page], "hasMore": offset + limit < len(notes)})


async def update_note(call: Call) -> Response:
    body = _text(call)
    note = _note(call, _appointment(call))
    note["body"] = body["body"]
    if body.get("userId"):
        note["userId"] = body["userId"]
    return call.respond({"note": _view(note)})


async def delete_note(call: Call) -> Response:
    note = _note(call, _appointment(call))
    del call.state.store("appointment_notes")[note["id"]]
    return call.respond({"success": True})


ENDPOINTS = [
    Endpoint("create-appointment-note", create_note),
    Endpoint("get-appointment-notes", list_notes),
    Endpoint("update-appointment-note", update_note),
    Endpoint("delete-appointment-note", delete_note),
]
