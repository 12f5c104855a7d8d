"""/v1/keys: a tenant manages its own API keys (the ``admin`` scope).

A key is shown once, in the answer that creates it; listings carry its display prefix, scopes
and dates, never the key or its hash. Another tenant's key id is answered as no key at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ghl_bridge.api import errors
from ghl_bridge.api.deps import LOCATION_ID, AdminDep, RuntimeDep
from ghl_bridge.errors import Conflict, InvalidInput, NotFound
from ghl_bridge.store import errors as store_errors
from ghl_bridge.store.models import ApiKey
from ghl_bridge.store.tenants import LastAdminKey

router = APIRouter(prefix="/v1", tags=["keys"])

ActionPattern = Annotated[str, StringConstraints(pattern=r"^(\*|[a-z_]+\.(\*|[a-z_]+))$")]
LocationId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LOCATION_ID)]
# store.models.API_KEY_SCOPES, spelled out for the OpenAPI document.
Scope = Literal["read", "write", "admin", "destructive", "outbound"]


class NewKey(BaseModel):
    """What the new key may do: ``read`` tenant data, ``write`` (run actions that change
    things), ``destructive`` and ``outbound`` (actions that delete, or send to people, on top of
    ``write``), ``admin`` (connections and keys)."""

    model_config = ConfigDict(extra="forbid")
    scopes: list[Scope] = Field(min_length=1, max_length=5)
    actions: list[ActionPattern] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="only these actions (names, or an area as contacts.*); omit for all",
    )
    locations: list[LocationId] | None = Field(
        default=None, min_length=1, max_length=200, description="only these locations"
    )


class KeyInfo(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    scopes: list[Scope]
    actions: list[str] | None = None
    locations: list[str] | None = None
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
                "actions": row.action_list,
                "locations": row.location_list,
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


@router.post(
    "/keys",
    operation_id="keys-create",
    status_code=201,
    response_model_by_alias=True,
    responses=errors.responses(400, 422),
)
async def create_key(body: NewKey, runtime: RuntimeDep, tenant: AdminDep) -> CreatedKey:
    """Issue a key with these scopes (and allowlists). The answer is the only time the key is
    shown. An action name the catalogue does not have is refused: a typo would otherwise make a
    key that silently can do less than intended."""
    if body.actions is not None:
        known = {action.name for action in runtime.actions.registry.all()}
        areas = {name.split(".", 1)[0] for name in known}
        unknown = [
            a
            for a in body.actions
            if a != "*" and a not in known and not (a.endswith(".*") and a[:-2] in areas)
        ]
        if unknown:
            raise InvalidInput("unknown actions in the allowlist", details={"unknown": unknown})
    row, api_key = await runtime.tenants.create_key(
        tenant.id, body.scopes, actions=body.actions, locations=body.locations
    )
    return CreatedKey.model_validate({"key": KeyInfo.of(row), "apiKey": api_key})


@router.delete(
    "/keys/{key_id}",
    operation_id="keys-revoke",
    response_model_by_alias=True,
    responses=errors.responses(404, 409),
)
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
