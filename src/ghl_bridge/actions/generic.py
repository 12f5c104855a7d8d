"""``ghl.request``: any operation of GHL's spec by operationId, for what no named action covers.

The request is validated against the spec before it is sent (path parameters, query, body), and
it acts only for the action's location: a request naming another location anywhere is refused
here, because the token used is the action's location's. How much an API key needs to run it
depends on the operation: reading needs ``read``, a DELETE ``destructive``, sending a message
``outbound``, anything else ``write``.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import Field

from ghl_bridge.actions.models import Input, Output
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind
from ghl_bridge.client.catalog import load_catalog
from ghl_bridge.client.resilience.retry import reads_only
from ghl_bridge.errors import Forbidden, InvalidInput

actions = ActionSet()

# Operations that put a message in front of a person: outbound whatever their method.
_OUTBOUND = re.compile(
    r"^(send-a-new-message|send-review-reply|.*send.*(message|email|sms|invoice|estimate).*)$",
    re.IGNORECASE,
)
_LOCATION_KEYS = ("locationId", "location_id", "altId")


class RawRequest(Input):
    operation_id: str = Field(
        min_length=3, max_length=120, pattern=r"^[A-Za-z0-9._-]+$", description="spec operationId"
    )
    path_params: dict[str, str | int] = Field(default_factory=dict, max_length=10)
    query: dict[str, Any] = Field(default_factory=dict, max_length=50)
    body: Any = None


class RawResponse(Output):
    operation_id: str
    response: Any


def request_kind(data: RawRequest) -> Kind:
    """What running this operation does (decides the scopes the caller's key needs)."""
    catalog = load_catalog()  # parsed once per process
    if data.operation_id not in catalog:
        return Kind.READ  # unknown: refused by validation before anything is sent
    op = catalog.operation(data.operation_id)
    if _OUTBOUND.match(op.operation_id):
        return Kind.OUTBOUND
    if op.method.upper() == "DELETE":
        return Kind.DESTRUCTIVE
    return Kind.READ if reads_only(op.method, op.path) else Kind.WRITE


def _only_this_location(ctx: ActionContext, data: RawRequest) -> None:
    named = [data.path_params, data.query, data.body if isinstance(data.body, dict) else {}]
    for source in named:
        for key in _LOCATION_KEYS:
            value = source.get(key)
            if value is not None and value != ctx.location_id:
                raise Forbidden(
                    f"ghl.request acts only for its location {ctx.location_id};"
                    f" {key}={value!r} names another"
                )


@actions.define(
    "ghl.request",
    "Call any operation of GHL's API by its spec operationId, validated against the spec.",
    scopes=(),  # per operation: see the spec
    kind=Kind.READ,
    kind_for=request_kind,
    retry_safe=False,
    notes="The key needs read for GETs and searches, write for other changes, destructive for"
    " DELETEs and outbound for operations that send a message. Requests naming another"
    " location are refused. Retried after a 5xx only when the operation is idempotent or the"
    " call carries an Idempotency-Key.",
)
async def request(ctx: ActionContext, data: RawRequest) -> RawResponse:
    catalog = ctx.ghl.catalog
    if data.operation_id not in catalog:
        ids = [op.operation_id for op in catalog.operations()]
        close = difflib.get_close_matches(data.operation_id, ids, n=5, cutoff=0.6)
        raise InvalidInput(
            f"GHL's spec has no operation {data.operation_id!r}", details={"suggestions": close}
        )
    _only_this_location(ctx, data)
    op = catalog.operation(data.operation_id)
    path_params = dict(data.path_params)
    if "{locationId}" in op.path:
        path_params.setdefault("locationId", ctx.location_id)
    answer = await ctx.ghl.call(
        data.operation_id,
        resource_id=ctx.location_id,
        path_params=path_params,
        query=data.query or None,
        body=data.body,
        options=ctx.opts,
    )
    return RawResponse(operation_id=data.operation_id, response=answer)
