"""/v1/connections and the OAuth callback. Tokens never leave the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from ghl_bridge.api.deps import RuntimeDep, TenantDep
from ghl_bridge.client.errors import GHLAPIError
from ghl_bridge.errors import BridgeError, Conflict, InvalidInput
from ghl_bridge.oauth.state import InvalidState
from ghl_bridge.store.errors import ResourceOwnedByOtherTenant

router = APIRouter(tags=["connections"])


class NotConfigured(BridgeError):
    status, code = 503, "oauth_not_configured"


@router.get("/v1/connections", operation_id="connections-list")
async def list_connections(runtime: RuntimeDep, tenant: TenantDep) -> dict[str, Any]:
    rows = await runtime.connections.list(tenant.id)
    return {
        "connections": [
            {
                "id": c.id,
                "userType": c.user_type,
                "companyId": c.company_id,
                "locationId": c.location_id,
                "status": c.status,
                "scopes": c.scopes.split(),
                "expiresAt": c.expires_at.isoformat() if c.expires_at else None,
                "updatedAt": c.updated_at.isoformat(),
            }
            for c in rows
        ]
    }


@router.post("/v1/connections/authorize", operation_id="connections-authorize")
async def authorize(runtime: RuntimeDep, tenant: TenantDep) -> dict[str, str]:
    if runtime.oauth is None:
        raise NotConfigured("set GHL_BRIDGE_GHL_CLIENT_ID and GHL_BRIDGE_GHL_CLIENT_SECRET first")
    return {"url": runtime.oauth.authorize_url(tenant.id)}


@router.get("/oauth/callback", operation_id="connections-callback", response_class=HTMLResponse)
async def callback(
    runtime: RuntimeDep,
    code: Annotated[str, Query(min_length=1, max_length=2048)],
    state: Annotated[str, Query(min_length=1, max_length=2048)],
) -> HTMLResponse:
    if runtime.oauth is None:
        raise NotConfigured("OAuth is not configured on this service")
    try:
        conn = await runtime.oauth.complete(code, state)
    except InvalidState as exc:
        raise InvalidInput(f"invalid OAuth state: {exc}") from exc
    except ResourceOwnedByOtherTenant as exc:
        raise Conflict("this GHL account is already connected to another tenant") from exc
    except GHLAPIError as exc:
        raise InvalidInput(f"GHL refused the authorization code: {exc.message}") from exc
    target = conn.location_id or conn.company_id
    return HTMLResponse(f"<h1>Connected</h1><p>{conn.user_type} {target} is connected.</p>")
