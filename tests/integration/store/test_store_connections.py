"""ConnectionRepo: one connection per GHL resource, ownership never reassigned, CAS rotation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.store import (
    Connection,
    ConnectionRepo,
    NotFound,
    ResourceOwnedByOtherTenant,
    TenantRepo,
)

if TYPE_CHECKING:
    from conftest import FakeClock

EXPIRES = datetime(2025, 1, 16, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> ConnectionRepo:
    return ConnectionRepo(sessions, clock=clock)


@pytest.fixture
async def tenants(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
    repo = TenantRepo(sessions)
    first, _ = await repo.create("first")
    second, _ = await repo.create("second")
    return first.id, second.id


def _tokens(tag: str) -> dict[str, Any]:
    return {
        "access_sealed": f"v1.k1.access-{tag}",
        "refresh_sealed": f"v1.k1.refresh-{tag}",
        "key_id": "k1",
        "expires_at": EXPIRES,
    }


async def _location(
    repo: ConnectionRepo, tenant_id: str, location_id: str = "loc_1", tag: str = "a"
) -> Connection:
    return await repo.upsert(
        tenant_id,
        user_type="Location",
        company_id="cmp_1",
        location_id=location_id,
        scopes="contacts.readonly contacts.write",
        **_tokens(tag),
    )


async def test_upsert_creates_a_location_connection(
    repo: ConnectionRepo, tenants: tuple[str, str], clock: FakeClock
) -> None:
    conn = await _location(repo, tenants[0])

    assert conn.id.startswith("con_")
    assert conn.tenant_id == tenants[0]
    assert (conn.user_type, conn.company_id, conn.location_id) == ("Location", "cmp_1", "loc_1")
    assert conn.resource_id == "loc_1"
    assert conn.access_token_sealed == "v1.k1.access-a"
    assert conn.refresh_token_sealed == "v1.k1.refresh-a"
    assert conn.key_id == "k1"
    assert conn.expires_at == EXPIRES
    assert conn.scopes == "contacts.readonly contacts.write"
    assert (conn.status, conn.version) == ("active", 1)
    assert conn.created_at == conn.updated_at == clock.now
    assert "access-a" not in repr(conn) and "refresh-a" not in repr(conn)


async def test_upsert_creates_a_company_connection(
    repo: ConnectionRepo, tenants: tuple[str, str]
) -> None:
    conn = await repo.upsert(
        tenants[0],
        user_type="Company",
        company_id="cmp_9",
        location_id=None,
        scopes="locations.readonly",
        **_tokens("c"),
    )
    assert conn.resource_id == "cmp_9"
    assert conn.location_id is None
    fetched = await repo.get_by_resource("cmp_9")
    assert fetched is not None and fetched.id == conn.id


async def test_reauthorizing_replaces_tokens_and_bumps_version(
    repo: ConnectionRepo, tenants: tuple[str, str], clock: FakeClock
) -> None:
    first = await _location(repo, tenants[0])
    await repo.set_status(first.id, "needs_reauth")
    clock.advance(10)

    again = await _location(repo, tenants[0], tag="b")

    assert again.id == first.id
    assert again.version == 2
    assert again.status == "active"
    assert again.access_token_sealed == "v1.k1.access-b"
    assert again.created_at == first.created_at
    assert again.updated_at == clock.now
    assert len(await repo.list()) == 1


async def test_resource_owned_by_another_tenant_is_refused(
    repo: ConnectionRepo, tenants: tuple[str, str]
) -> None:
    first = await _location(repo, tenants[0])

    with pytest.raises(ResourceOwnedByOtherTenant, match="loc_1") as info:
        await _location(repo, tenants[1], tag="stolen")
    assert tenants[0] not in str(info.value)

    kept = await repo.get(first.id)
    assert kept is not None
    assert kept.tenant_id == tenants[0]
    assert kept.access_token_sealed == "v1.k1.access-a"
    assert kept.version == 1
    assert await repo.owner_of("loc_1") == tenants[0]


async def test_concurrent_first_installs_by_two_tenants(
    repo: ConnectionRepo, tenants: tuple[str, str]
) -> None:
    results = await asyncio.gather(
        *(_location(repo, tenants[i % 2], location_id="loc_race", tag=str(i)) for i in range(6)),
        return_exceptions=True,
    )
    owner = await repo.owner_of("loc_race")
    assert owner in tenants
    for index, result in enumerate(results):
        if tenants[index % 2] == owner:
            assert isinstance(result, Connection), result
        else:
            assert isinstance(result, ResourceOwnedByOtherTenant), result
    assert len(await repo.list()) == 1


async def test_upsert_validation(repo: ConnectionRepo, tenants: tuple[str, str]) -> None:
    base: dict[str, Any] = {"company_id": "cmp_1", "scopes": "", **_tokens("v")}
    with pytest.raises(ValueError, match="user_type"):
        await repo.upsert(tenants[0], user_type="Agency", location_id=None, **base)
    with pytest.raises(ValueError, match="location_id"):
        await repo.upsert(tenants[0], user_type="Location", location_id=None, **base)
    with pytest.raises(ValueError, match="company_id"):
        await repo.upsert(
            tenants[0], user_type="Company", location_id=None, **{**base, "company_id": ""}
        )
    with pytest.raises(ValueError, match="expires_at"):
        await repo.upsert(
            tenants[0],
            user_type="Location",
            location_id="loc_1",
            **{**base, "expires_at": datetime(2025, 1, 1)},
        )
    with pytest.raises(NotFound, match="tenant"):
        await _location(repo, "tnt_missing")
    assert await repo.list() == []


async def test_company_connection_never_keeps_a_location_id(
    repo: ConnectionRepo, tenants: tuple[str, str]
) -> None:
    conn = await repo.upsert(
        tenants[0],
        user_type="Company",
        company_id="cmp_2",
        location_id="loc_ignored",
        scopes="",
        **_tokens("c"),
    )
    assert conn.location_id is None and conn.resource_id == "cmp_2"


async def test_get_list_and_owner_of(repo: ConnectionRepo, tenants: tuple[str, str]) -> None:
    a = await _location(repo, tenants[0], "loc_a")
    b = await _location(repo, tenants[0], "loc_b")
    c = await _location(repo, tenants[1], "loc_c")

    fetched = await repo.get(a.id)
    assert fetched is not None and fetched.resource_id == "loc_a"
    assert await repo.get("con_missing") is None
    assert await repo.get_by_resource("loc_missing") is None
    assert {x.id for x in await repo.list(tenants[0])} == {a.id, b.id}
    assert [x.id for x in await repo.list(tenants[1])] == [c.id]
    assert {x.id for x in await repo.list()} == {a.id, b.id, c.id}
    assert await repo.owner_of("loc_c") == tenants[1]
    assert await repo.owner_of("loc_unknown") is None

    await repo.set_status(c.id, "revoked")
    assert await repo.owner_of("loc_c") == tenants[1]


async def test_expiry_is_returned_as_aware_utc(
    repo: ConnectionRepo, tenants: tuple[str, str]
) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2025, 3, 1, 14, 30, 15, 123456, tzinfo=plus_two)
    conn = await repo.upsert(
        tenants[0],
        user_type="Location",
        company_id="cmp_1",
        location_id="loc_tz",
        scopes="",
        **{**_tokens("t"), "expires_at": local},
    )
    fetched = await repo.get(conn.id)
    assert fetched is not None and fetched.expires_at is not None
    assert fetched.expires_at == local
    assert fetched.expires_at.utcoffset() == timedelta(0)
    assert fetched.expires_at.hour == 12


async def test_rotate_tokens_compare_and_swap(
    repo: ConnectionRepo, tenants: tuple[str, str], clock: FakeClock
) -> None:
    conn = await _location(repo, tenants[0])
    clock.advance(5)
    new_expiry = EXPIRES + timedelta(days=1)

    assert await repo.rotate_tokens(
        conn.id,
        1,
        access_sealed="v1.k2.access-r",
        refresh_sealed="v1.k2.refresh-r",
        key_id="k2",
        expires_at=new_expiry,
    )
    rotated = await repo.get(conn.id)
    assert rotated is not None
    assert rotated.version == 2
    assert (rotated.access_token_sealed, rotated.refresh_token_sealed) == (
        "v1.k2.access-r",
        "v1.k2.refresh-r",
    )
    assert (rotated.key_id, rotated.expires_at, rotated.updated_at) == ("k2", new_expiry, clock.now)

    stale = await repo.rotate_tokens(conn.id, 1, **_tokens("stale"))
    assert stale is False
    assert await repo.rotate_tokens("con_missing", 1, **_tokens("x")) is False
    unchanged = await repo.get(conn.id)
    assert unchanged is not None and unchanged.access_token_sealed == "v1.k2.access-r"


async def test_concurrent_rotations_with_one_version_have_one_winner(
    repo: ConnectionRepo, tenants: tuple[str, str]
) -> None:
    conn = await _location(repo, tenants[0])

    results = await asyncio.gather(
        *(repo.rotate_tokens(conn.id, 1, **_tokens(f"r{i}")) for i in range(2))
    )
    assert sorted(results) == [False, True]
    winner = results.index(True)
    stored = await repo.get(conn.id)
    assert stored is not None
    assert stored.version == 2
    assert stored.refresh_token_sealed == f"v1.k1.refresh-r{winner}"

    many = await asyncio.gather(
        *(repo.rotate_tokens(conn.id, 2, **_tokens(f"m{i}")) for i in range(10))
    )
    assert many.count(True) == 1
    final = await repo.get(conn.id)
    assert final is not None and final.version == 3


async def test_set_status(repo: ConnectionRepo, tenants: tuple[str, str]) -> None:
    conn = await _location(repo, tenants[0])
    for status in ("needs_reauth", "revoked", "active"):
        await repo.set_status(conn.id, status)
        fetched = await repo.get(conn.id)
        assert fetched is not None and fetched.status == status
        assert fetched.version == 1  # status changes never disturb token rotation
    with pytest.raises(ValueError, match="status"):
        await repo.set_status(conn.id, "paused")
    with pytest.raises(NotFound, match="connection"):
        await repo.set_status("con_missing", "revoked")


async def test_database_errors_do_not_reveal_sealed_tokens(
    sessions: async_sessionmaker[AsyncSession], repo: ConnectionRepo, tenants: tuple[str, str]
) -> None:
    await _location(repo, tenants[0])
    with pytest.raises(IntegrityError) as info:
        async with sessions.begin() as session:
            session.add(
                Connection(
                    tenant_id=tenants[0],
                    user_type="Location",
                    company_id="cmp_1",
                    location_id="loc_1",
                    resource_id="loc_1",
                    access_token_sealed="v1.k1.SECRET-SEALED-ACCESS",
                    refresh_token_sealed=None,
                    key_id="k1",
                )
            )
    assert "SECRET-SEALED-ACCESS" not in str(info.value)
