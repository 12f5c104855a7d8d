"""The one-trip SQLite cursor under SQLAlchemy (SQLite only): engines from `make_engine` use it,
a statement is one hand-off to aiosqlite's thread, and results, row counts, errors and
transactions behave as with the stock adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ghl_bridge.store import make_engine, sqlite_driver

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), unique=True, nullable=False),
    Column("score", Integer, nullable=False, default=0),
)


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    built = make_engine(sqlite_url)
    async with built.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield built
    await built.dispose()


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.scalar(select(func.count()).select_from(items))) or 0)


async def test_make_engine_installs_the_one_trip_driver(engine: AsyncEngine) -> None:
    assert isinstance(engine.sync_engine.dialect.loaded_dbapi, sqlite_driver._DBAPI)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), sqlite_driver.OneTripCursor)


def test_without_aiosqlite_internals_the_stock_adapter_is_kept(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aiosqlite.Connection, "_execute", None)
    assert sqlite_driver.module() is None
    engine = make_engine(sqlite_url)
    dbapi = engine.sync_engine.dialect.loaded_dbapi
    assert isinstance(dbapi, AsyncAdapt_aiosqlite_dbapi)
    assert not isinstance(dbapi, sqlite_driver._DBAPI)


async def _trips(conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every function aiosqlite runs on its thread for this connection."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert isinstance(driver, aiosqlite.Connection)
    trips: list[Any] = []
    original = driver._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(driver, "_execute", counted)
    return trips


async def test_a_statement_is_one_trip_to_the_driver_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(items), [{"name": f"n{i}", "score": i} for i in range(50)])
        trips = await _trips(conn, monkeypatch)
        rows = (await conn.execute(select(items.c.name).order_by(items.c.id))).all()
        assert len(rows) == 50
        assert len(trips) == 1
        await conn.execute(update(items).where(items.c.score < 10).values(score=0))
        assert len(trips) == 2


async def test_insert_returning_gives_the_new_rows(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        single = (
            await conn.execute(insert(items).values(name="one", score=1).returning(items.c.id))
        ).scalar_one()
        many = (
            await conn.execute(
                insert(items).returning(items.c.id, items.c.name, sort_by_parameter_order=True),
                [{"name": "two", "score": 2}, {"name": "three", "score": 3}],
            )
        ).all()
    assert [name for _, name in many] == ["two", "three"]
    assert [row_id for row_id, _ in many] == [single + 1, single + 2]
    async with engine.connect() as conn:
        updated = (
            await conn.execute(
                update(items)
                .where(items.c.score >= 2)
                .values(score=items.c.score * 10)
                .returning(items.c.name, items.c.score)
            )
        ).all()
        await conn.rollback()
    assert sorted(updated) == [("three", 30), ("two", 20)]


async def test_executemany_reports_the_rows_it_changed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        inserted = await conn.execute(insert(items), [{"name": f"n{i}"} for i in range(5)])
        assert inserted.rowcount == 5
        changed = await conn.execute(
            update(items).where(items.c.name == bindparam("key")).values(score=bindparam("new")),
            [{"key": "n1", "new": 10}, {"key": "n3", "new": 30}, {"key": "absent", "new": 0}],
        )
        assert changed.rowcount == 2
        single = await conn.execute(update(items).where(items.c.name == "n4").values(score=4))
        assert single.rowcount == 1
    async with engine.connect() as conn:
        scores = dict((await conn.execute(select(items.c.name, items.c.score))).all())
    assert scores == {"n0": 0, "n1": 10, "n2": 0, "n3": 30, "n4": 4}


async def test_an_insert_without_returning_reports_its_rowid(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(insert(items).values(name="a"))
        second = await conn.execute(insert(items).values(name="b"))
    assert first.lastrowid is not None
    assert second.lastrowid == first.lastrowid + 1
    assert second.inserted_primary_key == (second.lastrowid,)
    async with engine.connect() as conn:
        name = await conn.scalar(select(items.c.name).where(items.c.id == second.lastrowid))
    assert name == "b"


async def test_a_select_returns_every_row_however_it_is_fetched(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(items), [{"name": f"n{i:04}", "score": i} for i in range(2000)])
    query = select(items.c.name, items.c.score).order_by(items.c.score)
    async with engine.connect() as conn:
        everything = (await conn.execute(query)).all()
        result = await conn.execute(query)
        head = result.fetchmany(7)
        one = result.fetchone()
        rest = result.fetchall()
        streamed = [row async for row in await conn.stream(query)]
        empty = (await conn.execute(query.where(items.c.score < 0))).all()
    assert len(everything) == 2000
    assert everything[0] == ("n0000", 0) and everything[-1] == ("n1999", 1999)
    assert [*head, one, *rest] == everything
    assert streamed == everything
    assert empty == []


async def test_an_integrity_error_surfaces_and_rolls_the_transaction_back(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(items).values(name="taken"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(items).values(name="fresh"))
            await conn.execute(insert(items).values(name="taken"))
    async with engine.connect() as conn:
        names = (await conn.scalars(select(items.c.name))).all()
    assert names == ["taken"]
    async with engine.begin() as conn:  # the connection is usable again
        await conn.execute(insert(items).values(name="after"))
    assert await _count(engine) == 2


async def test_a_rollback_discards_the_writes_and_a_commit_keeps_them(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        await conn.execute(insert(items), [{"name": "x"}, {"name": "y"}])
        await conn.execute(update(items).values(score=5))
        assert await conn.scalar(select(func.sum(items.c.score))) == 10  # seen inside
        await conn.rollback()
    assert await _count(engine) == 0
    async with engine.connect() as conn:
        await conn.execute(insert(items).values(name="kept"))
        await conn.commit()
    assert await _count(engine) == 1
