"""Opportunities and pipelines (spec: opportunities.json, Version 2021-07-28).

GHL has no pipeline create/update/delete in v2 or v3; pipelines are read-only here. A stage move
is an ``update`` with ``pipelineStageId`` (ghl-facts.md §6).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import MetaCursor, RecordCursor, paginate
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None
_NO_FOLLOWER_CHANGE = {"followers": [], "isRemoveAllFollowers": False, "followersActionType": "add"}


class OpportunitiesResource(Resource):
    """``client.opportunities``: deals in pipelines, their status and followers."""

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create (``pipelineId``, ``name``, ``status``, ``contactId`` required). Keyed to retry."""
        body = {**data, "locationId": location_id}
        return await self._call("create-opportunity", location_id, json=body, options=options)

    async def upsert(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Create or update the contact's opportunity in a pipeline: safe to retry.

        The spec requires three follower fields on every upsert; unless given they are sent as
        "change no followers", so an upsert never touches followers by accident.
        """
        body = {**_NO_FOLLOWER_CHANGE, **data, "locationId": location_id}
        return await self._call("Upsert-opportunity", location_id, json=body, options=options)

    async def get(self, location_id: str, opportunity_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-opportunity", location_id, path={"id": opportunity_id}, options=options
        )

    async def update(
        self,
        location_id: str,
        opportunity_id: str,
        data: Mapping[str, Any],
        *,
        options: Opts = None,
    ) -> JSON:
        """Update fields; moving stage = ``{"pipelineId", "pipelineStageId"}``."""
        return await self._call(
            "update-opportunity",
            location_id,
            path={"id": opportunity_id},
            json=dict(data),
            options=options,
        )

    async def set_status(
        self,
        location_id: str,
        opportunity_id: str,
        status: str,
        *,
        lost_reason_id: str | None = None,
        options: Opts = None,
    ) -> JSON:
        """``status`` ∈ open/won/lost/abandoned."""
        body = {"status": status, "lostReasonId": lost_reason_id}
        return await self._call(
            "update-opportunity-status",
            location_id,
            path={"id": opportunity_id},
            json={k: v for k, v in body.items() if v is not None},
            options=options,
        )

    async def delete(self, location_id: str, opportunity_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-opportunity", location_id, path={"id": opportunity_id}, options=options
        )

    async def search(
        self, location_id: str, body: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """POST /opportunities/search (answers 201). A read: retried like a GET."""
        payload = {"limit": 100, **body, "locationId": location_id}
        return await self._call(
            "search-opportunities-advanced",
            location_id,
            json=payload,
            options=options,
        )

    def iter_search(
        self,
        location_id: str,
        body: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Every match; each opportunity's ``sort`` is sent back as the next ``searchAfter``."""
        style = RecordCursor("opportunities", "sort", "searchAfter", limit, "limit")
        return paginate(lambda b: self.search(location_id, b), style, body, max_items=max_items)

    def iter_list(
        self,
        location_id: str,
        query: Mapping[str, Any] | None = None,
        *,
        limit: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """GET /opportunities/search (snake_case filters), paged by ``meta.startAfter[Id]``."""
        return self._pages(
            "search-opportunity",
            location_id,
            MetaCursor("opportunities", limit),
            query,
            fixed={"location_id": location_id},
            max_items=max_items,
        )

    async def add_followers(
        self,
        location_id: str,
        opportunity_id: str,
        user_ids: Sequence[str],
        *,
        options: Opts = None,
    ) -> JSON:
        return await self._call(
            "add-followers-opportunity",
            location_id,
            path={"id": opportunity_id},
            json={"followers": list(user_ids)},
            idempotent=True,
            options=options,
        )

    async def remove_followers(
        self,
        location_id: str,
        opportunity_id: str,
        user_ids: Sequence[str],
        *,
        remove_all: bool = False,
        options: Opts = None,
    ) -> JSON:
        """Stop ``user_ids`` following; ``remove_all`` empties the list (isRemoveAllFollowers)."""
        return await self._call(
            "remove-followers-opportunity",
            location_id,
            path={"id": opportunity_id},
            query={"isRemoveAllFollowers": True} if remove_all else None,
            json={"followers": list(user_ids)},
            options=options,
        )

    async def lost_reasons(self, location_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-lost-reason", location_id, query={"locationId": location_id}, options=options
        )


class PipelinesResource(Resource):
    """``client.pipelines``: read-only (GHL exposes no pipeline writes)."""

    async def list(self, location_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-pipelines", location_id, query={"locationId": location_id}, options=options
        )
