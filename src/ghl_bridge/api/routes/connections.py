"""/v1/connections and the OAuth callback. Tokens never leave the service.

``router`` holds the API-key routes; ``oauth_router`` the callback a person's browser lands on.
"""

from __future__ import annotations

import html
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ghl_bridge.api import errors
from ghl_bridge.api.deps import LOCATION_ID, AdminDep, ReaderDep, RuntimeDep
from ghl_bridge.client.errors import GHLAPIError
from ghl_bridge.errors import BridgeError, Conflict, InvalidInput, NotFound
from ghl_bridge.oauth.private import PrivateIntegrations
from ghl_bridge.oauth.state import InvalidState
from ghl_bridge.store.errors import ResourceOwnedByOtherTenant
from ghl_bridge.store.models import Connection

router = APIRouter(tags=["connections"])
oauth_router = APIRouter(tags=["connections"])


class NotConfigured(BridgeError):
    status, code = 503, "oauth_not_configured"


_VISIBLE_ASCII = r"^[\x21-\x7e]+$"


class PrivateConnection(BaseModel):
    """A sub-account's Private Integration Token; it is checked against GHL, then sealed."""

    model_config = ConfigDict(extra="forbid")
    location_id: str = Field(alias="locationId", min_length=1, max_length=64, pattern=LOCATION_ID)
    token: SecretStr = Field(
        min_length=1, max_length=4096, json_schema_extra={"pattern": _VISIBLE_ASCII}
    )

    @field_validator("token")
    @classmethod
    def _header_safe(cls, token: SecretStr) -> SecretStr:
        # It goes out in an Authorization header, where a control character is an injection.
        if not re.fullmatch(_VISIBLE_ASCII, token.get_secret_value()):
            raise ValueError("a token is visible ASCII characters only")
        return token


class ConnectionInfo(BaseModel):
    """A connection as the API shows it: never a token."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    user_type: str = Field(alias="userType", description="Location (sub-account) or Company")
    company_id: str = Field(alias="companyId")
    location_id: str | None = Field(alias="locationId", description="null for an agency")
    kind: Literal["oauth", "private"]
    status: str = Field(description="active, needs_reauth or revoked")
    scopes: list[str]
    plan_id: str | None = Field(alias="planId")
    expires_at: str | None = Field(alias="expiresAt", description="ISO 8601; null: no expiry")
    updated_at: str = Field(alias="updatedAt", description="ISO 8601")

    @classmethod
    def of(cls, c: Connection) -> ConnectionInfo:
        return cls(
            id=c.id,
            user_type=c.user_type,
            company_id=c.company_id,
            location_id=c.location_id,
            kind="oauth" if c.refresh_token_sealed else "private",
            status=c.status,
            scopes=c.scopes.split(),
            plan_id=c.plan_id,
            expires_at=c.expires_at.isoformat() if c.expires_at else None,
            updated_at=c.updated_at.isoformat(),
        )


class ConnectionList(BaseModel):
    connections: list[ConnectionInfo]


class ConnectedPrivate(BaseModel):
    connection: ConnectionInfo


class InstalledLocation(BaseModel):
    id: str | None
    name: str | None
    connected: bool = Field(description="whether this tenant has connected it")


class InstalledLocations(BaseModel):
    locations: list[InstalledLocation]


class AuthorizeUrl(BaseModel):
    url: str = Field(description="send the installing user here")


@router.get("/v1/connections", operation_id="connections-list", response_model_by_alias=True)
async def list_connections(runtime: RuntimeDep, tenant: ReaderDep) -> ConnectionList:
    rows = await runtime.connections.list(tenant.id)
    return ConnectionList(connections=[ConnectionInfo.of(c) for c in rows])


@router.get(
    "/v1/connections/{connection_id}/locations",
    operation_id="connections-locations",
    responses=errors.CALLS_GHL,
)
async def agency_locations(
    connection_id: Annotated[str, Path(max_length=64)], runtime: RuntimeDep, tenant: ReaderDep
) -> InstalledLocations:
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
    return InstalledLocations(
        locations=[
            InstalledLocation(
                id=_text(r.get("_id")), name=_text(r.get("name")), connected=r.get("_id") in mine
            )
            for r in found
        ]
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@router.post(
    "/v1/connections/private",
    operation_id="connections-private",
    status_code=201,
    response_model_by_alias=True,
    responses=errors.CALLS_GHL,
)
async def connect_private(
    body: PrivateConnection, runtime: RuntimeDep, tenant: AdminDep
) -> ConnectedPrivate:
    """Connect (or rotate the token of) a sub-account through its Private Integration Token."""
    private = PrivateIntegrations(
        runtime.connections, runtime.vault, runtime.ghl.pipeline.options, runtime.audit
    )
    try:
        conn = await private.connect(tenant.id, body.location_id, body.token.get_secret_value())
    except ResourceOwnedByOtherTenant as exc:
        raise Conflict("this sub-account is already connected to another tenant") from exc
    return ConnectedPrivate(connection=ConnectionInfo.of(conn))


@router.post(
    "/v1/connections/authorize",
    operation_id="connections-authorize",
    responses=errors.responses(503),
)
async def authorize(runtime: RuntimeDep, tenant: AdminDep) -> AuthorizeUrl:
    if runtime.oauth is None:
        raise NotConfigured("set GHL_BRIDGE_GHL_CLIENT_ID and GHL_BRIDGE_GHL_CLIENT_SECRET first")
    return AuthorizeUrl(url=runtime.oauth.authorize_url(tenant.id))


_HTML = {"text/html": {"schema": {"type": "string"}}}
# Every outcome is a page, but a malformed query is the API's JSON error as everywhere else.
_CALLBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Connected: a page saying so.", "content": _HTML},
    400: {"description": "The user cancelled the connection in GoHighLevel.", "content": _HTML},
    409: {"description": "The GHL account is connected to another tenant.", "content": _HTML},
    422: {
        "description": "The link is incomplete or not valid, or GHL refused its code.",
        "content": {
            **_HTML,
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}},
        },
    },
    503: {"description": "OAuth is not configured on this service.", "content": _HTML},
}


@oauth_router.get(
    "/oauth/callback",
    operation_id="connections-callback",
    response_class=HTMLResponse,
    responses=_CALLBACK_RESPONSES,
)
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
