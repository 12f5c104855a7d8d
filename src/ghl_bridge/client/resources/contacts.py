"""Contacts (spec: contacts.json). Every method acts for one location."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource


class ContactsResource(Resource):
    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: RequestOptions | None = None
    ) -> JSON:
        """Create a contact. Not retried on 5xx unless ``options.idempotency_key`` is set."""
        body = {**data, "locationId": location_id}
        return await self._call("create-contact", location_id, json=body, options=options)

    async def upsert(
        self, location_id: str, data: Mapping[str, Any], *, options: RequestOptions | None = None
    ) -> JSON:
        """Create or update by email/phone per the location's duplicate settings: safe to retry."""
        body = {**data, "locationId": location_id}
        return await self._call(
            "upsert-contact", location_id, json=body, idempotent=True, options=options
        )

    async def get(self, location_id: str, contact_id: str) -> JSON:
        return await self._call("get-contact", location_id, path={"contactId": contact_id})

    async def update(self, location_id: str, contact_id: str, data: Mapping[str, Any]) -> JSON:
        return await self._call(
            "update-contact", location_id, path={"contactId": contact_id}, json=dict(data)
        )

    async def delete(self, location_id: str, contact_id: str) -> JSON:
        return await self._call("delete-contact", location_id, path={"contactId": contact_id})

    async def search(self, location_id: str, body: Mapping[str, Any]) -> JSON:
        """POST /contacts/search — a read, so retried like a GET."""
        payload = {"pageLimit": 100, **body, "locationId": location_id}
        return await self._call(
            "search-contacts-advanced", location_id, json=payload, idempotent=True
        )

    async def iter_search(
        self, location_id: str, body: Mapping[str, Any] | None = None, *, page_limit: int = 100
    ) -> AsyncIterator[JSON]:
        """Every matching contact, walking GHL's ``searchAfter`` cursor.

        GHL keeps the cursor on each contact, not at the top level: the next page starts after
        the last contact's ``searchAfter``. Offset paging stops at 10,000 records; this does not.
        """
        query: dict[str, Any] = {**(body or {}), "pageLimit": page_limit}
        query.pop("page", None)
        while True:
            page = await self.search(location_id, query)
            contacts = page.get("contacts") or []
            for contact in contacts:
                yield contact
            if len(contacts) < page_limit or not contacts[-1].get("searchAfter"):
                return
            query["searchAfter"] = contacts[-1]["searchAfter"]
