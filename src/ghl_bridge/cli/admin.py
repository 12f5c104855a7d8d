"""Admin commands over the store (tenants, connections). Each opens and closes its own engine."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ghl_bridge.config import Settings
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.errors import TenantExists
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.tenants import TenantRepo


async def create_tenant(settings: Settings, name: str, out: Console, err: Console) -> int:
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        tenant, api_key = await TenantRepo(make_sessionmaker(engine)).create(name)
    except TenantExists:
        err.print(f"[red]a tenant named {name!r} already exists[/red]")
        return 1
    finally:
        await engine.dispose()
    out.print(f"tenant {tenant.id} ({tenant.name}) created")
    out.print("API key (shown once, store it now):")
    out.print(api_key, markup=False, highlight=False)
    return 0


async def list_tenants(settings: Settings) -> list[dict[str, Any]]:
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        rows = await TenantRepo(make_sessionmaker(engine)).list()
    finally:
        await engine.dispose()
    return [{"id": t.id, "name": t.name, "createdAt": t.created_at.isoformat()} for t in rows]


async def list_connections(settings: Settings) -> list[dict[str, Any]]:
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        rows = await ConnectionRepo(make_sessionmaker(engine)).list()
    finally:
        await engine.dispose()
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
