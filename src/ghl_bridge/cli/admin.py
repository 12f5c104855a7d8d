"""Admin commands over the store (tenants, connections). Each opens and closes its own engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.config import Settings
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.errors import TenantExists
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.tenants import TenantRepo


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
