"""Legacy campaigns and workflows (spec: campaigns.json, workflows.json): list only.

GHL v2 cannot create, edit or pause either; enrolling a contact is ``client.contacts.add_to_*``.
"""

from __future__ import annotations

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class CampaignsResource(Resource):
    """``client.campaigns``: legacy campaigns of a location (list only in v2)."""

    async def list(
        self, location_id: str, *, status: str | None = None, options: Opts = None
    ) -> JSON:
        return await self._call(
            "get-campaigns",
            location_id,
            query={"locationId": location_id, "status": status},
            options=options,
        )


class WorkflowsResource(Resource):
    """``client.workflows``: a location's workflows (list only in v2)."""

    async def list(self, location_id: str, *, options: Opts = None) -> JSON:
        """``{"workflows": [{id, name, status (draft/published), version, ...}]}``."""
        return await self._call(
            "get-workflow", location_id, query={"locationId": location_id}, options=options
        )
