"""Driver-level inserts built from the models (store/driver_sql.py), on SQLite and PostgreSQL.

The inbox's group commit writes its rows through `driver_sql.insert` instead of SQLAlchemy's
execution, so every other reader (the ORM, the repositories, the queue) must find exactly the
row SQLAlchemy would have written: the same stored form of each value (UTC timestamps, which
SQLite keeps as text whose ordering the queries rely on), the models' defaults for missing
columns, NULL for missing nullable ones. Each test here writes through the driver (sqlite3 on
aiosqlite's thread, asyncpg's ``unnest`` form) and reads back through SQLAlchemy.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ghl_bridge.store import InboxRepo, driver_sql, sqlite_driver
from ghl_bridge.store.inbox_writer import job_values
from ghl_bridge.store.jobs import JobRepo
from ghl_bridge.store.models import JobRow, WebhookEvent

EVENTS: Table = WebhookEvent.__table__  # type: ignore[assignment]
JOBS: Table = JobRow.__table__  # type: ignore[assignment]
# A non-UTC offset with minutes, so a value stored without conversion cannot pass for UTC.
KOLKATA = timezone(timedelta(hours=5, minutes=30))
RECEIVED = datetime(2025, 6, 1, 17, 30, 0, 123456, tzinfo=KOLKATA)
RECEIVED_UTC = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _event_insert(engine: AsyncEngine) -> driver_sql.DriverInsert:
    """The inbox writer's statement: skip a known webhook id, return the new rows' ids."""
    return driver_sql.insert(
        EVENTS, engine.dialect, conflict=["webhook_id"], returning=["webhook_id", "id"]
    )


def _sqlite_insert(
    sql: str, params: Sequence[tuple[Any, ...]], db: sqlite3.Connection
) -> list[tuple[Any, ...]]:
    """On aiosqlite's thread: one execute per row, in one committed transaction."""
    cursor = db.cursor()
    try:
        returned = [tuple(r) for p in params for r in cursor.execute(sql, p).fetchall()]
        db.commit()
        return returned
    except BaseException:
        db.rollback()
        raise
    finally:
        cursor.close()


async def _execute(
    engine: AsyncEngine, insert: driver_sql.DriverInsert, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Run ``insert`` for ``rows`` on the engine's driver connection, as the inbox writer does;
    the rows RETURNING gave."""
    async with engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        if insert.dialect == "sqlite":
            params = [insert.params(row) for row in rows]

            def work(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
                return _sqlite_insert(insert.sql, params, db)

            return await sqlite_driver.run_on_thread(driver, work)
        async with driver.transaction():
            found = await driver.fetch(insert.sql, *insert.columns_of(rows))
        return [tuple(r) for r in found]


async def _stored(
    engine: AsyncEngine, table: str, key: str, values: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The rows as the driver hands them back (no SQLAlchemy type processing), by ``key``."""
    query = text(f"SELECT * FROM {table} WHERE {key} IN :keys").bindparams(
        bindparam("keys", expanding=True)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query, {"keys": list(values)})).mappings().all()
    return {row[key]: dict(row) for row in rows}


def _without(row: Mapping[str, Any], *columns: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in columns}


def _event_values(**overrides: Any) -> dict[str, Any]:
    """An inbox row leaving out every column that has a default or may be NULL."""
    values: dict[str, Any] = {
        "event_type": "ContactCreate",
        "location_id": "loc_1",
        "payload": '{"type":"ContactCreate","name":"Zoë \\"Z\\" Ünal"}',
        "signature_scheme": "ed25519",
        "received_at": RECEIVED,
    }
    values.update(overrides)
    return values


async def test_an_event_row_is_stored_exactly_as_sqlalchemy_stores_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The same values written by the driver and by the ORM end up byte-for-byte equal in the
    table, so no reader can tell which path wrote a row: this catches a value bypassing its
    type's bind processor (SQLite would keep the +05:30 offset in the text) or a default the
    driver fills differently from the model."""
    returned = await _execute(
        engine, _event_insert(engine), [_event_values(id="evt_driver", webhook_id="wh-driver")]
    )
    async with sessions.begin() as session:
        session.add(WebhookEvent(id="evt_orm", webhook_id="wh-orm", **_event_values()))

    assert returned == [("wh-driver", "evt_driver")]
    stored = await _stored(engine, "webhook_events", "webhook_id", ["wh-driver", "wh-orm"])
    assert _without(stored["wh-driver"], "id", "webhook_id") == _without(
        stored["wh-orm"], "id", "webhook_id"
    )


async def test_a_whole_second_is_stored_in_sqlalchemys_text_form(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """At a whole second sqlite3's own datetime adapter writes no fraction ('… 12:00:00')
    where SQLAlchemy writes '.000000', and the two texts order wrongly against each other;
    the driver path must write SQLAlchemy's form (the dialect's DATETIME processor)."""
    whole = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    await _execute(
        engine,
        _event_insert(engine),
        [_event_values(id="evt_driver", webhook_id="wh-driver", received_at=whole)],
    )
    async with sessions.begin() as session:
        session.add(
            WebhookEvent(id="evt_orm", webhook_id="wh-orm", **_event_values(received_at=whole))
        )

    stored = await _stored(engine, "webhook_events", "webhook_id", ["wh-driver", "wh-orm"])
    assert stored["wh-driver"]["received_at"] == stored["wh-orm"]["received_at"]


async def test_a_value_too_long_for_its_column_is_refused_not_cut(
    engine: AsyncEngine, database_url: str
) -> None:
    """PostgreSQL enforces VARCHAR widths: an explicit cast to ``varchar(128)[]`` would cut a
    longer webhook id silently (and two ids sharing 128 characters would collapse into one
    row); the arrays go as ``text[]`` so the column refuses it, as SQLAlchemy's insert does.
    (SQLite does not enforce widths; there the value is kept whole.)"""
    long_id = "w" * 128 + "A"
    insert = _event_insert(engine)
    if not database_url.startswith("postgresql"):
        assert await _execute(engine, insert, [_event_values(id="evt_1", webhook_id=long_id)]) == [
            (long_id, "evt_1")
        ]
        return
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await _execute(engine, insert, [_event_values(id="evt_1", webhook_id=long_id)])
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await _execute(
            engine, driver_sql.insert(JOBS, engine.dialect), [{"queue": "q" * 65, "name": "n"}]
        )
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(EVENTS)) == 0


async def test_an_event_row_reads_back_with_utc_time_defaults_and_nulls(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Read through the repository, the driver's row has the instant given (in UTC, aware),
    the model's defaults for the columns left out, and NULL for the nullable ones."""
    await _execute(engine, _event_insert(engine), [_event_values(id="evt_1", webhook_id="wh-1")])

    event = await InboxRepo(sessions).get("evt_1")

    assert event is not None
    assert event.received_at == RECEIVED_UTC
    assert event.received_at.utcoffset() == timedelta(0)
    assert (event.status, event.retry_count, event.replays) == ("pending", 0, 0)
    assert (event.tenant_id, event.company_id, event.last_error) == (None, None, None)
    assert (event.processed_at, event.dead_at) == (None, None)
    assert event.payload == _event_values()["payload"]


async def test_callable_defaults_are_evaluated_per_row(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Ids and timestamps left out come from the models' callables, anew for each row: a value
    computed once per statement would give every row the same primary key, and the jobs insert
    (any conflict skipped) would then silently keep only the first."""
    before = datetime.now(UTC)
    insert = driver_sql.insert(JOBS, engine.dialect, returning=["id"])
    returned = await _execute(engine, insert, [{"queue": "q", "name": f"n{n}"} for n in range(3)])
    after = datetime.now(UTC)

    ids = [row[0] for row in returned]
    assert len(set(ids)) == 3
    assert all(job_id.startswith("job_") for job_id in ids)
    repo = JobRepo(sessions)
    for job_id in ids:
        job = await repo.get(job_id)
        assert job is not None
        assert (job.status, job.attempts_made, job.max_attempts) == ("waiting", 0, 3)
        assert (job.data_json, job.dedupe_key, job.locked_until) == ("{}", None, None)
        assert (job.progress_json, job.result_json, job.failed_reason) == (None, None, None)
        assert job.finished_at is None
        for stamp in (job.run_at, job.created_at, job.updated_at):
            assert before <= stamp <= after
            assert stamp.utcoffset() == timedelta(0)


async def test_a_job_row_reads_back_as_the_orm_writes_it(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """`job_values` (the rows the receiver writes with its events), leased and with a non-UTC
    clock, written by the driver and by the ORM: `JobRepo` reads the same job from both, and
    the stored forms are equal."""
    now = datetime(2031, 3, 4, 10, 36, 7, 654321, tzinfo=KOLKATA)
    leased = now + timedelta(seconds=120)

    def values(job_id: str) -> dict[str, Any]:
        return job_values(
            "q",
            "webhook.process",
            '{"eventId":"evt_1"}',
            job_id,
            now,
            max_attempts=7,
            backoff_s=2.5,
            leased_until=leased,
        )

    await _execute(engine, driver_sql.insert(JOBS, engine.dialect), [values("job-driver")])
    async with sessions.begin() as session:
        session.add(JobRow(**values("job-orm")))

    repo = JobRepo(sessions)
    by_driver, by_orm = await repo.get("job-driver"), await repo.get("job-orm")
    assert by_driver is not None and by_orm is not None
    assert dataclasses.replace(by_driver, id="job-orm", dedupe_key="job-orm") == by_orm
    assert (by_driver.status, by_driver.max_attempts, by_driver.backoff_s) == ("active", 7, 2.5)
    assert by_driver.run_at == now and by_driver.run_at.utcoffset() == timedelta(0)
    assert by_driver.locked_until == leased
    stored = await _stored(engine, "jobs", "id", ["job-driver", "job-orm"])
    assert _without(stored["job-driver"], "id", "dedupe_key") == _without(
        stored["job-orm"], "id", "dedupe_key"
    )


async def test_a_known_webhook_id_is_skipped_and_returns_nothing(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """ON CONFLICT (webhook_id) DO NOTHING: the stored row stays as it was, RETURNING names
    only the new row (the writer tells created from duplicate by that), and the new row beside
    it in the same statement is stored."""
    inbox = InboxRepo(sessions)
    known_id, _ = await inbox.record(
        "wh-known", company_id=None, tenant_id=None, **_event_values(payload="first")
    )

    returned = await _execute(
        engine,
        _event_insert(engine),
        [
            _event_values(id="evt_again", webhook_id="wh-known", payload="second"),
            _event_values(id="evt_new", webhook_id="wh-new"),
        ],
    )

    assert returned == [("wh-new", "evt_new")]
    known = await inbox.get(known_id)
    assert known is not None and known.payload == "first"
    assert await inbox.get("evt_again") is None
    assert await inbox.get("evt_new") is not None


async def test_the_conflict_target_limits_what_is_skipped(engine: AsyncEngine) -> None:
    """Only a conflict on the named columns is skipped: a new webhook id whose row id is
    already taken is an error, not a silently dropped delivery."""
    await _execute(engine, _event_insert(engine), [_event_values(id="evt_1", webhook_id="wh-1")])

    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await _execute(
            engine, _event_insert(engine), [_event_values(id="evt_1", webhook_id="wh-2")]
        )

    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(EVENTS))
    assert count == 1


async def test_a_missing_required_column_is_refused_before_the_database(
    engine: AsyncEngine,
) -> None:
    """A column with no default that may not be NULL raises `MissingValue` naming it, for one
    row (SQLite's parameters) and for the column arrays (PostgreSQL's)."""
    events, jobs = _event_insert(engine), driver_sql.insert(JOBS, engine.dialect)
    row = _event_values(webhook_id="wh-1")
    del row["payload"]

    with pytest.raises(driver_sql.MissingValue, match=r"webhook_events\.payload"):
        events.params(row)
    with pytest.raises(driver_sql.MissingValue, match=r"webhook_events\.payload"):
        events.columns_of([_event_values(webhook_id="wh-0"), row])
    with pytest.raises(driver_sql.MissingValue, match=r"jobs\.queue"):
        jobs.params({"name": "n"})


async def test_a_naive_datetime_is_refused(engine: AsyncEngine) -> None:
    """The UTC column's bind processor runs on the driver path too: a naive timestamp (local
    time taken for UTC) raises instead of being stored as if it were UTC."""
    insert = _event_insert(engine)
    row = _event_values(webhook_id="wh-1", received_at=datetime(2025, 6, 1, 12, 0))

    with pytest.raises(ValueError, match="naive datetime"):
        insert.params(row)
    with pytest.raises(ValueError, match="naive datetime"):
        insert.columns_of([row])


def test_an_unsupported_dialect_is_refused() -> None:
    """The statements exist in SQLite's and PostgreSQL's forms only; any other database would
    get SQL it may not run, so building one fails at once."""
    with pytest.raises(ValueError, match="unsupported database dialect 'mysql'"):
        driver_sql.insert(EVENTS, mysql.dialect())


async def test_rows_sharing_a_time_and_rows_with_their_own_each_store_theirs(
    engine: AsyncEngine,
) -> None:
    """A batch's rows mostly share one datetime, whose stored form is worked out once; rows
    with times of their own, equal-but-not-identical ones and ones in between must each keep
    theirs."""
    shared = RECEIVED
    times = [
        shared,
        shared,
        RECEIVED + timedelta(microseconds=1),
        shared,
        RECEIVED_UTC,  # the same instant as `shared`, another object and zone
        RECEIVED - timedelta(days=400),
        shared,
    ]
    rows = [
        _event_values(id=f"evt_t{n}", webhook_id=f"wh-t{n}", received_at=at)
        for n, at in enumerate(times)
    ]
    await _execute(engine, _event_insert(engine), rows)
    events = InboxRepo(async_sessionmaker(engine, expire_on_commit=False))
    for n, at in enumerate(times):
        event = await events.get(f"evt_t{n}")
        assert event is not None and event.received_at == at.astimezone(UTC), n
