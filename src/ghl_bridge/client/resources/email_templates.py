"""Email builder templates and email campaign schedules (spec: emails.json), plus the location's
SMS/email snippets (locations.json ``/templates``: read and delete only; GHL has no create)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import Offset
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class EmailTemplatesResource(Resource):
    """``client.email_templates``: builder templates, email schedules, snippets."""

    def iter_list(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Builder templates, paged by offset/limit."""
        return self._pages(
            "fetch-template", location_id, Offset("builders", limit), query, max_items=max_items
        )

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """A template or folder (``type``; ``title`` names it). The spec, and so the pre-send
        check, requires ``importProvider`` even where GHL ignores it (any ``type`` but import)."""
        body = {**data, "locationId": location_id}
        return await self._call("create-template", location_id, json=body, options=options)

    async def update(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Save a template's content (``templateId``, ``html``/``dnd``...): a full replace."""
        body = {**data, "locationId": location_id}
        return await self._call(
            "update-template", location_id, json=body, idempotent=True, options=options
        )

    async def delete(self, location_id: str, template_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-template",
            location_id,
            path={"locationId": location_id, "templateId": template_id},
            options=options,
        )

    def iter_schedules(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Email campaigns/schedules (``showStats=true`` adds delivered/opened/clicked)."""
        return self._pages(
            "fetch-campaigns", location_id, Offset("schedules", limit), query, max_items=max_items
        )

    async def list_snippets(
        self, location_id: str, origin_id: str, *, options: Opts = None
    ) -> JSON:
        """The location's SMS/email snippets (``originId``: the agency's id, required by GHL)."""
        return await self._call(
            "GET-all-or-email-sms-templates",
            location_id,
            path={"locationId": location_id},
            query={"originId": origin_id},
            options=options,
        )

    async def delete_snippet(
        self, location_id: str, snippet_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "DELETE-an-email-sms-template",
            location_id,
            path={"locationId": location_id, "id": snippet_id},
            options=options,
        )
