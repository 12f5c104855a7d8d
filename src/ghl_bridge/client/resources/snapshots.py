"""Snapshots (spec: snapshots.json, agency token). GHL cannot push a snapshot to an existing
location: load one at creation (``locations.create`` with ``snapshotId``) or share a link."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import RecordCursor
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class SnapshotsResource(Resource):
    """``client.snapshots``: agency snapshots, share links and push status."""

    async def list(self, company_id: str, *, options: Opts = None) -> JSON:
        """Own and imported snapshots."""
        return await self._call(
            "get-custom-snapshots", company_id, query={"companyId": company_id}, options=options
        )

    async def share_link(
        self, company_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """``snapshot_id`` and ``share_type`` (link/permanent_link/agency_link/location_link)."""
        return await self._call(
            "create-snapshot-share-link",
            company_id,
            query={"companyId": company_id},
            json=dict(data),
            options=options,
        )

    def iter_pushes(
        self,
        company_id: str,
        snapshot_id: str,
        from_date: str,
        to_date: str,
        *,
        limit: int = 50,
        max_items: int | None = None,
    ) -> AsyncIterator[JSON]:
        """Push history; the next page starts after the last record's id (``lastDoc``)."""
        query = {"companyId": company_id, "from": from_date, "to": to_date, "lastDoc": ""}
        return self._pages(
            "get-snapshot-push",
            company_id,
            RecordCursor("data", "id", "lastDoc", limit),
            query,
            fixed={},
            path={"snapshotId": snapshot_id},
            max_items=max_items,
        )

    async def latest_push(
        self, company_id: str, snapshot_id: str, location_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "get-latest-snapshot-push",
            company_id,
            path={"snapshotId": snapshot_id, "locationId": location_id},
            query={"companyId": company_id},
            options=options,
        )
