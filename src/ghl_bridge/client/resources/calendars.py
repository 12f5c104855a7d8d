"""Calendars and their free slots (spec: calendars.json, Version 2021-04-15).

Free-slot dates are epoch milliseconds and the range may span at most 31 days (ghl-wire-facts §6.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class CalendarsResource(Resource):
    """``client.calendars``: calendar settings, free slots and the events in a range."""

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
