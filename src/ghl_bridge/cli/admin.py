"""Admin commands over the store (tenants, connections). Each opens and closes its own engine
(or, for commands that talk to GHL, the service's parts without workers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.client.errors import GHLError
from ghl_bridge.config import Settings
from ghl_bridge.errors import InvalidInput
from ghl_bridge.oauth.private import PrivateIntegrations
from ghl_bridge.runtime import Runtime
from ghl_bridge.store.audit import acting_as
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.errors import NotFound, ResourceOwnedByOtherTenant, TenantExists
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.tenants import TenantRepo, normalize_allowlist, normalize_scopes


@asynccontextmanager
async def _sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database for one command; the engine is disposed afterwards."""
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def create_tenant(settings: Settings, name: str, out: Console, err: Console) -> int:
    try:
        async with _sessions(settings) as sessions:
            tenant, api_key = await TenantRepo(sessions).create(name)
    except TenantExists:
        err.print(f"[red]a tenant named {name!r} already exists[/red]")
        return 1
    out.print(f"tenant {tenant.id} ({tenant.name}) created")
    out.print("API key (shown once, store it now):")
    out.print(api_key, markup=False, highlight=False)
    return 0


async def create_key(
    settings: Settings,
    tenant_name: str,
    scopes: list[str],
    out: Console,
    err: Console,
    *,
    actions: list[str] | None = None,
    locations: list[str] | None = None,
) -> int:
    """Issue the tenant another API key with these scopes (and allowlists); print it once."""
    try:
        normalize_scopes(scopes)
        normalize_allowlist(actions, "action")
        normalize_allowlist(locations, "location")
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        return 2
    async with _sessions(settings) as sessions:
        repo = TenantRepo(sessions)
        tenant = await repo.get_by_name(tenant_name)
        if tenant is None:
            err.print(f"[red]no tenant named {tenant_name!r}[/red]")
            return 1
        row, api_key = await repo.create_key(
            tenant.id, scopes, actions=actions, locations=locations
        )
    limits = "".join(
        f"; only {what} {value}"
        for what, value in (("actions", row.allowed_actions), ("locations", row.allowed_locations))
        if value
    )
    out.print(f"key {row.id} ({row.scopes}{limits}) created for {tenant.name}", highlight=False)
    out.print("API key (shown once, store it now):")
    out.print(api_key, markup=False, highlight=False)
    return 0


async def revoke_key(settings: Settings, key_id: str, out: Console, err: Console) -> int:
    """Revoke an API key at once (the operator may revoke any key, a tenant's last included)."""
    async with _sessions(settings) as sessions:
        try:
            row = await TenantRepo(sessions).revoke_key(key_id)
        except NotFound:
            err.print(f"[red]no API key {key_id!r}[/red]", highlight=False)
            return 1
    out.print(f"key {row.id} ({row.prefix}…) revoked", highlight=False)
    return 0


async def list_tenants(settings: Settings) -> list[dict[str, Any]]:
    async with _sessions(settings) as sessions:
        rows = await TenantRepo(sessions).list()
    return [{"id": t.id, "name": t.name, "createdAt": t.created_at.isoformat()} for t in rows]


async def list_connections(settings: Settings) -> list[dict[str, Any]]:
    async with _sessions(settings) as sessions:
        rows = await ConnectionRepo(sessions).list()
    return [
        {
            "id": c.id,
            "tenantId": c.tenant_id,
            "userType": c.user_type,
            "resourceId": c.resource_id,
            "status": c.status,
            "expiresAt": c.expires_at.isoformat() if c.expires_at else "",
        }
        for c in rows
    ]


@asynccontextmanager
async def _runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The service's parts without its workers, for one command."""
    runtime = await Runtime.start(settings, with_worker=False)
    try:
        yield runtime
    finally:
        await runtime.close()


async def authorize_url(settings: Settings, tenant_name: str, out: Console, err: Console) -> int:
    """Print GHL's chooselocation URL for the tenant (signed, expiring state)."""
    async with _runtime(settings) as runtime:
        tenant = await runtime.tenants.get_by_name(tenant_name)
        if tenant is None:
            err.print(f"[red]no tenant named {tenant_name!r}[/red]")
            return 1
        if runtime.oauth is None:
            err.print(
                "[red]OAuth is not configured: set GHL_BRIDGE_GHL_CLIENT_ID and"
                " GHL_BRIDGE_GHL_CLIENT_SECRET[/red]"
            )
            return 2
        out.print(runtime.oauth.authorize_url(tenant.id), markup=False, highlight=False)
    return 0


async def refresh_connection(
    settings: Settings, resource_id: str, out: Console, err: Console
) -> int:
    """Rotate a connection's tokens now (under the same locks as every other refresh)."""
    async with _runtime(settings) as runtime:
        conn = await runtime.connections.get_by_resource(resource_id)
        if conn is None:
            err.print(f"[red]no connection for {resource_id!r}[/red]")
            return 1
        if conn.status != "active":
            err.print(f"[red]the connection is {conn.status}: connect it again[/red]")
            return 1
        if conn.refresh_token_sealed is None:
            err.print("[red]a private integration token has nothing to refresh[/red]")
            return 1
        try:
            current = await runtime.tokens.access_token(resource_id)
            await runtime.tokens.refresh(resource_id, rejected=current)
        except GHLError as exc:  # ReauthorizationRequired included: its message says what to do
            err.print(f"[red]refresh failed: {exc}[/red]", markup=True, highlight=False)
            return 1
        latest = await runtime.connections.get_by_resource(resource_id)
        assert latest is not None
        expires = latest.expires_at.isoformat() if latest.expires_at else "never"
        out.print(f"{resource_id} refreshed; the access token expires {expires}")
    return 0


async def revoke_connection(
    settings: Settings, resource_id: str, out: Console, err: Console
) -> int:
    """Stop using a connection (calls for it fail with a clear re-authorization error)."""
    async with _runtime(settings) as runtime:
        conn = await runtime.connections.get_by_resource(resource_id)
        if conn is None:
            err.print(f"[red]no connection for {resource_id!r}[/red]")
            return 1
        with acting_as("cli", conn.tenant_id):
            await runtime.tokens.revoke(resource_id)
        out.print(f"{resource_id} revoked")
    return 0


async def connect_private(
    settings: Settings, tenant_name: str, location_id: str, token: str, out: Console, err: Console
) -> int:
    """Check a Private Integration Token against GHL and store it as the tenant's connection."""
    async with _runtime(settings) as runtime:
        tenant = await runtime.tenants.get_by_name(tenant_name)
        if tenant is None:
            err.print(f"[red]no tenant named {tenant_name!r}[/red]")
            return 1
        private = PrivateIntegrations(
            runtime.connections, runtime.vault, runtime.ghl.pipeline.options, runtime.audit
        )
        try:
            conn = await private.connect(tenant.id, location_id, token)
        except (InvalidInput, ResourceOwnedByOtherTenant) as exc:
            err.print(f"[red]{exc}[/red]", highlight=False)
            return 1
        out.print(f"{location_id} connected with its private integration token ({conn.id})")
    return 0
