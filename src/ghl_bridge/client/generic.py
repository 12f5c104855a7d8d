"""``GHLClient.call``: any of the catalogue's operations by id, without a typed resource method.

Method, path, Version and content type come from the catalogue; the request is validated like a
resource call, through the same ``Resource._call``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ghl_bridge.client.catalog import Catalog, Operation
from ghl_bridge.client.errors import GHLError
from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pipeline import Pipeline
from ghl_bridge.client.resources._base import JSON, Resource
from ghl_bridge.client.validation import RequestValidator

__all__ = ["GenericCaller", "UnknownOperationError", "infer_resource_id"]

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# Only the token endpoint goes without a bearer token. The spec also leaves `security` empty on
# ~15 other operations (e.g. get-social-media-statistics) that do need one, so it cannot decide.
_UNAUTHENTICATED = frozenset({"get-access-token"})
# POSTs that read or upsert: retrying them after a 5xx or timeout cannot create a duplicate.
# GHL rate limits and tokens are per location or per company; these keys name one.
_RESOURCE_KEYS = ("locationId", "location_id", "companyId")


class UnknownOperationError(GHLError):
    """No catalogue operation has this id; ``suggestions`` holds the closest ids."""

    def __init__(self, operation_id: str, suggestions: list[str]) -> None:
        self.operation_id = operation_id
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown GHL operation {operation_id!r}{hint}")


class GenericCaller(Resource):
    """Calls catalogue operations by id. ``GHLClient.call`` delegates here."""

    def __init__(self, pipeline: Pipeline, validator: RequestValidator, catalog: Catalog) -> None:
        super().__init__(pipeline, validator)
        self._catalog = catalog

    async def call(
        self,
        operation_id: str,
        *,
        resource_id: str | None = None,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> JSON:
        """Perform one operation. ``resource_id`` defaults to the locationId/companyId found in
        the path params, query or body (in that order).

        Retried like the pipeline retries any operation (``retry.idempotent_by_default``).
        Raises UnknownOperationError, RequestValidationError (nothing sent), GHLError for a
        multipart operation, or the pipeline's GHLErrors.
        """
        op = self._operation(operation_id)
        if op.request_content_type == MULTIPART:
            raise GHLError(
                f"{operation_id}: multipart/form-data uploads are not supported through call() yet"
            )
        is_form = op.request_content_type == FORM
        return await self._call(
            operation_id,
            resource_id or infer_resource_id(path_params, query, body),
            path={name: str(value) for name, value in (path_params or {}).items()},
            query=query,
            json=None if is_form else body,
            form={k: str(v) for k, v in body.items()} if is_form and body else None,
            authenticated=operation_id not in _UNAUTHENTICATED,
            options=options,
        )

    def _operation(self, operation_id: str) -> Operation:
        if operation_id in self._catalog:
            return self._catalog.operation(operation_id)
        ids = [op.operation_id for op in self._catalog.operations()]
        raise UnknownOperationError(
            operation_id, difflib.get_close_matches(operation_id, ids, n=5, cutoff=0.6)
        )


def infer_resource_id(
    path_params: Mapping[str, Any] | None,
    query: Mapping[str, Any] | None,
    body: Any,
) -> str | None:
    """The location (or company) a request acts for, read from its data; None if it names none."""
    sources = [path_params or {}, query or {}, body if isinstance(body, Mapping) else {}]
    for source in sources:
        for key in _RESOURCE_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
    return None
