"""Sub-accounts (spec: locations.json). Create/update/delete/search need an agency (company) token.

A snapshot can only be loaded into a *new* location, via ``snapshotId`` on ``create``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import Offset
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class LocationsResource(Resource):
    """``client.locations``: sub-accounts; writes act for the agency (company)."""

    async def get(self, location_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-location", location_id, path={"locationId": location_id}, options=options
        )

    async def create(
        self, company_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create a sub-account (Agency Pro). Not retried unless keyed."""
        body = {**data, "companyId": company_id}
        return await self._call("create-location", company_id, json=body, options=options)

    async def update(
        self, company_id: str, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        body = {**data, "companyId": company_id}
        return await self._call(
            "put-location",
            company_id,
            path={"locationId": location_id},
            json=body,
            options=options,
        )

    async def delete(
        self,
        company_id: str,
        location_id: str,
        *,
        delete_twilio_account: bool = False,
        options: Opts = None,
    ) -> JSON:
        return await self._call(
            "delete-location",
            company_id,
            path={"locationId": location_id},
            query={"deleteTwilioAccount": delete_twilio_account},
            options=options,
        )

    def iter_search(
        self,
        company_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """The company's locations, paged by skip/limit."""
        return self._pages(
            "search-locations",
            company_id,
            Offset("locations", limit, "skip"),
            query,
            fixed={"companyId": company_id},
            max_items=max_items,
        )

    async def timezones(self, location_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-timezones", location_id, path={"locationId": location_id}, options=options
        )

    async def search_tasks(
        self, location_id: str, body: Mapping[str, Any] | None = None, *, options: Opts = None
    ) -> JSON:
        """Tasks across the location's contacts (a read; retried)."""
        return await self._call(
            "task-search",
            location_id,
            path={"locationId": location_id},
            json=dict(body or {}),
            options=options,
        )
