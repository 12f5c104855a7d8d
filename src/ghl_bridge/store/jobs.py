"""The job-row repository behind the in-process queue (embedded mode, DESIGN §2).

Every state change is one short transaction (a worker's batch of outcomes shares one, see
`JobRepo.record`), and claiming is one atomic UPDATE, so any number of workers (tasks or
processes) can share the table:
- PostgreSQL: the due rows are picked in a CTE with `FOR UPDATE SKIP LOCKED`, so concurrent
  claimers skip each other's rows instead of queueing behind them or taking the same one.
- SQLite: there is a single writer, so `UPDATE … RETURNING` over a subselect is atomic on its
  own (the `FOR UPDATE` clause is not rendered for SQLite).
A claim sets a lease (`locked_until`). A worker that crashes leaves its jobs `active`; once the
lease has passed they are claimable again, and that lost attempt counts as used, so a job that
kills its worker every time ends up failed instead of looping forever.

The per-job retry backoff has no column of its own, so it travels with the payload in `data`
as `{"payload": …, "backoff_s": …}`; `JobRecord.data_json` is always the bare payload.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    CTE,
    ColumnElement,
    Update,
    and_,
    bindparam,
    case,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.models import JobRow, new_id

_ENVELOPE_KEYS: Final = frozenset({"payload", "backoff_s"})
# The column values one state transition of an active job sets (see `JobRepo.record`).
JobChange = dict[str, Any]
# The one SQL expression a change carries. One shared object, so `record` can tell changes of
# the same shape apart from others by identity (and batch them into one statement).
_ONE_MORE_ATTEMPT: Final = JobRow.attempts_made + 1
DEFAULT_BACKOFF_S: Final = 1.0


@dataclasses.dataclass(frozen=True, slots=True)
class JobRecord:
    """A job row as plain data, detached from any session."""

    id: str
    queue: str
    name: str
    dedupe_key: str | None
    data_json: str
    backoff_s: float
    status: str
    attempts_made: int
    max_attempts: int
    run_at: datetime
    locked_until: datetime | None
    progress_json: str | None
    result_json: str | None
    failed_reason: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


def _wrap(data_json: str, backoff_s: float) -> str:
    return f'{{"payload":{data_json},"backoff_s":{json.dumps(float(backoff_s))}}}'


_HEAD: Final = '{"payload":'
_TAIL: Final = ',"backoff_s":'


def _unwrap(stored: str) -> tuple[str, float]:
    """Split a stored `data` column into (payload JSON, backoff); tolerate a bare payload.

    What `_wrap` wrote is split as text (the payload is kept as written, not parsed and
    dumped again: two JSON passes per claimed job); anything else is parsed."""
    if stored.startswith(_HEAD) and stored.endswith("}"):
        cut = stored.rfind(_TAIL)
        if cut > len(_HEAD):
            try:
                return stored[len(_HEAD) : cut], float(stored[cut + len(_TAIL) : -1])
            except ValueError:
                pass
    decoded = json.loads(stored)
    if isinstance(decoded, dict) and decoded.keys() == _ENVELOPE_KEYS:
        payload = json.dumps(decoded["payload"], separators=(",", ":"), ensure_ascii=False)
        return payload, float(decoded["backoff_s"])
    return stored, DEFAULT_BACKOFF_S


def record_of(values: Mapping[str, Any]) -> JobRecord:
    """The `JobRecord` of a row about to be inserted, from its column values (columns it
    leaves out are NULL)."""
    row = {column.name: None for column in _COLUMNS} | dict(values)
    return _record(row)


def _record(row: Mapping[Any, Any]) -> JobRecord:
    data_json, backoff_s = _unwrap(row["data"])
    return JobRecord(
        id=row["id"],
        queue=row["queue"],
        name=row["name"],
        dedupe_key=row["dedupe_key"],
        data_json=data_json,
        backoff_s=backoff_s,
        status=row["status"],
        attempts_made=row["attempts_made"],
        max_attempts=row["max_attempts"],
        run_at=row["run_at"],
        locked_until=row["locked_until"],
        progress_json=row["progress"],
        result_json=row["result"],
        failed_reason=row["failed_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


_COLUMNS: Final = tuple(JobRow.__table__.c)


class JobRepo(Repository):
    """Reads and state transitions of `jobs` rows; each method is its own transaction."""

    async def add(
        self,
        queue: str,
        name: str,
        data_json: str,
        *,
        job_id: str | None = None,
        dedupe_key: str | None = None,
        run_at: datetime | None = None,
        max_attempts: int = 5,
        backoff_s: float = DEFAULT_BACKOFF_S,
    ) -> tuple[str, bool]:
        """Insert a waiting job; return (id, created).

        `INSERT … ON CONFLICT DO NOTHING` (on any unique column: the id or `dedupe_key`) makes a
        repeated add a no-op that returns the existing job's id, even under concurrent adds.
        """
        now = self._clock()
        values = {
            "id": job_id or new_id("job_"),
            "queue": queue,
            "name": name,
            "dedupe_key": dedupe_key,
            "data": _wrap(data_json, backoff_s),
            "status": "waiting",
            "attempts_made": 0,
            "max_attempts": max_attempts,
            "run_at": run_at or now,
            "created_at": now,
            "updated_at": now,
        }
        async with self._sessions.begin() as session:
            insert = postgresql.insert if _is_postgres(session) else sqlite.insert
            stmt = insert(JobRow).values(values).on_conflict_do_nothing().returning(JobRow.id)
            created = (await session.execute(stmt)).scalar_one_or_none()
            if created is not None:
                return created, True
            clash = JobRow.id == values["id"]
            if dedupe_key is not None:
                clash = or_(clash, JobRow.dedupe_key == dedupe_key)
            existing = (await session.execute(select(JobRow.id).where(clash).limit(1))).scalar_one()
            return existing, False

    async def claim(
        self, queue: str, now: datetime, lease_s: float, limit: int = 1
    ) -> list[JobRecord]:
        """Atomically take up to `limit` due jobs of `queue` and lease them until now+lease_s.

        Due means `waiting` with `run_at <= now`, or `active` with an expired lease (its worker
        died). The predicate is repeated on the UPDATE itself, so a row that changed after it
        was picked is left alone.
        """
        # Two index-ordered reads ((queue, status, run_at, id)) instead of one OR: the waiting
        # rows that are due, oldest first, and the active ones whose lease ran out (at most a
        # few per worker). Finished jobs, however many, are never read.
        waiting = _pick(
            "waiting", and_(JobRow.status == "waiting", JobRow.run_at <= now), queue, limit
        )
        expired = _pick(
            "expired", and_(JobRow.status == "active", JobRow.locked_until < now), queue, limit
        )
        either = union_all(
            select(waiting.c.id, waiting.c.run_at), select(expired.c.id, expired.c.run_at)
        ).subquery("due")
        picked = select(either.c.id).order_by(either.c.run_at, either.c.id).limit(limit)
        stmt = (
            update(JobRow)
            .where(JobRow.id.in_(picked), _due(now))
            .values(
                status="active",
                locked_until=now + timedelta(seconds=lease_s),
                attempts_made=case(
                    (JobRow.status == "active", JobRow.attempts_made + 1),
                    else_=JobRow.attempts_made,
                ),
                updated_at=now,
            )
            .returning(*_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            rows = (await session.execute(stmt)).mappings().all()
        return sorted((_record(row) for row in rows), key=lambda r: (r.run_at, r.id))

    async def extend_lease(self, job_id: str, locked_until: datetime) -> bool:
        """Push an active job's lease forward while its handler is still running."""
        return job_id in await self.extend_leases([job_id], locked_until)

    async def extend_leases(self, job_ids: Sequence[str], locked_until: datetime) -> set[str]:
        """`extend_lease` for many jobs in one statement; returns the ids still active."""
        if not job_ids:
            return set()
        stmt = (
            update(JobRow)
            .where(JobRow.id.in_(set(job_ids)), JobRow.status == "active")
            .values(locked_until=locked_until, updated_at=self._clock())
            .returning(JobRow.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            return set((await session.scalars(stmt)).all())

    async def complete(self, job_id: str, result_json: str) -> bool:
        """Record success. Applies only to an active job (a straggler cannot undo an outcome)."""
        return await self._transition(job_id, **self.completed(result_json))

    async def fail(
        self, job_id: str, reason: str, retry_at: datetime | None, *, count_attempt: bool = True
    ) -> bool:
        """Record a failed attempt: back to waiting until `retry_at`, or failed for good.

        `count_attempt=False` is for an attempt already counted when its lease was reclaimed.
        """
        return await self._transition(
            job_id, **self.failed(reason, retry_at, count_attempt=count_attempt)
        )

    async def park(self, job_id: str, run_at: datetime) -> bool:
        """Put an active job back to waiting until `run_at` without using an attempt."""
        return await self._transition(job_id, **self.parked(run_at))

    def completed(self, result_json: str) -> JobChange:
        """The change `complete` makes, for `record` to apply with others."""
        return {
            "status": "completed",
            "result": result_json,
            "attempts_made": _ONE_MORE_ATTEMPT,
            "locked_until": None,
            "finished_at": self._clock(),
        }

    def failed(
        self, reason: str, retry_at: datetime | None, *, count_attempt: bool = True
    ) -> JobChange:
        """The change `fail` makes, for `record` to apply with others."""
        change: JobChange = {"failed_reason": reason, "locked_until": None}
        if count_attempt:
            change["attempts_made"] = _ONE_MORE_ATTEMPT
        if retry_at is not None:
            return {**change, "status": "waiting", "run_at": retry_at}
        return {**change, "status": "failed", "finished_at": self._clock()}

    @staticmethod
    def parked(run_at: datetime) -> JobChange:
        """The change `park` makes, for `record` to apply with others."""
        return {"status": "waiting", "run_at": run_at, "locked_until": None}

    async def record(self, changes: Sequence[tuple[str, JobChange]]) -> list[bool]:
        """Apply several jobs' outcomes in one transaction: one commit for a batch, not one
        per job. Each applies only to a job that is still active, as in `complete`; the
        answer says, per change, whether it did. All or nothing: on an error none applied.

        Two cached statements whatever the batch: one marks the batch's still-active jobs
        (and takes their locks, the write lock on SQLite) and returns their ids, then one
        UPDATE per shape of change runs with a parameter set per job. A statement per job
        cost four driver calls each on aiosqlite, and a VALUES list cannot be cached (it was
        compiled anew for every batch, ~1.4 ms)."""
        if not changes:
            return []
        now = self._clock()
        async with self._sessions.begin() as session:
            conn = await session.connection()
            ids = [i for i, _ in changes]
            live = set((await conn.execute(_LIVE, {"ids": ids, "now": now})).scalars())
            # Only a job's first change applies, as if applied one by one: after it the job
            # is no longer active (a job reclaimed by its own worker can have two outcomes).
            applied: list[bool] = []
            groups: dict[tuple[tuple[str, int | None], ...], list[tuple[str, JobChange]]] = {}
            for job_id, change in changes:
                applied.append(job_id in live)
                if job_id in live:
                    live.discard(job_id)
                    stamped = {"updated_at": now, **change}
                    groups.setdefault(_shape(stamped), []).append((job_id, stamped))
            for shape, batch in groups.items():
                stmt, params = _apply_many(shape, batch)
                await conn.execute(stmt, params)
        return applied

    async def set_progress(self, job_id: str, progress_json: str) -> bool:
        """Store the handler's latest progress report."""
        return await self._transition(job_id, progress=progress_json)

    async def get(self, job_id: str) -> JobRecord | None:
        async with self._sessions() as session:
            row = (
                (await session.execute(select(*_COLUMNS).where(JobRow.id == job_id)))
                .mappings()
                .one_or_none()
            )
        return None if row is None else _record(row)

    async def list_failed(self, queue: str, limit: int = 100) -> list[JobRecord]:
        """Failed jobs of `queue`, most recently failed first (the dead-letter view)."""
        stmt = (
            select(*_COLUMNS)
            .where(JobRow.queue == queue, JobRow.status == "failed")
            .order_by(JobRow.finished_at.desc(), JobRow.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).mappings().all()
        return [_record(row) for row in rows]

    async def retry_failed(self, job_id: str) -> bool:
        """Replay a failed job now with a fresh set of attempts; False if it is not failed."""
        now = self._clock()
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == "failed")
            .values(
                status="waiting",
                run_at=now,
                attempts_made=0,
                failed_reason=None,
                finished_at=None,
                locked_until=None,
                updated_at=now,
            )
            .returning(JobRow.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(stmt)).scalar_one_or_none() is not None

    async def prune_completed(
        self, queue: str, finished_before: datetime, keep: int, *, chunk: int = 2000
    ) -> int:
        """Delete `queue`'s completed jobs finished before `finished_before`, and those past
        the `keep` most recently finished; returns how many went. A chunk per transaction,
        so the one SQLite writer is never held for long. Failed jobs are never touched."""
        if keep < 0 or chunk < 1:
            raise ValueError("keep must be >= 0 and chunk >= 1")  # checked before any read
        completed = and_(JobRow.queue == queue, JobRow.status == "completed")
        if keep:  # what finished before the keep-th newest goes too; its ties stay (a
            # worker records a batch's outcomes at one instant)
            kept_last = (
                select(JobRow.finished_at)
                .where(completed)
                .order_by(JobRow.finished_at.desc())
                .offset(keep - 1)
                .limit(1)
            )
            async with self._sessions() as session:
                cutoff = (await session.execute(kept_last)).scalar_one_or_none()
            if cutoff is not None:
                finished_before = max(finished_before, cutoff)
        else:
            finished_before = datetime.max.replace(tzinfo=UTC)
        doomed = (
            select(JobRow.id)
            .where(completed, JobRow.finished_at < finished_before)
            .order_by(JobRow.finished_at)
        )
        return await self._delete_in_chunks(JobRow, doomed, chunk)

    async def _transition(self, job_id: str, **values: Any) -> bool:
        """Update an `active` job; False when it is not (finished, reclaimed or unknown)."""
        stmt = _transition_stmt(job_id, {"updated_at": self._clock(), **values})
        async with self._sessions.begin() as session:
            return (await session.execute(stmt)).scalar_one_or_none() is not None


def _transition_stmt(job_id: str, values: JobChange) -> Update:
    return (
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == "active")
        .values(**values)
        .returning(JobRow.id)
        .execution_options(synchronize_session=False)
    )


def _shape(change: JobChange) -> tuple[tuple[str, int | None], ...]:
    """Changes of one shape set the same columns, each to a value or to the same expression."""
    return tuple(
        (key, id(value) if isinstance(value, ColumnElement) else None)
        for key, value in sorted(change.items())
    )


def _apply_many(
    shape: tuple[tuple[str, int | None], ...], batch: Sequence[tuple[str, JobChange]]
) -> tuple[Update, list[dict[str, Any]]]:
    """One UPDATE for changes of one shape (`_shape`), with a parameter set per job: the
    statement depends only on the shape, so it is built once per shape and kept (building it
    and its cache key anew for every batch was a fifth of `record`'s time)."""
    first = batch[0][1]
    literal = [k for k, v in first.items() if not isinstance(v, ColumnElement)]
    cached = _BY_SHAPE.get(shape)
    if cached is None:
        expressions = {k: v for k, v in first.items() if isinstance(v, ColumnElement)}
        settings: dict[str, Any] = {k: bindparam(f"v_{k}") for k in literal}
        stmt = (
            update(JobRow)
            .where(JobRow.id == bindparam("job_id"), JobRow.status == "active")
            .values(**settings, **expressions)
            .execution_options(synchronize_session=False)
        )
        if len(_BY_SHAPE) >= 64:  # shapes are few; an expression built per call is not kept
            _BY_SHAPE.pop(next(iter(_BY_SHAPE)))
        # The entry holds the expressions themselves: while it lives, no other object can
        # take their ids, which the shape is made of.
        cached = _BY_SHAPE[shape] = (stmt, tuple(expressions.values()))
    stmt = cached[0]
    params = [
        {"job_id": job_id, **{f"v_{k}": change[k] for k in literal}} for job_id, change in batch
    ]
    return stmt, params


# `record`'s statements, built once: the still-active jobs of a batch, stamped and returned,
# and one UPDATE per shape of change (`_apply_many`).
_LIVE: Final = (
    update(JobRow)
    .where(JobRow.id.in_(bindparam("ids", expanding=True)), JobRow.status == "active")
    .values(updated_at=bindparam("now"))
    .returning(JobRow.id)
    .execution_options(synchronize_session=False)
)
_BY_SHAPE: dict[tuple[tuple[str, int | None], ...], tuple[Update, tuple[Any, ...]]] = {}


def _pick(name: str, which: ColumnElement[bool], queue: str, limit: int) -> CTE:
    """Up to ``limit`` jobs of ``queue`` matching ``which`` in claim order, locked (skipping
    rows another claimer holds) on PostgreSQL."""
    return (
        select(JobRow.id, JobRow.run_at)
        .where(JobRow.queue == queue, which)
        .order_by(JobRow.run_at, JobRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte(name)
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _due(now: datetime) -> ColumnElement[bool]:
    """A picked row is still due (it may have changed since). No ``queue`` term: a row's queue
    never changes, and with one the planner reads the queue's index instead of the ids."""
    return or_(
        and_(JobRow.status == "waiting", JobRow.run_at <= now),
        and_(JobRow.status == "active", JobRow.locked_until < now),
    )


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
