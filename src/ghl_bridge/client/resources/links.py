"""Trigger links (spec: links.json). CRUD only: GHL exposes no click statistics.

``search`` is the one links operation on Version 2021-04-15; the catalogue supplies it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import Offset
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class LinksResource(Resource):
    """``client.links``: trigger links of a location."""

    async def list(self, location_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-links", location_id, query={"locationId": location_id}, options=options
        )

    def iter_search(
        self,
        location_id: str,
        text: str | None = None,
        *,
        limit: int = 20,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        return self._pages(
            "search-trigger-links",
            location_id,
            Offset("links", limit, "skip"),
            fixed={"locationId": location_id, "query": text},
            max_items=max_items,
        )

    async def get(self, location_id: str, link_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-link-by-id",
            location_id,
            path={"linkId": link_id},
            query={"locationId": location_id},
            options=options,
        )

    async def create(
        self, location_id: str, name: str, redirect_to: str, *, options: Opts = None
    ) -> JSON:
        body = {"locationId": location_id, "name": name, "redirectTo": redirect_to}
        return await self._call("create-link", location_id, json=body, options=options)

    async def update(
        self, location_id: str, link_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "update-link", location_id, path={"linkId": link_id}, json=dict(data), options=options
        )

    async def delete(self, location_id: str, link_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-link", location_id, path={"linkId": link_id}, options=options
        )
