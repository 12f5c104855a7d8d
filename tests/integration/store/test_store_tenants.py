"""TenantRepo: tenants and API keys (shown once, stored as sha256 + prefix only)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ghl_bridge.store import ApiKey, NotFound, TenantExists, TenantRepo

if TYPE_CHECKING:
    from conftest import FakeClock


@pytest.fixture
def repo(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> TenantRepo:
    return TenantRepo(sessions, clock=clock)


async def _dump_text(engine: AsyncEngine) -> str:
    """Every value in the tenant tables, as one string (to search for leaked secrets)."""
    async with engine.connect() as conn:
        rows = []
        for table in ("tenants", "api_keys"):
            rows += (await conn.execute(text(f"SELECT * FROM {table}"))).all()
    return repr(rows)


async def test_create_returns_key_once_and_stores_only_its_hash(
    repo: TenantRepo, engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant, api_key = await repo.create("acme")

    assert tenant.id.startswith("tnt_") and len(tenant.id) == 28
    assert tenant.name == "acme"
    assert tenant.created_at == clock.now
    assert api_key.startswith("ghlb_") and len(api_key) == 45
    assert set(api_key[5:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )

    (key,) = await repo.list_keys(tenant.id)
    assert key.id.startswith("key_")
    assert key.prefix == api_key[:12]
    assert key.key_hash == hashlib.sha256(api_key.encode()).hexdigest()
    assert key.revoked_at is None and key.last_used_at is None

    dump = await _dump_text(engine)
    assert api_key not in dump
    assert api_key[12:] not in dump
    assert api_key not in repr(key) and key.key_hash not in repr(key)


async def test_duplicate_name_is_refused(repo: TenantRepo) -> None:
    await repo.create("acme")
    with pytest.raises(TenantExists, match="acme"):
        await repo.create("acme")
    with pytest.raises(TenantExists):
        await repo.create("  acme ")
    assert [t.name for t in await repo.list()] == ["acme"]


async def test_concurrent_creates_of_one_name_make_one_tenant(repo: TenantRepo) -> None:
    results = await asyncio.gather(*(repo.create("race") for _ in range(8)), return_exceptions=True)
    created = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, TenantExists)]
    assert len(created) == 1
    assert len(refused) == 7
    assert len(await repo.list()) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_invalid_names(repo: TenantRepo, name: str) -> None:
    with pytest.raises(ValueError, match="tenant name"):
        await repo.create(name)


async def test_list_get_and_get_by_name(repo: TenantRepo, clock: FakeClock) -> None:
    first, _ = await repo.create("first")
    clock.advance(1)
    second, _ = await repo.create("second")

    assert [t.id for t in await repo.list()] == [first.id, second.id]
    fetched = await repo.get(second.id)
    assert fetched is not None and fetched.name == "second"
    assert await repo.get("tnt_missing") is None
    by_name = await repo.get_by_name("first")
    assert by_name is not None and by_name.id == first.id
    assert await repo.get_by_name("nobody") is None


async def test_authenticate(repo: TenantRepo) -> None:
    tenant, api_key = await repo.create("acme")
    other, other_key = await repo.create("other")

    found = await repo.authenticate(api_key)
    assert found is not None and found.id == tenant.id
    found_other = await repo.authenticate(other_key)
    assert found_other is not None and found_other.id == other.id


@pytest.mark.parametrize(
    "candidate",
    ["", "ghlb_", "ghlb_" + "A" * 40, "xxxx_" + "A" * 40, "ghlb_short", "Bearer ghlb_x"],
)
async def test_authenticate_rejects_unknown_or_malformed(repo: TenantRepo, candidate: str) -> None:
    await repo.create("acme")
    assert await repo.authenticate(candidate) is None


async def test_authenticate_rejects_a_near_miss(repo: TenantRepo) -> None:
    _, api_key = await repo.create("acme")
    flipped = api_key[:-1] + ("A" if api_key[-1] != "A" else "B")
    assert await repo.authenticate(flipped) is None


async def test_last_used_at_is_updated_at_most_once_a_minute(
    repo: TenantRepo, clock: FakeClock
) -> None:
    tenant, api_key = await repo.create("acme")
    start = clock.now

    await repo.authenticate(api_key)
    assert (await repo.list_keys(tenant.id))[0].last_used_at == start

    clock.advance(30)
    await repo.authenticate(api_key)
    assert (await repo.list_keys(tenant.id))[0].last_used_at == start

    clock.advance(31)
    await repo.authenticate(api_key)
    assert (await repo.list_keys(tenant.id))[0].last_used_at == clock.now


async def test_create_key_and_revoke_key(repo: TenantRepo, clock: FakeClock) -> None:
    tenant, first_key = await repo.create("acme")
    clock.advance(1)
    row, second_key = await repo.create_key(tenant.id)

    assert isinstance(row, ApiKey) and row.tenant_id == tenant.id
    assert second_key != first_key
    assert [k.id for k in await repo.list_keys(tenant.id)][1] == row.id
    assert await repo.authenticate(second_key) is not None

    clock.advance(1)
    await repo.revoke_key(row.id)
    assert await repo.authenticate(second_key) is None
    assert await repo.authenticate(first_key) is not None
    revoked = next(k for k in await repo.list_keys(tenant.id) if k.id == row.id)
    assert revoked.revoked_at == clock.now

    first_revocation = revoked.revoked_at
    clock.advance(60)
    await repo.revoke_key(row.id)  # idempotent: keeps the first revocation time
    revoked = next(k for k in await repo.list_keys(tenant.id) if k.id == row.id)
    assert revoked.revoked_at == first_revocation


async def test_key_operations_on_unknown_ids(repo: TenantRepo) -> None:
    with pytest.raises(NotFound, match="tenant"):
        await repo.create_key("tnt_missing")
    with pytest.raises(NotFound, match="api key"):
        await repo.revoke_key("key_missing")
