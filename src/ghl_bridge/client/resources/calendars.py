"""Calendars, their free slots and their event notifications (spec: calendars.json, Version
2021-04-15).

Free-slot dates are epoch milliseconds and the range may span at most 31 days (ghl-wire-facts §6.3).
Notifications are listed and created as bare JSON arrays, which ``_call`` hands back as
``{"data": [...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class CalendarsResource(Resource):
    """``client.calendars``: calendar settings, free slots, the events in a range and the
    calendar's event notifications."""

    async def list(
        self, location_id: str, *, group_id: str | None = None, options: Opts = None
    ) -> JSON:
        return await self._call(
            "get-calendars",
            location_id,
            query={"locationId": location_id, "groupId": group_id},
            options=options,
        )

    async def get(self, location_id: str, calendar_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-calendar", location_id, path={"calendarId": calendar_id}, options=options
        )

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create a calendar. Not retried unless keyed."""
        body = {**data, "locationId": location_id}
        return await self._call("create-calendar", location_id, json=body, options=options)

    async def update(
        self, location_id: str, calendar_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "update-calendar",
            location_id,
            path={"calendarId": calendar_id},
            json=dict(data),
            options=options,
        )

    async def delete(self, location_id: str, calendar_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-calendar", location_id, path={"calendarId": calendar_id}, options=options
        )

    async def free_slots(
        self,
        location_id: str,
        calendar_id: str,
        start_ms: int,
        end_ms: int,
        *,
        timezone: str | None = None,
        user_ids: Sequence[str] | None = None,
        options: Opts = None,
    ) -> JSON:
        """``{"YYYY-MM-DD": {"slots": [ISO...]}, "traceId": ...}`` for the (≤31-day) range."""
        query = {
            "startDate": start_ms,
            "endDate": end_ms,
            "timezone": timezone,
            "userIds": list(user_ids) if user_ids else None,  # repeated key on the wire
        }
        return await self._call(
            "get-slots",
            location_id,
            path={"calendarId": calendar_id},
            query=query,
            options=options,
        )

    async def events(
        self,
        location_id: str,
        start_ms: int,
        end_ms: int,
        *,
        calendar_id: str | None = None,
        user_id: str | None = None,
        group_id: str | None = None,
        options: Opts = None,
    ) -> JSON:
        """Events in a range; GHL wants one of calendar_id, user_id or group_id."""
        query = {
            "locationId": location_id,
            "startTime": start_ms,
            "endTime": end_ms,
            "calendarId": calendar_id,
            "userId": user_id,
            "groupId": group_id,
        }
        return await self._call("get-calendar-events", location_id, query=query, options=options)

    async def list_notifications(
        self,
        location_id: str,
        calendar_id: str,
        *,
        is_active: bool | None = None,
        deleted: bool | None = None,
        limit: int | None = None,
        skip: int | None = None,
        options: Opts = None,
    ) -> JSON:
        """``{"data": [notification...]}``; ``deleted=True`` lists the (soft-)deleted ones."""
        query = {"isActive": is_active, "deleted": deleted, "limit": limit, "skip": skip}
        return await self._call(
            "get-event-notification",
            location_id,
            path={"calendarId": calendar_id},
            query=query,
            options=options,
        )

    async def get_notification(
        self, location_id: str, calendar_id: str, notification_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "find-event-notification",
            location_id,
            path={"calendarId": calendar_id, "notificationId": notification_id},
            options=options,
        )

    async def create_notifications(
        self,
        location_id: str,
        calendar_id: str,
        data: Sequence[Mapping[str, Any]],
        *,
        options: Opts = None,
    ) -> JSON:
        """Create one or more notifications in one call: ``{"data": [created...]}``, each with
        its ``_id``. Not retried unless keyed."""
        return await self._call(
            "create-event-notification",
            location_id,
            path={"calendarId": calendar_id},
            json=[dict(item) for item in data],
            options=options,
        )

    async def update_notification(
        self,
        location_id: str,
        calendar_id: str,
        notification_id: str,
        data: Mapping[str, Any],
        *,
        options: Opts = None,
    ) -> JSON:
        """``{"message": ...}``; ``{"deleted": False}`` restores a deleted notification."""
        return await self._call(
            "update-event-notification",
            location_id,
            path={"calendarId": calendar_id, "notificationId": notification_id},
            json=dict(data),
            options=options,
        )

    async def delete_notification(
        self, location_id: str, calendar_id: str, notification_id: str, *, options: Opts = None
    ) -> JSON:
        """Soft delete (``deleted: true``): ``{"message": ...}``."""
        return await self._call(
            "delete-event-notification",
            location_id,
            path={"calendarId": calendar_id, "notificationId": notification_id},
            options=options,
        )
