"""Request dependencies: the runtime, and the tenant behind the bearer API key.

A route names what its key must be allowed to do by taking `ReaderDep`, `WriterDep` or
`AdminDep` (each the caller's `Tenant`); `CallerDep` gives the key itself (its id and scopes).
`LOCATION_ID` is the shape of a GHL location id that every route accepts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ghl_bridge.errors import BridgeError, Unauthorized
from ghl_bridge.runtime import Runtime
from ghl_bridge.store.audit import act_as
from ghl_bridge.store.models import ApiKey, Tenant

# GHL ids are alphanumeric. Holding ids to that keeps a "location id" from ever becoming a path
# segment or query of its own in the GHL URLs it is put into.
LOCATION_ID = r"^[A-Za-z0-9_-]+$"

# Declares the bearer scheme in the OpenAPI document; get_caller answers the 401s itself.
_bearer = HTTPBearer(auto_error=False, description="the tenant's API key")


class InsufficientScope(BridgeError):
    status, code = 403, "insufficient_scope"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the tenant and the API key row (never the key itself)."""

    tenant: Tenant
    key: ApiKey


async def get_caller(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    key = credentials.credentials.strip() if credentials else ""
    if not key:
        raise Unauthorized("send the tenant API key as 'Authorization: Bearer <key>'")
    found = await runtime.tenants.resolve(key)
    if found is None:  # unknown, malformed and revoked keys look the same
        raise Unauthorized("the API key is not valid")
    tenant, row = found
    # The audit log names the key by its display prefix (stored as api_keys.prefix): it tells
    # a tenant's keys apart without a second query, and is no use to anyone who reads it.
    act_as(f"key:{row.prefix}", tenant.id)
    return Caller(tenant, row)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(scope: str) -> Callable[[Caller], Awaitable[Tenant]]:
    """A dependency answering the caller's tenant if its key has ``scope``, 403 otherwise."""

    async def tenant_with_scope(caller: CallerDep) -> Tenant:
        if scope not in caller.key.scope_list:
            raise InsufficientScope(
                f"this API key lacks the {scope!r} scope",
                details={"required": scope, "granted": caller.key.scope_list},
            )
        return caller.tenant

    return tenant_with_scope


ReaderDep = Annotated[Tenant, Depends(require("read"))]
WriterDep = Annotated[Tenant, Depends(require("write"))]
AdminDep = Annotated[Tenant, Depends(require("admin"))]
