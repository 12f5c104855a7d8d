"""Funnels, their pages and URL redirects (spec: funnels.json). Listing only: GHL has no funnel
analytics endpoint. The list operations declare no Version; the pipeline's default applies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import Offset
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class FunnelsResource(Resource):
    """``client.funnels``: funnels, funnel pages and URL redirects."""

    def iter_list(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 50,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        return self._pages(
            "getFunnels", location_id, Offset("funnels", limit), query, max_items=max_items
        )

    async def list_pages(
        self,
        location_id: str,
        funnel_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        options: Opts = None,
    ) -> JSON:
        """One page of a funnel's pages, as ``{"data": [...]}``: GHL answers with a bare JSON
        array (observed live; the spec shows a single page object), which ``_call`` wraps."""
        query = {"locationId": location_id, "funnelId": funnel_id, "limit": limit, "offset": offset}
        return await self._call("getPagesByFunnelId", location_id, query=query, options=options)

    def iter_pages(
        self,
        location_id: str,
        funnel_id: str,
        *,
        limit: int = 20,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Every page of a funnel, paged by offset/limit (both required by GHL)."""
        return self._pages(
            "getPagesByFunnelId",
            location_id,
            Offset("data", limit),
            fixed={"locationId": location_id, "funnelId": funnel_id},
            max_items=max_items,
        )

    async def page_count(self, location_id: str, funnel_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "getPagesCountByFunnelId",
            location_id,
            query={"locationId": location_id, "funnelId": funnel_id},
            options=options,
        )

    async def create_redirect(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        body = {**data, "locationId": location_id}
        return await self._call("create-redirect", location_id, json=body, options=options)

    async def update_redirect(
        self, location_id: str, redirect_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """PATCH: sends the whole redirect (target/action), so a retry lands the same state."""
        body = {**data, "locationId": location_id}
        return await self._call(
            "update-redirect-by-id",
            location_id,
            path={"id": redirect_id},
            json=body,
            idempotent=True,
            options=options,
        )

    async def delete_redirect(
        self, location_id: str, redirect_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "delete-redirect-by-id",
            location_id,
            path={"id": redirect_id},
            query={"locationId": location_id},
            options=options,
        )

    async def list_redirects(
        self, location_id: str, *, limit: int = 50, offset: int = 0, options: Opts = None
    ) -> JSON:
        query = {"locationId": location_id, "limit": limit, "offset": offset}
        return await self._call("fetch-redirects-list", location_id, query=query, options=options)
