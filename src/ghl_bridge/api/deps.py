"""Request dependencies: the runtime, and the tenant behind the bearer API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ghl_bridge.errors import Unauthorized
from ghl_bridge.runtime import Runtime
from ghl_bridge.store.audit import act_as
from ghl_bridge.store.models import Tenant
from ghl_bridge.store.tenants import DISPLAY_PREFIX_CHARS


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
    # The audit log names the key by its display prefix (stored as api_keys.prefix): it tells
    # a tenant's keys apart without a second query, and is no use to anyone who reads it.
    act_as(f"key:{key.strip()[:DISPLAY_PREFIX_CHARS]}", tenant.id)
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]
