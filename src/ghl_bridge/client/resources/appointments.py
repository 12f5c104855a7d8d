"""Appointments (spec: calendars.json, Version 2021-04-15): book, read, edit, cancel, notes.

Booking a time that is not a free slot answers 400 "The slot you have selected is no longer
available." unless ``ignoreFreeSlotValidation`` is true (ghl-wire-facts §6.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class AppointmentsResource(Resource):
    """``client.appointments``: bookings on a calendar; notes per appointment."""

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Book (``calendarId``, ``contactId``, ``startTime`` required). Not retried unless keyed:
        a repeated booking would take a second slot."""
        body = {**data, "locationId": location_id}
        return await self._call("create-appointment", location_id, json=body, options=options)

    async def get(self, location_id: str, event_id: str, *, options: Opts = None) -> JSON:
        """``{"appointment": {...}}``; deleted appointments still answer 200 with ``deleted``."""
        return await self._call(
            "get-appointment", location_id, path={"eventId": event_id}, options=options
        )

    async def update(
        self, location_id: str, event_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Edit, reschedule or set ``appointmentStatus`` (e.g. cancelled)."""
        return await self._call(
            "edit-appointment",
            location_id,
            path={"eventId": event_id},
            json=dict(data),
            options=options,
        )

    async def delete(self, location_id: str, event_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-event", location_id, path={"eventId": event_id}, json={}, options=options
        )

    async def list_notes(
        self,
        location_id: str,
        appointment_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        options: Opts = None,
    ) -> JSON:
        return await self._call(
            "get-appointment-notes",
            location_id,
            path={"appointmentId": appointment_id},
            query={"limit": limit, "offset": offset},
            options=options,
        )

    async def create_note(
        self,
        location_id: str,
        appointment_id: str,
        body: str,
        *,
        user_id: str | None = None,
        options: Opts = None,
    ) -> JSON:
        """Add a note (at most 5,000 characters). Not retried unless keyed: it would duplicate."""
        payload = {"body": body, **({"userId": user_id} if user_id else {})}
        return await self._call(
            "create-appointment-note",
            location_id,
            path={"appointmentId": appointment_id},
            json=payload,
            options=options,
        )

    async def update_note(
        self,
        location_id: str,
        appointment_id: str,
        note_id: str,
        body: str,
        *,
        options: Opts = None,
    ) -> JSON:
        return await self._call(
            "update-appointment-note",
            location_id,
            path={"appointmentId": appointment_id, "noteId": note_id},
            json={"body": body},
            options=options,
        )

    async def delete_note(
        self, location_id: str, appointment_id: str, note_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "delete-appointment-note",
            location_id,
            path={"appointmentId": appointment_id, "noteId": note_id},
            options=options,
        )
