"""The base of every resource: holds the pipeline and exposes one helper, ``_call``.

``_call`` is the single path from a resource (or the generic ``GHLClient.call``) into the
pipeline: it checks the request against the spec once, then hands it over for sending/retrying.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pagination import PagingStyle, paginate
from ghl_bridge.client.pipeline import Call, Pipeline
from ghl_bridge.client.validation import RequestValidator

JSON = dict[str, Any]


class Resource:
    """Conventions every resource method follows, so they are not repeated on each one:

    - the first argument is the location (or company) the call acts for: it picks the token,
      the rate-limit budget and the circuit; ids after it are GHL ids of the records;
    - reads, PUT, DELETE, searches and upserts are retried; creates and sends are retried only
      with ``RequestOptions(idempotency_key=...)``;
    - a request that breaks the spec raises RequestValidationError without being sent; GHL's
      own refusals raise the GHLAPIError subclass for their status;
    - ``iter_*`` methods are async iterators over every page (``max_items`` caps them).
    """

    def __init__(self, pipeline: Pipeline, validator: RequestValidator | None = None) -> None:
        self._pipeline = pipeline
        self._validator = validator

    async def _call(
        self,
        operation: str,
        resource_id: str | None,
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        authenticated: bool = True,
        idempotent: bool | None = None,
        options: RequestOptions | None = None,
    ) -> JSON:
        """Validate, then send. Raises RequestValidationError (nothing sent) or a GHLError."""
        if self._validator is not None:
            body = form if form is not None else json
            self._validator.check(operation, path_params=path, query=query, body=body)
        call = Call(
            operation=operation,
            resource_id=resource_id,
            path_params=path or {},
            query=query,
            json=json,
            form=form,
            authenticated=authenticated,
            idempotent=idempotent,
        )
        response = await self._pipeline.call(call, options)
        return response.data if isinstance(response.data, dict) else {"data": response.data}

    def _pages(
        self,
        operation: str,
        resource_id: str,
        style: PagingStyle,
        query: Mapping[str, Any] | None = None,
        *,
        fixed: Mapping[str, Any] | None = None,
        path: Mapping[str, str] | None = None,
        max_items: int | None = None,
    ) -> AsyncIterator[Any]:
        """Every item of a GET list operation, page by page in ``style``. ``fixed`` query
        parameters go on every page after the caller's ``query`` and the cursor (default:
        ``locationId`` = ``resource_id``, what nearly every GHL list takes)."""
        pinned = {"locationId": resource_id} if fixed is None else fixed
        return paginate(
            lambda q: self._call(operation, resource_id, path=path, query={**q, **pinned}),
            style,
            query,
            max_items=max_items,
        )
