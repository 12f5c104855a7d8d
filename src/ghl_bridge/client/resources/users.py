"""Users (spec: users.json). Search is company-wide (agency token); ``list`` is per location."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import Offset
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class UsersResource(Resource):
    """``client.users``: users of a location or of the agency."""

    async def list(self, location_id: str, *, options: Opts = None) -> JSON:
        """The location's users (GET /users/; deprecated in favour of search)."""
        return await self._call(
            "get-user-by-location",
            location_id,
            query={"locationId": location_id},
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
        """Users of the company (filter by ``locationId``, ``role``...), paged by skip/limit."""
        return self._pages(
            "search-users",
            company_id,
            Offset("users", limit, "skip"),
            query,
            fixed={"companyId": company_id},
            max_items=max_items,
        )

    async def get(self, resource_id: str, user_id: str, *, options: Opts = None) -> JSON:
        """``resource_id``: the location or company whose token reads the user."""
        return await self._call("get-user", resource_id, path={"userId": user_id}, options=options)

    async def create(
        self, company_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create a user (names, email, password, type, role, locationIds). Keyed to retry."""
        body = {**data, "companyId": company_id}
        return await self._call("create-user", company_id, json=body, options=options)

    async def update(
        self, resource_id: str, user_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "update-user", resource_id, path={"userId": user_id}, json=dict(data), options=options
        )

    async def delete(self, resource_id: str, user_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-user", resource_id, path={"userId": user_id}, options=options
        )
