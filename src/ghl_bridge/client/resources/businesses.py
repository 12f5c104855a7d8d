"""Businesses (spec: businesses.json): companies that contacts belong to, per location."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import Offset
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class BusinessesResource(Resource):
    """``client.businesses``: the location's businesses (B2B accounts)."""

    def iter_list(
        self, location_id: str, *, limit: int = 100, max_items: int | None = None
    ) -> AsyncIterator[JSON]:
        return self._pages(
            "get-businesses-by-location",
            location_id,
            Offset("businesses", limit, "skip"),
            max_items=max_items,
        )

    async def get(self, location_id: str, business_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-business", location_id, path={"businessId": business_id}, options=options
        )

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        body = {**data, "locationId": location_id}
        return await self._call("create-business", location_id, json=body, options=options)

    async def update(
        self, location_id: str, business_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "update-business",
            location_id,
            path={"businessId": business_id},
            json=dict(data),
            options=options,
        )

    async def delete(self, location_id: str, business_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-Business", location_id, path={"businessId": business_id}, options=options
        )
