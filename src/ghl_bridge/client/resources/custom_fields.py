"""Custom fields and custom values of a location (spec: locations.json).

Contact/opportunity fields live under ``/locations/{id}/customFields``; custom-object fields
(``/custom-fields/*``) are reachable through ``GHLClient.call``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class CustomFieldsResource(Resource):
    """``client.custom_fields``: contact/opportunity field definitions."""

    async def list(
        self, location_id: str, *, model: str | None = None, options: Opts = None
    ) -> JSON:
        """``model``: contact, opportunity or all."""
        return await self._call(
            "get-custom-fields",
            location_id,
            path={"locationId": location_id},
            query={"model": model},
            options=options,
        )

    async def get(self, location_id: str, field_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-custom-field",
            location_id,
            path={"locationId": location_id, "id": field_id},
            options=options,
        )

    async def create(
        self, location_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """``name`` and ``dataType`` required. Not retried unless keyed."""
        return await self._call(
            "locations.create-custom-field",
            location_id,
            path={"locationId": location_id},
            json=dict(data),
            options=options,
        )

    async def update(
        self, location_id: str, field_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "locations.update-custom-field",
            location_id,
            path={"locationId": location_id, "id": field_id},
            json=dict(data),
            options=options,
        )

    async def delete(self, location_id: str, field_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "locations.delete-custom-field",
            location_id,
            path={"locationId": location_id, "id": field_id},
            options=options,
        )


class CustomValuesResource(Resource):
    """``client.custom_values``: the location's named merge values."""

    async def list(self, location_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-custom-values", location_id, path={"locationId": location_id}, options=options
        )

    async def get(self, location_id: str, value_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-custom-value",
            location_id,
            path={"locationId": location_id, "id": value_id},
            options=options,
        )

    async def create(
        self, location_id: str, name: str, value: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "create-custom-value",
            location_id,
            path={"locationId": location_id},
            json={"name": name, "value": value},
            options=options,
        )

    async def update(
        self, location_id: str, value_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "update-custom-value",
            location_id,
            path={"locationId": location_id, "id": value_id},
            json=dict(data),
            options=options,
        )

    async def delete(self, location_id: str, value_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "delete-custom-value",
            location_id,
            path={"locationId": location_id, "id": value_id},
            options=options,
        )
