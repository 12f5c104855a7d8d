"""ReconcileRepo: checkpoints created once, leased to one run at a time, moved only on success;
and the inbox query reconciliation compares records against."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.store import InboxRepo, TenantRepo
from ghl_bridge.store.reconcile import ReconcileRepo

if TYPE_CHECKING:
    from conftest import FakeClock

START = datetime(2025, 1, 15, 11, 0, tzinfo=UTC)


@pytest.fixture
def repo(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> ReconcileRepo:
    return ReconcileRepo(sessions, clock=clock)


@pytest.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> str:
    created, _ = await TenantRepo(sessions).create("recon")
    return created.id


async def test_first_claim_creates_the_checkpoint_and_leases_it(
    repo: ReconcileRepo, tenant: str, clock: FakeClock
) -> None:
    first = await repo.claim(tenant, "loc_1", "contacts", start_at=START, lease_s=60)
    assert first is not None and first.checkpoint_at == START
    assert first.lease_until == clock.now + timedelta(seconds=60)
    assert await repo.claim(tenant, "loc_1", "contacts", start_at=START, lease_s=60) is None
    other_kind = await repo.claim(tenant, "loc_1", "opportunities", start_at=START, lease_s=60)
    assert other_kind is not None and other_kind.id != first.id
    clock.advance(61)  # a crashed run's lease runs out
    again = await repo.claim(tenant, "loc_1", "contacts", start_at=clock.now, lease_s=60)
    assert again is not None and again.id == first.id and again.checkpoint_at == START


async def test_concurrent_claims_lease_once(repo: ReconcileRepo, tenant: str) -> None:
    results = await asyncio.gather(
        *(repo.claim(tenant, "loc_c", "contacts", start_at=START, lease_s=60) for _ in range(8))
    )
    assert sum(result is not None for result in results) == 1
    assert len(await repo.list(tenant)) == 1


async def test_advance_moves_and_fail_keeps_the_checkpoint(
    repo: ReconcileRepo, tenant: str, clock: FakeClock
) -> None:
    claimed = await repo.claim(tenant, "loc_2", "contacts", start_at=START, lease_s=60)
    assert claimed is not None
    await repo.advance(claimed.id, START + timedelta(minutes=5), 3)
    moved = await repo.get("loc_2", "contacts")
    assert moved is not None
    assert (moved.checkpoint_at, moved.synthesized, moved.lease_until) == (
        START + timedelta(minutes=5),
        3,
        None,
    )
    again = await repo.claim(tenant, "loc_2", "contacts", start_at=START, lease_s=60)
    assert again is not None
    await repo.fail(again.id, "GHLServerError: " + "x" * 5000)
    kept = await repo.get("loc_2", "contacts")
    assert kept is not None and kept.checkpoint_at == START + timedelta(minutes=5)
    assert kept.lease_until is None and kept.last_error is not None
    assert len(kept.last_error) == 2000 and kept.synthesized == 3
    assert kept.last_run_at == clock.now


async def test_bad_arguments(repo: ReconcileRepo, tenant: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        await repo.claim(tenant, "loc", "notes", start_at=START, lease_s=1)
    with pytest.raises(ValueError, match="aware"):
        await repo.claim(tenant, "loc", "contacts", start_at=START.replace(tzinfo=None), lease_s=1)


async def test_checkpoints_follow_their_tenant(
    repo: ReconcileRepo, tenant: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await repo.claim(tenant, "loc_t", "contacts", start_at=START, lease_s=1)
    other, _ = await TenantRepo(sessions).create("other")
    await repo.claim(other.id, "loc_o", "contacts", start_at=START, lease_s=1)
    assert [c.location_id for c in await repo.list(tenant)] == ["loc_t"]
    assert len(await repo.list()) == 2


async def test_events_since_filters_location_type_and_time(
    repo: ReconcileRepo, sessions: async_sessionmaker[AsyncSession]
) -> None:
    inbox = InboxRepo(sessions)
    rows = [
        ("w1", "loc_e", "ContactUpdate", START),
        ("w2", "loc_e", "ContactUpdate", START - timedelta(hours=1)),  # too old
        ("w3", "loc_x", "ContactUpdate", START),  # another location
        ("w4", "loc_e", "NoteCreate", START),  # another family
        ("w5", "loc_e", "ContactCreate", START + timedelta(seconds=1)),
    ]
    for webhook_id, location, event_type, at in rows:
        await inbox.record(
            webhook_id,
            event_type=event_type,
            location_id=location,
            company_id=None,
            tenant_id=None,
            payload=json.dumps({"id": webhook_id}),
            signature_scheme="reconciled" if webhook_id == "w5" else "ed25519",
            received_at=at,
        )
    found = await repo.events_since(
        "loc_e", ("ContactCreate", "ContactUpdate"), START - timedelta(minutes=1)
    )
    assert [(kind, json.loads(payload)["id"]) for kind, payload in found] == [
        ("ContactUpdate", "w1"),
        ("ContactCreate", "w5"),
    ]
