"""The repositories' batch methods, on SQLite and PostgreSQL: loading and marking many inbox
events, the active subscriptions of many tenants, renewing many job leases, and `JobRepo.record`
applying a batch of mixed outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.support.records import action_subscription

from ghl_bridge.store import InboxRepo, NotFound, TenantRepo
from ghl_bridge.store.jobs import JobRecord, JobRepo
from ghl_bridge.store.models import JobRow
from ghl_bridge.store.subscriptions import SubscriptionRepo

if TYPE_CHECKING:
    from conftest import FakeClock

Q = "batched-store"


async def _events(inbox: InboxRepo, count: int) -> list[str]:
    ids = []
    for n in range(count):
        event_id, _ = await inbox.record(
            f"wh-{n}",
            event_type="ContactCreate",
            location_id="loc_1",
            company_id=None,
            tenant_id=None,
            payload=json.dumps({"type": "ContactCreate", "n": n}),
            signature_scheme="ed25519",
            received_at=datetime(2025, 1, 15, 12, 0, tzinfo=UTC),
        )
        ids.append(event_id)
    return ids


async def test_get_many_returns_the_existing_events_by_id(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    inbox = InboxRepo(sessions, clock=clock)
    ids = await _events(inbox, 3)

    found = await inbox.get_many([ids[2], "evt_missing", ids[0], ids[2]])

    assert set(found) == {ids[0], ids[2]}
    assert found[ids[0]].webhook_id == "wh-0"
    assert json.loads(found[ids[2]].payload)["n"] == 2
    assert await inbox.get_many([]) == {}
    assert await inbox.get_many(["evt_missing"]) == {}


async def test_mark_processed_many_marks_and_returns_only_existing_events(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    inbox = InboxRepo(sessions, clock=clock)
    ids = await _events(inbox, 3)
    clock.advance(30)

    marked = await inbox.mark_processed_many([ids[0], "evt_missing", ids[2]])

    assert marked == {ids[0], ids[2]}
    for event_id in (ids[0], ids[2]):
        event = await inbox.get(event_id)
        assert event is not None
        assert (event.status, event.processed_at) == ("processed", clock.now)
    untouched = await inbox.get(ids[1])
    assert untouched is not None
    assert (untouched.status, untouched.processed_at) == ("pending", None)
    assert await inbox.mark_processed_many([]) == set()


async def test_mark_processed_is_idempotent_and_refuses_an_unknown_event(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    inbox = InboxRepo(sessions, clock=clock)
    [event_id] = await _events(inbox, 1)
    await inbox.mark_processed(event_id)
    await inbox.mark_processed(event_id)
    event = await inbox.get(event_id)
    assert event is not None and event.status == "processed"
    with pytest.raises(NotFound):
        await inbox.mark_processed("evt_missing")


async def test_active_for_lists_each_asked_tenants_active_subscriptions_oldest_first(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tenants = TenantRepo(sessions)
    acme, _ = await tenants.create("acme")
    beta, _ = await tenants.create("beta")
    empty, _ = await tenants.create("empty")
    other, _ = await tenants.create("other")
    repo = SubscriptionRepo(sessions, clock=clock)
    start = clock.now
    # Created out of created_at order, so the order can only come from created_at.
    clock.now = start + timedelta(minutes=3)
    newest = await repo.create(action_subscription(acme.id, "newest"))
    clock.now = start + timedelta(minutes=1)
    oldest = await repo.create(action_subscription(acme.id, "oldest"))
    clock.now = start + timedelta(minutes=2)
    await repo.create(action_subscription(acme.id, "paused", active=False))
    beta_sub = await repo.create(action_subscription(beta.id, "beta"))
    await repo.create(action_subscription(other.id, "not asked for"))
    await repo.create(action_subscription(empty.id, "paused", active=False))

    found = await repo.active_for([acme.id, beta.id, empty.id, "ten_unknown"])

    assert set(found) == {acme.id, beta.id, empty.id, "ten_unknown"}
    assert [row.id for row in found[acme.id]] == [oldest.id, newest.id]
    assert [row.id for row in found[beta.id]] == [beta_sub.id]
    assert list(found[empty.id]) == []
    assert list(found["ten_unknown"]) == []
    assert [row.id for row in await repo.active(acme.id)] == [oldest.id, newest.id]
    assert await repo.active_for([]) == {}


async def _claimed(repo: JobRepo, clock: FakeClock, names: list[str]) -> list[JobRecord]:
    for name in names:
        await repo.add(Q, "work", json.dumps({"name": name}), job_id=name, max_attempts=5)
    return await repo.claim(Q, clock.now, lease_s=30, limit=len(names))


async def test_extend_leases_pushes_only_active_jobs(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = JobRepo(sessions, clock=clock)
    await _claimed(repo, clock, ["j-active-1", "j-active-2", "j-done"])
    await repo.add(Q, "work", "{}", job_id="j-waiting")
    assert await repo.complete("j-done", '"ok"')
    clock.advance(10)
    until = clock.now + timedelta(minutes=5)

    extended = await repo.extend_leases(
        ["j-active-1", "j-active-2", "j-done", "j-waiting", "j-missing"], until
    )

    assert extended == {"j-active-1", "j-active-2"}
    for job_id in ("j-active-1", "j-active-2"):
        record = await repo.get(job_id)
        assert record is not None
        assert (record.status, record.locked_until, record.updated_at) == (
            "active",
            until,
            clock.now,
        )
    done, waiting = await repo.get("j-done"), await repo.get("j-waiting")
    assert done is not None and (done.status, done.locked_until) == ("completed", None)
    assert waiting is not None and (waiting.status, waiting.locked_until) == ("waiting", None)
    assert await repo.extend_leases([], until) == set()
    assert await repo.extend_lease("j-active-1", until + timedelta(minutes=1))
    assert not await repo.extend_lease("j-done", until)


async def test_record_applies_a_mixed_batch_to_the_active_jobs(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = JobRepo(sessions, clock=clock)
    names = ["c1", "c2", "c3", "r1", "r2", "f1", "f2", "p1", "late"]
    await _claimed(repo, clock, names)
    # Two jobs are on a later attempt: the change adds one to what is stored.
    async with sessions.begin() as session:
        await session.execute(
            update(JobRow).where(JobRow.id.in_(["c3", "r2"])).values(attempts_made=2)
        )
    assert await repo.complete("late", '"first outcome"')
    claimed_at = clock.now
    clock.advance(5)
    now = clock.now
    retry_1, retry_2 = now + timedelta(seconds=60), now + timedelta(seconds=90)
    park_until = now + timedelta(minutes=10)

    applied = await repo.record(
        [
            ("c1", repo.completed('"a"')),
            ("r1", repo.failed("RuntimeError: boom", retry_1)),
            ("c2", repo.completed('{"n":2}')),
            ("f1", repo.failed("PermanentFailure: never", None)),
            ("late", repo.completed('"second outcome"')),
            ("p1", repo.parked(park_until)),
            ("c3", repo.completed("[3]")),
            ("job-missing", repo.completed('"nobody"')),
            ("r2", repo.failed("TimeoutError", retry_2)),
            ("f2", repo.failed("the worker stopped", None, count_attempt=False)),
        ]
    )

    assert applied == [True, True, True, True, False, True, True, False, True, True]
    rows = {name: await repo.get(name) for name in names}
    got = {
        name: (
            r.status,
            r.result_json,
            r.attempts_made,
            r.failed_reason,
            r.run_at,
            r.finished_at,
            r.locked_until,
        )
        for name, r in rows.items()
        if r is not None
    }
    assert got == {
        "c1": ("completed", '"a"', 1, None, claimed_at, now, None),
        "c2": ("completed", '{"n":2}', 1, None, claimed_at, now, None),
        "c3": ("completed", "[3]", 3, None, claimed_at, now, None),
        "r1": ("waiting", None, 1, "RuntimeError: boom", retry_1, None, None),
        "r2": ("waiting", None, 3, "TimeoutError", retry_2, None, None),
        "f1": ("failed", None, 1, "PermanentFailure: never", claimed_at, now, None),
        "f2": ("failed", None, 0, "the worker stopped", claimed_at, now, None),
        "p1": ("waiting", None, 0, None, park_until, None, None),
        "late": ("completed", '"first outcome"', 1, None, claimed_at, claimed_at, None),
    }
    late = rows["late"]
    assert late is not None and late.updated_at == claimed_at  # not active: left alone

    # The retries and the park come due at their own times.
    clock.now = retry_1
    assert [r.id for r in await repo.claim(Q, clock.now, lease_s=3600, limit=10)] == ["r1"]
    clock.now = park_until
    assert sorted(r.id for r in await repo.claim(Q, clock.now, lease_s=30, limit=10)) == [
        "p1",
        "r2",
    ]


async def test_record_of_nothing_and_of_finished_jobs_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = JobRepo(sessions, clock=clock)
    await _claimed(repo, clock, ["a"])
    assert await repo.record([]) == []
    assert await repo.record([("a", repo.completed('"done"'))]) == [True]
    assert await repo.record(
        [("a", repo.failed("late", None)), ("a-missing", repo.parked(clock.now))]
    ) == [False, False]
    record = await repo.get("a")
    assert record is not None
    assert (record.status, record.result_json, record.failed_reason) == (
        "completed",
        '"done"',
        None,
    )


async def test_record_is_all_or_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = JobRepo(sessions, clock=clock)
    await _claimed(repo, clock, ["good", "bad"])
    with pytest.raises(IntegrityError):
        await repo.record(
            [
                ("good", repo.completed('"fine"')),
                ("bad", {"status": "no-such-status", "locked_until": None}),
            ]
        )
    for job_id in ("good", "bad"):
        record = await repo.get(job_id)
        assert record is not None
        assert (record.status, record.result_json, record.attempts_made) == ("active", None, 0)


async def test_record_stamps_updated_at_with_the_repository_clock(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = JobRepo(sessions, clock=clock)
    await _claimed(repo, clock, ["a"])
    clock.advance(5)
    assert await repo.record([("a", repo.completed('"done"'))]) == [True]
    record = await repo.get("a")
    assert record is not None and record.updated_at == clock.now


async def test_record_applies_only_the_first_of_two_outcomes_for_one_job(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = JobRepo(sessions, clock=clock)
    await _claimed(repo, clock, ["a"])
    retry_at = clock.now + timedelta(minutes=1)
    applied = await repo.record(
        [("a", repo.completed('"done"')), ("a", repo.failed("late", retry_at))]
    )
    record = await repo.get("a")
    assert record is not None
    assert (record.status, record.attempts_made, applied) == ("completed", 1, [True, False])
