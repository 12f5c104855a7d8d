"""Key rotation (issue #4): every credential ends up under the active key with its value intact,
an interrupted run resumes, a concurrent refresh is never overwritten, and a credential the ring
cannot open stops the run with the key id and the connection named. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from bench.key_rotation import RING_A, RING_B, RING_BA, rotate_and_verify, seed
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.oauth.key_rotation import KeyRotationError, KeyRotator
from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.store.connections import ConnectionRepo, Reseal
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.models import Connection, Subscription
from ghl_bridge.store.subscriptions import SubscriptionRepo
from ghl_bridge.store.subscriptions import seal_context as sub_seal_context
from ghl_bridge.store.tenants import TenantRepo
from ghl_bridge.vault import KeyRing, Vault, VaultError

KEY_C = bytes(range(200, 232))
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


class Interrupted(Exception):
    pass


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> str:
    created, _ = await TenantRepo(sessions).create("acme")
    return created.id


def _plain(resource_id: str, which: str) -> str:
    return f"{which}-of-{resource_id}"


async def _connect(
    repo: ConnectionRepo,
    tenant: str,
    resource_id: str,
    vault: Vault,
    *,
    refresh: bool = True,
    user_type: str = "Location",
) -> Connection:
    """A connection sealed with ``vault``, as `ConnectionTokens.store_grant` would store it."""
    return await repo.upsert(
        tenant,
        user_type=user_type,
        company_id=resource_id if user_type == "Company" else "cmp_1",
        location_id=resource_id if user_type == "Location" else None,
        access_sealed=vault.seal(
            _plain(resource_id, "access"), context=seal_context(resource_id, "access")
        ),
        refresh_sealed=vault.seal(
            _plain(resource_id, "refresh"), context=seal_context(resource_id, "refresh")
        )
        if refresh
        else None,
        key_id=vault.active_kid,
        expires_at=EXPIRES,
        scopes="contacts.readonly",
    )


async def _seed(repo: ConnectionRepo, tenant: str, n: int, vault: Vault) -> list[Connection]:
    rows = [
        await _connect(repo, tenant, f"loc_{i:03d}", vault, refresh=i % 4 != 3) for i in range(n)
    ]
    rows.append(await _connect(repo, tenant, "cmp_agency", vault, user_type="Company"))
    return rows


def _open(conn: Connection, vault: Vault) -> dict[str, str | None]:
    """Both credentials of a row, opened with ``vault`` (raises `VaultError` if it cannot)."""
    refresh = conn.refresh_token_sealed
    return {
        "access": vault.unseal(
            conn.access_token_sealed, context=seal_context(conn.resource_id, "access")
        ),
        "refresh": None
        if refresh is None
        else vault.unseal(refresh, context=seal_context(conn.resource_id, "refresh")),
    }


def _expected(conn: Connection) -> dict[str, str | None]:
    return {
        "access": _plain(conn.resource_id, "access"),
        "refresh": None
        if conn.refresh_token_sealed is None
        else _plain(conn.resource_id, "refresh"),
    }


async def _assert_all_under_b(repo: ConnectionRepo) -> Sequence[Connection]:
    """Every row names B and opens with a ring holding B alone: nothing still needs A."""
    only_b, only_a = Vault(RING_B), Vault(RING_A)
    rows = await repo.list()
    for conn in rows:
        assert conn.key_id == "B"
        _open(conn, only_b)
        with pytest.raises(VaultError):
            _open(conn, only_a)
    return rows


async def test_rotation_reseals_everything_under_the_active_key(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    repo = ConnectionRepo(sessions)
    seeded = await _seed(repo, tenant, 22, Vault(RING_A))
    rotator = KeyRotator(repo, Vault(RING_BA))
    assert await rotator.remaining() == 23
    calls: list[tuple[int, int]] = []

    report = await rotator.rotate(batch_size=5, progress=lambda d, t: calls.append((d, t)))

    assert (report.active_kid, report.resealed, report.conflicts, report.passes) == ("B", 23, 0, 1)
    assert calls == [(5, 23), (10, 23), (15, 23), (20, 23), (23, 23)]
    assert await rotator.remaining() == 0
    rows = await _assert_all_under_b(repo)
    before = {c.id: c for c in seeded}
    for conn in rows:
        assert _open(conn, Vault(RING_B)) == _expected(conn)
        assert conn.version == before[conn.id].version  # a re-seal is not a token change
        assert conn.access_token_sealed != before[conn.id].access_token_sealed
    # Nothing left to do: a second run writes nothing.
    again = await rotator.rotate(batch_size=5)
    assert (again.resealed, again.conflicts) == (0, 0)


async def test_an_interrupted_rotation_resumes_and_finishes(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    repo = ConnectionRepo(sessions)
    await _seed(repo, tenant, 11, Vault(RING_A))
    rotator = KeyRotator(repo, Vault(RING_BA))

    def crash_after_first_batch(done: int, total: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        await rotator.rotate(batch_size=4, progress=crash_after_first_batch)
    assert await rotator.remaining() == 12 - 4  # the first batch was committed
    assert sorted(c.key_id for c in await repo.list()) == ["A"] * 8 + ["B"] * 4

    report = await KeyRotator(repo, Vault(RING_BA)).rotate(batch_size=4)

    assert report.resealed == 8
    for conn in await _assert_all_under_b(repo):
        assert _open(conn, Vault(RING_B)) == _expected(conn)


class RefreshBetweenSelectAndUpdate(ConnectionRepo):
    """Stands in for a token refresh landing after rotation read a batch and before it wrote:
    the first row of the first batch gets new tokens (and a new version)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], refresher: Vault) -> None:
        super().__init__(sessions)
        self._refresher = refresher
        self.refreshed: str | None = None

    async def not_sealed_under(
        self, key_id: str, prefix: str, *, after_id: str | None = None, limit: int = 500
    ) -> Sequence[Connection]:
        rows = await super().not_sealed_under(key_id, prefix, after_id=after_id, limit=limit)
        if rows and self.refreshed is None:
            conn = rows[0]
            rid = conn.resource_id
            assert await self.rotate_tokens(
                conn.id,
                conn.version,
                access_sealed=self._refresher.seal(
                    "fresh-access", context=seal_context(rid, "access")
                ),
                refresh_sealed=self._refresher.seal(
                    "fresh-refresh", context=seal_context(rid, "refresh")
                ),
                key_id=self._refresher.active_kid,
                expires_at=EXPIRES + timedelta(days=1),
            )
            self.refreshed = conn.id
        return rows


@pytest.mark.parametrize(
    ("refresher_ring", "resealed", "passes"),
    [
        # the refreshed row comes back under A: the next pass re-seals it (8 of 8 written)
        pytest.param(RING_A, 8, 2, id="refresher-still-on-old-key"),
        # the refresh itself moved it to B: nothing left for a second pass
        pytest.param(RING_BA, 7, 1, id="refresher-on-new-key"),
    ],
)
async def test_a_concurrent_refresh_is_never_overwritten(
    sessions: async_sessionmaker[AsyncSession],
    tenant: str,
    refresher_ring: KeyRing,
    resealed: int,
    passes: int,
) -> None:
    await _seed(ConnectionRepo(sessions), tenant, 7, Vault(RING_A))  # 8 rows with the agency
    repo = RefreshBetweenSelectAndUpdate(sessions, Vault(refresher_ring))

    report = await KeyRotator(repo, Vault(RING_BA)).rotate(batch_size=3)

    assert repo.refreshed is not None
    assert (report.resealed, report.conflicts, report.passes) == (resealed, 1, passes)
    for conn in await _assert_all_under_b(repo):
        opened = _open(conn, Vault(RING_B))
        if conn.id == repo.refreshed:
            # the refresh's tokens survive (re-sealed under B when it had used A), version 2
            assert opened == {"access": "fresh-access", "refresh": "fresh-refresh"}
            assert conn.version == 2
        else:
            assert opened == _expected(conn)


async def test_a_row_under_a_key_missing_from_the_ring_stops_before_writing(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    repo = ConnectionRepo(sessions)
    await _seed(repo, tenant, 5, Vault(RING_A))
    lost = await _connect(repo, tenant, "loc_lost", Vault(KeyRing([("C", KEY_C)])))
    before = {c.id: c.access_token_sealed for c in await repo.list()}
    rotator = KeyRotator(repo, Vault(RING_BA))

    with pytest.raises(KeyRotationError) as caught:
        await rotator.rotate(batch_size=2)

    assert (caught.value.key_id, caught.value.connection_id) == ("C", lost.id)
    assert "'C'" in str(caught.value) and lost.id in str(caught.value)
    assert {c.id: c.access_token_sealed for c in await repo.list()} == before


async def test_a_ciphertext_under_an_unknown_key_is_caught_even_if_key_id_says_otherwise(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    """The per-credential check: the row claims key A, but its refresh token is under C."""
    repo = ConnectionRepo(sessions)
    rid = "loc_odd"
    odd = await repo.upsert(
        tenant,
        user_type="Location",
        company_id="cmp_1",
        location_id=rid,
        access_sealed=Vault(RING_A).seal("a", context=seal_context(rid, "access")),
        refresh_sealed=Vault(KeyRing([("C", KEY_C)])).seal(
            "r", context=seal_context(rid, "refresh")
        ),
        key_id="A",
        expires_at=EXPIRES,
        scopes="",
    )

    with pytest.raises(KeyRotationError) as caught:
        await KeyRotator(repo, Vault(RING_BA)).rotate()

    assert (caught.value.key_id, caught.value.connection_id) == ("C", odd.id)
    assert "refresh token is sealed under key id 'C'" in str(caught.value)


async def test_wrong_key_material_under_a_known_id_is_an_error_not_garbage(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    repo = ConnectionRepo(sessions)
    first = min(c.id for c in await _seed(repo, tenant, 3, Vault(RING_A)))  # rotation goes by id
    impostor = KeyRing([("B", bytes(range(100, 132))), ("A", KEY_C)])  # "A" is not A's key

    with pytest.raises(KeyRotationError) as caught:
        await KeyRotator(repo, Vault(impostor)).rotate()

    assert (caught.value.key_id, caught.value.connection_id) == ("A", first)
    assert "does not open with key id 'A'" in str(caught.value)
    assert {c.key_id for c in await repo.list()} == {"A"}


async def test_a_stale_refresh_ciphertext_under_the_active_key_id_is_resealed(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    """A refresh that returns no new refresh token keeps the old ciphertext but stamps the row
    with the active key id: rotation must still find and re-seal it."""
    repo = ConnectionRepo(sessions)
    [conn] = [await _connect(repo, tenant, "loc_mixed", Vault(RING_A))]
    b = Vault(RING_BA)
    assert await repo.rotate_tokens(
        conn.id,
        conn.version,
        access_sealed=b.seal("new-access", context=seal_context(conn.resource_id, "access")),
        refresh_sealed=conn.refresh_token_sealed,  # still under A
        key_id="B",
        expires_at=EXPIRES,
    )
    rotator = KeyRotator(repo, b)
    assert await rotator.remaining() == 1

    report = await rotator.rotate()

    assert report.resealed == 1
    [stored] = await _assert_all_under_b(repo)
    assert _open(stored, Vault(RING_B)) == {
        "access": "new-access",
        "refresh": _plain("loc_mixed", "refresh"),
    }


class OldKeyWriter(ConnectionRepo):
    """A process that was never restarted keeps sealing one row under the old active key."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], victim: Connection) -> None:
        super().__init__(sessions)
        self._victim = victim
        self._old = Vault(RING_A)

    async def not_sealed_under(
        self, key_id: str, prefix: str, *, after_id: str | None = None, limit: int = 500
    ) -> Sequence[Connection]:
        rows = await super().not_sealed_under(key_id, prefix, after_id=after_id, limit=limit)
        current = await self.get(self._victim.id)
        assert current is not None
        rid = current.resource_id
        await self.rotate_tokens(
            current.id,
            current.version,
            access_sealed=self._old.seal("x", context=seal_context(rid, "access")),
            refresh_sealed=self._old.seal("y", context=seal_context(rid, "refresh")),
            key_id="A",
            expires_at=EXPIRES,
        )
        return rows


async def test_rows_that_keep_returning_under_an_old_key_are_reported_not_looped_on(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    seeded = await _seed(ConnectionRepo(sessions), tenant, 3, Vault(RING_A))
    repo = OldKeyWriter(sessions, seeded[0])

    with pytest.raises(KeyRotationError, match="still sealing with an old active key"):
        await KeyRotator(repo, Vault(RING_BA), max_passes=3).rotate(batch_size=2)


def test_a_reseal_never_shows_its_ciphertexts() -> None:
    reseal = Reseal("con_1", 3, "v1.A.old-a", "v1.A.old-r", "v1.B.new-a", None, "B")
    assert "v1." not in repr(reseal) and "con_1" in repr(reseal)


@pytest.mark.parametrize("batch", [0, -1])
async def test_batch_size_must_be_positive(
    sessions: async_sessionmaker[AsyncSession], batch: int
) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        await KeyRotator(ConnectionRepo(sessions), Vault(RING_BA)).rotate(batch_size=batch)


async def test_ten_thousand_connections(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The acceptance size (it takes a few seconds; `python -m bench.key_rotation` times it)."""
    await seed(sessions, Vault(RING_A), 10_000)

    run = await rotate_and_verify(sessions, batch=500)

    assert (run.rows, run.remaining, run.wrong_values, run.still_needs_old_key) == (10_000, 0, 0, 0)


async def test_subscription_signing_secrets_move_to_the_new_key_too(
    sessions: async_sessionmaker[AsyncSession], tenant: str
) -> None:
    """Outbound-webhook secrets are sealed like tokens: a rotation that left them under the old
    key would break every subscription the day the old key leaves the ring."""
    old, new = Vault(RING_A), Vault(RING_BA)
    subscriptions = SubscriptionRepo(sessions)
    secrets = '[{"secret": "whsec_c2VjcmV0", "expiresAt": null}]'
    for n in range(3):
        sub_id = f"sub_rotation{n}"
        await subscriptions.create(
            Subscription(
                id=sub_id,
                tenant_id=tenant,
                name=f"rule {n}",
                event_types="*",
                target_kind="webhook",
                url="https://hooks.example.com/in",
                secrets_sealed=old.seal(secrets, context=sub_seal_context(sub_id)),
                scopes="read write",
            )
        )
    rotator = KeyRotator(ConnectionRepo(sessions), new, subscriptions=subscriptions)
    assert await rotator.remaining() == 3
    report = await rotator.rotate(batch_size=2)
    assert report.subscriptions == 3 and await rotator.remaining() == 0
    b_alone = Vault(RING_B)
    for row in await subscriptions.list(tenant):
        assert row.secrets_sealed is not None
        assert b_alone.unseal(row.secrets_sealed, context=sub_seal_context(row.id)) == secrets
