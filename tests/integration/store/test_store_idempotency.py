from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.idempotency import IdempotencyRepo, request_hash
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.tenants import TenantRepo


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[tuple[IdempotencyRepo, str, Clock]]:
    await upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    tenant, _ = await TenantRepo(sessions).create("acme")
    clock = Clock()
    try:
        yield IdempotencyRepo(sessions, clock=clock), tenant.id, clock
    finally:
        await engine.dispose()


FP = request_hash("contacts.create", "loc1", {"email": "a@b.co"})


async def _claim(repo: IdempotencyRepo, tenant: str, fingerprint: str = FP) -> str:
    claim = await repo.claim(
        tenant, "k", action="contacts.create", location_id="loc1", fingerprint=fingerprint
    )
    return claim.state


async def test_claim_finish_replay(setup: tuple[IdempotencyRepo, str, Clock]) -> None:
    repo, tenant, _ = setup
    assert await _claim(repo, tenant) == "new"
    assert await _claim(repo, tenant) == "in_progress"
    await repo.finish(tenant, "k", status="succeeded", response={"contact": {"id": "c1"}})
    claim = await repo.claim(
        tenant, "k", action="contacts.create", location_id="loc1", fingerprint=FP
    )
    assert (claim.state, claim.response) == ("replay", {"contact": {"id": "c1"}})
    assert await _claim(repo, tenant, "other") == "mismatch"


async def test_release_lets_the_key_try_again(setup: tuple[IdempotencyRepo, str, Clock]) -> None:
    repo, tenant, _ = setup
    assert await _claim(repo, tenant) == "new"
    await repo.release(tenant, "k")
    assert await _claim(repo, tenant) == "new"


async def test_stale_claim_is_taken_over_and_expired_keys_forgotten(
    setup: tuple[IdempotencyRepo, str, Clock],
) -> None:
    repo, tenant, clock = setup
    assert await _claim(repo, tenant) == "new"
    clock.now += timedelta(minutes=11)
    assert await _claim(repo, tenant) == "new"  # the holder crashed long ago
    await repo.finish(tenant, "k", status="succeeded", response={})
    clock.now += timedelta(hours=25)
    assert await _claim(repo, tenant, "anything") == "new"  # expired: a fresh key
