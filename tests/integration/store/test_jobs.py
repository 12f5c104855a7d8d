"""JobRepo: the job rows behind the in-process queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.integration.store.conftest import FakeClock

from ghl_bridge.store.inbox_writer import job_values
from ghl_bridge.store.jobs import JobRepo
from ghl_bridge.store.models import JobRow

Q = "ghl-bridge-events"


def repo_for(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> JobRepo:
    return JobRepo(sessions, clock=clock)


async def test_add_is_idempotent_on_job_id_and_dedupe_key(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    job_id, created = await repo.add(Q, "webhook.process", '{"eventId":"e1"}', job_id="wh-e1")
    assert (job_id, created) == ("wh-e1", True)
    assert await repo.add(Q, "webhook.process", '{"eventId":"x"}', job_id="wh-e1") == (
        "wh-e1",
        False,
    )

    keyed, created = await repo.add(Q, "webhook.process", "{}", dedupe_key="evt:e2")
    assert created
    assert keyed.startswith("job_")
    assert await repo.add(Q, "webhook.process", "{}", dedupe_key="evt:e2") == (keyed, False)

    # A clash on either unique column finds the existing job.
    assert await repo.add(Q, "w", "{}", job_id="wh-e1", dedupe_key="new-key") == ("wh-e1", False)
    assert await repo.add(Q, "w", "{}", job_id="other", dedupe_key="evt:e2") == (keyed, False)

    record = await repo.get("wh-e1")
    assert record is not None
    assert record.data_json == '{"eventId":"e1"}'
    assert (record.status, record.attempts_made, record.run_at) == ("waiting", 0, clock.now)


async def test_payload_and_backoff_round_trip_and_bare_rows_are_read(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    payload = '{"input":{"name":"Zoë"},"ids":[1,2]}'
    job_id, _ = await repo.add(Q, "action", payload, backoff_s=2.5)
    record = await repo.get(job_id)
    assert record is not None
    assert json.loads(record.data_json) == json.loads(payload)
    assert record.backoff_s == 2.5

    async with sessions.begin() as session:
        session.add(JobRow(id="job_bare", queue=Q, name="x", data='{"eventId":"e"}'))
    bare = await repo.get("job_bare")
    assert bare is not None
    assert (bare.data_json, bare.backoff_s) == ('{"eventId":"e"}', 1.0)


async def test_claim_takes_due_jobs_in_order_up_to_the_limit(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    start = clock.now
    for n, offset in enumerate([2, 0, 1, 60]):
        await repo.add(Q, "w", "{}", job_id=f"j{n}", run_at=start + timedelta(seconds=offset))
    await repo.add("other-queue", "w", "{}", job_id="elsewhere", run_at=start)

    clock.advance(5)
    first = await repo.claim(Q, clock.now, lease_s=30, limit=2)
    assert [r.id for r in first] == ["j1", "j2"]
    assert all(r.status == "active" for r in first)
    assert all(r.locked_until == clock.now + timedelta(seconds=30) for r in first)
    assert [r.id for r in await repo.claim(Q, clock.now, lease_s=30, limit=5)] == ["j0"]
    assert await repo.claim(Q, clock.now, lease_s=30) == []  # j3 is not due yet


async def test_an_expired_lease_is_reclaimed_and_its_attempt_counted(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    await repo.add(Q, "w", "{}", job_id="j")
    [claimed] = await repo.claim(Q, clock.now, lease_s=10)
    assert claimed.attempts_made == 0

    clock.advance(9)
    assert await repo.claim(Q, clock.now, lease_s=10) == []  # lease still held
    clock.advance(2)
    [again] = await repo.claim(Q, clock.now, lease_s=10)
    assert again.id == "j"
    assert again.attempts_made == 1
    assert again.locked_until == clock.now + timedelta(seconds=10)


async def test_outcomes_apply_only_to_active_jobs(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    await repo.add(Q, "w", "{}", job_id="j")
    assert not await repo.complete("j", '"early"')  # still waiting

    await repo.claim(Q, clock.now, lease_s=30)
    assert await repo.set_progress("j", '{"done":1}')
    clock.advance(1)
    assert await repo.complete("j", '{"ok":true}')
    assert not await repo.fail("j", "late straggler", None)
    record = await repo.get("j")
    assert record is not None
    assert (record.status, record.result_json, record.progress_json) == (
        "completed",
        '{"ok":true}',
        '{"done":1}',
    )
    assert (record.attempts_made, record.finished_at, record.locked_until) == (1, clock.now, None)


async def test_fail_retries_or_finishes_and_park_keeps_the_attempt(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    await repo.add(Q, "w", "{}", job_id="j", max_attempts=2)
    await repo.claim(Q, clock.now, lease_s=30)
    retry_at = clock.now + timedelta(seconds=4)
    assert await repo.fail("j", "TimeoutError", retry_at)
    record = await repo.get("j")
    assert record is not None
    assert (record.status, record.run_at, record.attempts_made) == ("waiting", retry_at, 1)
    assert record.failed_reason == "TimeoutError"

    clock.advance(4)
    await repo.claim(Q, clock.now, lease_s=30)
    parked_until = clock.now + timedelta(seconds=30)
    assert await repo.park("j", parked_until)
    record = await repo.get("j")
    assert record is not None
    assert (record.status, record.run_at, record.attempts_made) == ("waiting", parked_until, 1)

    clock.advance(30)
    await repo.claim(Q, clock.now, lease_s=30)
    assert await repo.fail("j", "ValueError: bad", None)
    record = await repo.get("j")
    assert record is not None
    assert (record.status, record.attempts_made, record.finished_at) == ("failed", 2, clock.now)


async def test_failed_jobs_are_listed_and_replayed(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    for job_id in ("a", "b"):
        await repo.add(Q, "w", "{}", job_id=job_id)
        await repo.claim(Q, clock.now, lease_s=30)
        await repo.fail(job_id, f"{job_id} broke", None)
        clock.advance(1)
    await repo.add("other-queue", "w", "{}", job_id="c")

    assert [r.id for r in await repo.list_failed(Q)] == ["b", "a"]
    assert [r.id for r in await repo.list_failed(Q, limit=1)] == ["b"]
    assert await repo.retry_failed("a")
    assert not await repo.retry_failed("a")
    assert not await repo.retry_failed("c")
    record = await repo.get("a")
    assert record is not None
    assert (record.status, record.attempts_made, record.failed_reason) == ("waiting", 0, None)
    assert [r.id for r in await repo.claim(Q, clock.now, lease_s=30)] == ["a"]


async def test_concurrent_claimers_get_disjoint_jobs(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    for n in range(30):
        await repo.add(Q, "w", "{}", job_id=f"j{n}")
    claimed: list[str] = []
    # PostgreSQL may hand a claimer fewer rows than its limit (FOR UPDATE re-checks a row another
    # claimer just committed and drops it), so claim in rounds: what matters is that no job is
    # ever claimed twice and that every job is claimed in the end.
    for _ in range(10):
        batches = await asyncio.gather(*(repo.claim(Q, clock.now, 30, limit=5) for _ in range(10)))
        claimed += [record.id for batch in batches for record in batch]
        if len(claimed) >= 30:
            break
    assert len(claimed) == len(set(claimed))
    assert sorted(claimed) == sorted(f"j{n}" for n in range(30))


async def _finished(repo: JobRepo, clock: FakeClock, job_id: str, ok: bool = True) -> None:
    """A job of ``Q`` run to its end at ``clock.now``."""
    await repo.add(Q, "w", "{}", job_id=job_id)
    [claimed] = await repo.claim(Q, clock.now, lease_s=30)
    assert claimed.id == job_id
    assert await (repo.complete(job_id, "{}") if ok else repo.fail(job_id, "broke", None))


async def _ids(repo: JobRepo, *job_ids: str) -> list[str]:
    return [job_id for job_id in job_ids if await repo.get(job_id) is not None]


async def test_prune_drops_completed_jobs_past_their_age_or_count_and_nothing_else(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    start = clock.now
    for n in range(6):  # c0 … c5, finished 10 s apart
        await _finished(repo, clock, f"c{n}")
        clock.advance(10)
    await _finished(repo, clock, "dead", ok=False)
    await repo.add(Q, "w", "{}", job_id="running")
    await repo.claim(Q, clock.now, lease_s=30)
    await repo.add(Q, "w", "{}", job_id="waiting", run_at=clock.now + timedelta(hours=1))
    await repo.add("other-queue", "w", "{}", job_id="elsewhere")
    await repo.claim("other-queue", clock.now, lease_s=30)
    await repo.complete("elsewhere", "{}")

    # By age: finished before c2 did.
    assert await repo.prune_completed(Q, start + timedelta(seconds=20), keep=100, chunk=1) == 2
    # By count: the newest three stay, in chunks smaller than the work.
    assert await repo.prune_completed(Q, start, keep=3, chunk=1) == 1
    assert await _ids(repo, *(f"c{n}" for n in range(6))) == ["c3", "c4", "c5"]
    assert await repo.prune_completed(Q, start, keep=3) == 0  # nothing more to do
    # Failed (dead letters), running, waiting and other queues' jobs are never pruned.
    assert await _ids(repo, "dead", "running", "waiting", "elsewhere") == [
        "dead",
        "running",
        "waiting",
        "elsewhere",
    ]
    assert await repo.prune_completed(Q, clock.now + timedelta(days=1), keep=0) == 3


async def test_prune_by_count_keeps_jobs_finished_together(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """A worker records a batch's outcomes at one instant: ties at the cut stay."""
    repo = repo_for(sessions, clock)
    await _finished(repo, clock, "old")
    clock.advance(1)
    for job_id in ("a", "b", "c"):
        await repo.add(Q, "w", "{}", job_id=job_id)
    await repo.claim(Q, clock.now, lease_s=30, limit=3)
    assert await repo.record([(j, repo.completed("{}")) for j in ("a", "b", "c")]) == [True] * 3
    assert await repo.prune_completed(Q, clock.now - timedelta(days=1), keep=2) == 1
    assert await _ids(repo, "old", "a", "b", "c") == ["a", "b", "c"]


async def test_bad_prune_arguments_are_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    repo = repo_for(sessions, clock)
    for keep, chunk in ((-1, 10), (10, 0)):
        with pytest.raises(ValueError, match="keep must be"):
            await repo.prune_completed(Q, clock.now, keep=keep, chunk=chunk)


async def test_a_claim_reads_the_due_jobs_by_index_however_many_have_finished(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """The claim's plan, as the database means to run it against a long history: each half
    reads the (queue, status, run_at, id) index in order and the UPDATE finds its rows by id.
    Before, it read every job the queue ever ran and sorted them (27 ms at 20,000 jobs)."""
    repo = repo_for(sessions, clock)
    history = [
        job_values(Q, "w", "{}", f"done{n:05d}", clock.now, max_attempts=3, backoff_s=1.0)
        | {"status": "completed", "finished_at": clock.now}
        for n in range(3000)
    ]
    due = [
        job_values(Q, "w", "{}", f"due{n:03d}", clock.now, max_attempts=3, backoff_s=1.0)
        for n in range(40)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(JobRow), history)
        await conn.execute(insert(JobRow), due)
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE jobs"))

    executed: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().startswith("WITH"):
            executed.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        claimed = await repo.claim(Q, clock.now, lease_s=30, limit=10)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert [r.id for r in claimed] == [f"due{n:03d}" for n in range(10)]
    [(statement, params)] = executed
    async with engine.connect() as conn:
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        rows = (await conn.exec_driver_sql(explain + statement, params)).all()
    plan = "\n".join(str(row[-1]) for row in rows)
    if postgres:
        assert "Seq Scan" not in plan, plan
        assert "ix_jobs_queue_status_run_at" in plan, plan
    else:
        assert plan.count("INDEX ix_jobs_queue_status_run_at (queue=? AND status=?") == 2, plan
        assert "SEARCH jobs USING INDEX sqlite_autoindex_jobs_1 (id=?)" in plan, plan
        assert "SCAN jobs" not in plan, plan
