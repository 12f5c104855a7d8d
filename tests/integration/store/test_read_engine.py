"""SQLite's reader connection (`make_read_engine`): none for PostgreSQL or an in-memory database;
for a database file, a connection that refuses writes (``query_only``) yet sees every commit of
the main engine at once (WAL), which the event processor loads events through and the runtime
wires up and disposes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tests.support.statements import statements

from ghl_bridge.config import Settings
from ghl_bridge.events.processor import EventProcessor
from ghl_bridge.jobs.port import Job
from ghl_bridge.runtime import Runtime
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_read_engine, make_sessionmaker
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.models import WebhookEvent, new_id
from ghl_bridge.vault import KeyRing


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:5432/ghl_bridge_helper2",
        "postgresql://postgres@127.0.0.1:5432/ghl_bridge_helper2",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite:///file:shared?mode=memory&cache=shared&uri=true",
    ],
)
def test_no_reader_for_postgresql_or_an_in_memory_database(url: str) -> None:
    assert make_read_engine(url) is None


@pytest.fixture
async def engines(sqlite_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """(main, reader) on one SQLite file holding an ``items`` table."""
    main = make_engine(sqlite_url)
    reader = make_read_engine(sqlite_url)
    assert reader is not None
    async with main.begin() as conn:
        await conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"))
    try:
        yield main, reader
    finally:
        await reader.dispose()
        await main.dispose()


async def _names(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(text("SELECT name FROM items ORDER BY id"))).scalars())


async def _add(main: AsyncEngine, name: str) -> None:
    async with main.begin() as conn:
        await conn.execute(text("INSERT INTO items (name) VALUES (:name)"), {"name": name})


async def test_the_reader_is_a_query_only_wal_connection_to_the_same_file(
    engines: tuple[AsyncEngine, AsyncEngine], sqlite_url: str
) -> None:
    main, reader = engines
    assert reader is not main
    assert reader.url.database == main.url.database
    assert reader.dialect.name == "sqlite"
    async with reader.connect() as conn:
        assert await conn.scalar(text("PRAGMA query_only")) == 1
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
    async with main.connect() as conn:
        assert await conn.scalar(text("PRAGMA query_only")) == 0  # only the reader is read-only


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO items (name) VALUES ('nope')",
        "UPDATE items SET name = 'nope'",
        "DELETE FROM items",
        "CREATE TABLE other (id INTEGER)",
    ],
)
async def test_a_write_through_the_reader_is_an_error(
    engines: tuple[AsyncEngine, AsyncEngine], statement: str
) -> None:
    main, reader = engines
    await _add(main, "kept")
    async with reader.connect() as conn:
        with pytest.raises(OperationalError, match="readonly"):
            await conn.execute(text(statement))
        await conn.rollback()
    async with main.connect() as conn:
        assert await _names(conn) == ["kept"]
        tables = await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert "other" not in set(tables.scalars())
    await _add(main, "still writable")  # the main engine is unaffected


async def test_the_reader_sees_a_commit_at_once_on_its_existing_connection(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    main, reader = engines
    async with reader.connect() as conn:
        assert await _names(conn) == []
        first = (await conn.get_raw_connection()).driver_connection

    await _add(main, "one")  # committed while the reader's pooled connection exists

    async with reader.connect() as conn:
        assert (await conn.get_raw_connection()).driver_connection is first  # the same one
        assert await _names(conn) == ["one"]

    # A reader connection held open across a commit sees it too (no snapshot kept between
    # statements).
    async with reader.connect() as conn:
        assert await _names(conn) == ["one"]
        await _add(main, "two")
        assert await _names(conn) == ["one", "two"]


async def test_the_reader_does_not_wait_for_an_open_write_transaction(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    main, reader = engines
    await _add(main, "committed")
    async with main.begin() as writer:
        await writer.execute(text("INSERT INTO items (name) VALUES ('uncommitted')"))
        async with reader.connect() as conn:
            # Not the busy handler's 5 s: WAL readers read the last commit beside the writer.
            assert await asyncio.wait_for(_names(conn), 2.0) == ["committed"]
    async with reader.connect() as conn:
        assert await _names(conn) == ["committed", "uncommitted"]


# --- the event processor's loads -----------------------------------------------------------


def _selects(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if s.startswith("select") and f"from {table}" in s]


async def _ignore(_: Any) -> None:
    return None


def _job(event_id: str) -> Job:
    return Job(
        id=f"wh-{event_id}",
        name="webhook.process",
        data={"eventId": event_id},
        attempt=1,
        report=_ignore,
        max_attempts=3,
    )


async def _record_events(inbox: InboxRepo, count: int, tenant_id: str | None = None) -> list[str]:
    ids = []
    for _ in range(count):
        event_id, _created = await inbox.record(
            new_id("wh_"),
            event_type="Tick",
            location_id="loc1",
            company_id=None,
            tenant_id=tenant_id,
            payload=json.dumps({"type": "Tick", "locationId": "loc1"}),
            signature_scheme="ed25519",
            received_at=datetime.now(UTC),
        )
        ids.append(event_id)
    return ids


async def test_the_processor_loads_just_committed_events_through_the_reader(
    sqlite_url: str,
) -> None:
    await upgrade(sqlite_url)
    main, reader = make_engine(sqlite_url), make_read_engine(sqlite_url)
    assert reader is not None
    seen_events: list[str] = []

    async def sink(stored: WebhookEvent, body: dict[str, Any]) -> None:
        seen_events.append(stored.id)

    try:
        sessions = make_sessionmaker(main)
        inbox, loads = InboxRepo(sessions), InboxRepo(make_sessionmaker(reader))
        processor = EventProcessor(inbox, ConnectionRepo(sessions), sinks=[sink], loads=loads)
        assert await loads.get_many(["evt_none"]) == {}  # the reader's connection exists now

        ids = await _record_events(inbox, 4)  # committed through the main engine
        with statements(reader) as on_reader, statements(main) as on_main:
            results = await processor.run_batch([_job(i) for i in ids])
            single = await processor(_job(ids[0]))  # already processed: loaded again

        assert results == [{"eventId": i, "status": "processed", "type": "Tick"} for i in ids]
        assert single == {"eventId": ids[0], "status": "processed", "repeat": True}
        assert sorted(seen_events) == sorted(ids)
        assert len(_selects(on_reader, "webhook_events")) == 2
        assert _selects(on_main, "webhook_events") == []
        # The marks are writes: the main engine's.
        assert [s for s in on_main if s.startswith("update webhook_events")]
        assert not [s for s in on_reader if not s.startswith("select")]
        for event_id in ids:
            stored = await inbox.get(event_id)
            assert stored is not None and stored.status == "processed"
    finally:
        await reader.dispose()
        await main.dispose()


# --- the runtime ---------------------------------------------------------------------------


async def test_the_runtime_reads_events_and_subscriptions_through_a_reader_it_disposes(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=sqlite_url, encryption_keys=SecretStr(KeyRing.generate()))
    runtime = await Runtime.start(settings, with_worker=False, data_dir=tmp_path)
    closed: list[Any] = []
    try:
        reader = runtime.read_engine
        assert reader is not None and reader is not runtime.engine
        assert reader.url.database == runtime.engine.url.database
        event.listen(reader.sync_engine, "close", lambda conn, record: closed.append(conn))

        tenant, _key = await runtime.tenants.create("acme")
        [event_id] = await _record_events(runtime.inbox, 1, tenant_id=tenant.id)
        with statements(reader) as on_reader, statements(runtime.engine) as on_main:
            [result] = await runtime.processor.run_batch([_job(event_id)])

        assert result == {"eventId": event_id, "status": "processed", "type": "Tick"}
        assert len(_selects(on_reader, "webhook_events")) == 1
        assert len(_selects(on_reader, "subscriptions")) == 1  # the routing sink's look-up
        assert _selects(on_main, "webhook_events") == _selects(on_main, "subscriptions") == []
        assert closed == []
    finally:
        await runtime.close()
    assert len(closed) == 1  # its pooled connection was closed with the runtime


async def test_the_runtime_on_postgresql_has_no_reader(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=pg_url, encryption_keys=SecretStr(KeyRing.generate()))
    runtime = await Runtime.start(settings, with_worker=False, data_dir=tmp_path)
    try:
        assert runtime.read_engine is None
        [event_id] = await _record_events(runtime.inbox, 1)
        [result] = await runtime.processor.run_batch([_job(event_id)])
        assert result == {"eventId": event_id, "status": "processed", "type": "Tick"}
    finally:
        await runtime.close()
