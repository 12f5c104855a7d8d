"""A location's tag catalogue (spec: locations.json ``/locations/{locationId}/tags``).

Tagging a contact is ``client.contacts.add_tags``; this manages the tags themselves.
"""

from __future__ import annotations

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class LocationTagsResource(Resource):
    """``client.tags``: the location's tag catalogue."""

    async def list(self, location_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-location-tags", location_id, path={"locationId": location_id}, options=options
        )

    async def get(self, location_id: str, tag_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-tag-by-id",
            location_id,
            path={"locationId": location_id, "tagId": tag_id},
            options=options,
        )

    async def create(self, location_id: str, name: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "create-tag",
            location_id,
            path={"locationId": location_id},
            json={"name": name},
            options=options,
        )

    async def update(
        self, location_id: str, tag_id: str, name: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "update-tag",
            location_id,
            path={"locationId": location_id, "tagId": tag_id},
            json={"name": name},
            options=options,
        )

    async def delete(self, location_id: str, tag_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-tag",
            location_id,
            path={"locationId": location_id, "tagId": tag_id},
            options=options,
        )
