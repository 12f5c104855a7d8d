"""/v1/connections and the OAuth callback. Tokens never leave the service."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ghl_bridge.api.deps import AdminDep, ReaderDep, RuntimeDep
from ghl_bridge.client.errors import GHLAPIError
from ghl_bridge.errors import BridgeError, Conflict, InvalidInput, NotFound
from ghl_bridge.oauth.private import PrivateIntegrations
from ghl_bridge.oauth.state import InvalidState
from ghl_bridge.store.errors import ResourceOwnedByOtherTenant
from ghl_bridge.store.models import Connection

router = APIRouter(tags=["connections"])


class NotConfigured(BridgeError):
    status, code = 503, "oauth_not_configured"


class PrivateConnection(BaseModel):
    """A sub-account's Private Integration Token; it is checked against GHL, then sealed."""

    model_config = ConfigDict(extra="forbid")
    location_id: str = Field(alias="locationId", min_length=1, max_length=64)
    token: SecretStr = Field(min_length=1, max_length=4096)


def _describe(c: Connection) -> dict[str, Any]:
    return {
        "id": c.id,
        "userType": c.user_type,
        "companyId": c.company_id,
        "locationId": c.location_id,
        "kind": "oauth" if c.refresh_token_sealed else "private",
        "status": c.status,
        "scopes": c.scopes.split(),
        "planId": c.plan_id,
        "expiresAt": c.expires_at.isoformat() if c.expires_at else None,
        "updatedAt": c.updated_at.isoformat(),
    }


@router.get("/v1/connections", operation_id="connections-list")
async def list_connections(runtime: RuntimeDep, tenant: ReaderDep) -> dict[str, Any]:
    return {"connections": [_describe(c) for c in await runtime.connections.list(tenant.id)]}


@router.get("/v1/connections/{connection_id}/locations", operation_id="connections-locations")
async def agency_locations(
    connection_id: Annotated[str, Path(max_length=64)], runtime: RuntimeDep, tenant: ReaderDep
) -> dict[str, Any]:
    """The sub-accounts an agency connection has the app installed on (GHL's
    `/oauth/installedLocations`, every page), each marked ``connected`` once adopted."""
    conn = await runtime.connections.get(connection_id)
    if conn is None or conn.tenant_id != tenant.id:
        raise NotFound("no such connection")
    if conn.user_type != "Company":
        raise InvalidInput("only an agency (Company) connection has sub-accounts")
    app_id = (runtime.settings.ghl_client_id or "").split("-", 1)[0]  # "<appId>-<suffix>"
    found: list[dict[str, Any]] = []
    page = 100
    while True:
        data = await runtime.ghl.oauth.installed_locations(
            conn.company_id, app_id, limit=page, skip=len(found)
        )
        rows = data.get("locations") or [] if isinstance(data, dict) else []
        found += [r for r in rows if isinstance(r, dict)]
        if len(rows) < page:
            break
    mine = {c.location_id for c in await runtime.connections.list(tenant.id)}
    return {
        "locations": [
            {"id": r.get("_id"), "name": r.get("name"), "connected": r.get("_id") in mine}
            for r in found
        ]
    }


@router.post("/v1/connections/private", operation_id="connections-private", status_code=201)
async def connect_private(
    body: PrivateConnection, runtime: RuntimeDep, tenant: AdminDep
) -> dict[str, Any]:
    """Connect (or rotate the token of) a sub-account through its Private Integration Token."""
    private = PrivateIntegrations(
        runtime.connections, runtime.vault, runtime.ghl.pipeline.options, runtime.audit
    )
    try:
        conn = await private.connect(tenant.id, body.location_id, body.token.get_secret_value())
    except ResourceOwnedByOtherTenant as exc:
        raise Conflict("this sub-account is already connected to another tenant") from exc
    return {"connection": _describe(conn)}


@router.post("/v1/connections/authorize", operation_id="connections-authorize")
async def authorize(runtime: RuntimeDep, tenant: AdminDep) -> dict[str, str]:
    if runtime.oauth is None:
        raise NotConfigured("set GHL_BRIDGE_GHL_CLIENT_ID and GHL_BRIDGE_GHL_CLIENT_SECRET first")
    return {"url": runtime.oauth.authorize_url(tenant.id)}


@router.get("/oauth/callback", operation_id="connections-callback", response_class=HTMLResponse)
async def callback(
    runtime: RuntimeDep,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Where GHL sends the installing user back. A person reads the answer, so every outcome is
    a page saying what happened and what to do; the status codes stay those of the API."""
    if runtime.oauth is None:
        return _page(503, "Not configured", "OAuth is not configured on this service.")
    if error:
        return _page(400, "Not connected", "The connection was cancelled in GoHighLevel "
                     f"({error}). Start again from your workflow tool to connect.")  # fmt: skip
    if not code or not state:
        return _page(422, "Not connected", "This link is incomplete: it has no authorization "
                     "code or state. Start the connection again.")  # fmt: skip
    try:
        conn = await runtime.oauth.complete(code, state)
    except InvalidState as exc:
        return _page(422, "Not connected", f"This connection link is not valid: {exc}.")
    except ResourceOwnedByOtherTenant:
        return _page(409, "Already connected", "This GoHighLevel account is already connected "
                     "to another tenant of this service.")  # fmt: skip
    except GHLAPIError as exc:
        return _page(422, "Not connected", f"GHL refused the authorization code: {exc.message}. "
                     "Codes work once and expire quickly; start the connection again.")  # fmt: skip
    target = conn.location_id or conn.company_id
    kind = "Sub-account" if conn.location_id else "Agency"
    return _page(200, "Connected", f"{kind} {target} is connected. You can close this window.")


def _page(status: int, title: str, message: str) -> HTMLResponse:
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)
