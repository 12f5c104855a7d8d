"""The base of every resource: holds the pipeline and exposes one helper, ``_call``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.pipeline import Call, Pipeline

JSON = dict[str, Any]


class Resource:
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

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
