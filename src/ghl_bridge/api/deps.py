"""Request dependencies: the runtime, and the tenant behind the bearer API key.

A route names what its key must be allowed to do by taking `ReaderDep`, `WriterDep` or
`AdminDep` (each the caller's `Tenant`); `CallerDep` gives the key itself (its id and scopes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ghl_bridge.errors import BridgeError, Unauthorized
from ghl_bridge.runtime import Runtime
from ghl_bridge.store.audit import act_as
from ghl_bridge.store.models import ApiKey, Tenant


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


async def get_caller(request: Request, runtime: RuntimeDep) -> Caller:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send the tenant API key as 'Authorization: Bearer <key>'")
    found = await runtime.tenants.resolve(key.strip())
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
