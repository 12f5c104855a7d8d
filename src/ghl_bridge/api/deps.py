"""Request dependencies: the runtime, and the tenant behind the bearer API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ghl_bridge.errors import Unauthorized
from ghl_bridge.runtime import Runtime
from ghl_bridge.store.models import Tenant


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_tenant(request: Request, runtime: RuntimeDep) -> Tenant:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send the tenant API key as 'Authorization: Bearer <key>'")
    tenant = await runtime.tenants.authenticate(key.strip())
    if tenant is None:
        raise Unauthorized("the API key is not valid")
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]
