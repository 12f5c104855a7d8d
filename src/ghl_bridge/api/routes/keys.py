"""/v1/keys: a tenant manages its own API keys (the ``admin`` scope).

A key is shown once, in the answer that creates it; listings carry its display prefix, scopes
and dates, never the key or its hash. Another tenant's key id is answered as no key at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ghl_bridge.api.deps import AdminDep, RuntimeDep
from ghl_bridge.errors import Conflict, NotFound
from ghl_bridge.store import errors as store_errors
from ghl_bridge.store.models import ApiKey
from ghl_bridge.store.tenants import LastAdminKey

router = APIRouter(prefix="/v1", tags=["keys"])

Scope = Literal["read", "write", "admin"]


class NewKey(BaseModel):
    """What the new key may do: ``read`` tenant data, ``write`` (run actions), ``admin``
    (connections and keys)."""

    model_config = ConfigDict(extra="forbid")
    scopes: list[Scope] = Field(min_length=1, max_length=3)


class KeyInfo(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    scopes: list[Scope]
    created_at: datetime = Field(alias="createdAt")
    last_used_at: datetime | None = Field(alias="lastUsedAt")
    revoked_at: datetime | None = Field(alias="revokedAt")

    @classmethod
    def of(cls, row: ApiKey) -> KeyInfo:
        return cls.model_validate(
            {
                "id": row.id,
                "prefix": row.prefix,
                "scopes": row.scope_list,
                "createdAt": row.created_at,
                "lastUsedAt": row.last_used_at,
                "revokedAt": row.revoked_at,
            }
        )


class KeyList(BaseModel):
    keys: list[KeyInfo]


class CreatedKey(BaseModel):
    key: KeyInfo
    api_key: str = Field(alias="apiKey", description="shown once; only its hash is stored")


@router.get("/keys", operation_id="keys-list", response_model_by_alias=True)
async def list_keys(runtime: RuntimeDep, tenant: AdminDep) -> KeyList:
    """The tenant's keys, revoked ones included, oldest first."""
    return KeyList(keys=[KeyInfo.of(k) for k in await runtime.tenants.list_keys(tenant.id)])


@router.post("/keys", operation_id="keys-create", status_code=201, response_model_by_alias=True)
async def create_key(body: NewKey, runtime: RuntimeDep, tenant: AdminDep) -> CreatedKey:
    """Issue a key with these scopes. The answer is the only time the key is shown."""
    row, api_key = await runtime.tenants.create_key(tenant.id, body.scopes)
    return CreatedKey.model_validate({"key": KeyInfo.of(row), "apiKey": api_key})


@router.delete("/keys/{key_id}", operation_id="keys-revoke", response_model_by_alias=True)
async def revoke_key(key_id: str, runtime: RuntimeDep, tenant: AdminDep) -> KeyInfo:
    """Revoke a key: it stops working at once. Revoking twice is harmless. A key cannot revoke
    itself when it is the tenant's last admin key (409): make another admin key first."""
    try:
        # The caller holds an admin key, so only revoking itself can leave the tenant without one.
        row = await runtime.tenants.revoke_key(key_id, tenant_id=tenant.id, keep_an_admin=True)
    except store_errors.NotFound:
        raise NotFound(f"no API key {key_id!r}") from None
    except LastAdminKey:
        raise Conflict(
            "this is the tenant's last admin key; create another admin key before revoking it"
        ) from None
    return KeyInfo.of(row)
