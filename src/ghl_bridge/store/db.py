"""Engine and session factories for SQLite (embedded mode) and PostgreSQL (distributed mode).

Imports nothing else of ours but the SQLite driver adapter next to it. Nothing here runs at
import time; entry points call the factories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ghl_bridge.store import sqlite_driver

# Applied on every new SQLite connection. WAL lets readers run beside the one writer,
# synchronous=NORMAL is durable across process crashes under WAL (research/deps.md §8), and
# busy_timeout makes a second writer wait instead of failing with "database is locked".
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def _apply_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_file(database: str | None) -> Path | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create an async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    SQLite: the database file's directory is created, and WAL, ``synchronous=NORMAL``,
    ``foreign_keys=ON`` and ``busy_timeout=5000`` are set on every connection.
    PostgreSQL: a bounded pool with pre-ping, so connections dropped by a restart or a proxy are
    replaced instead of failing a request.
    Both: bound parameters (sealed tokens, raw webhook bodies) are kept out of logs and out of
    the text of SQLAlchemy exceptions (``hide_parameters``).
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        path = _sqlite_file(sa_url.database)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(sa_url, echo=echo)
    return create_async_engine(
        sa_url,
        echo=echo,
        hide_parameters=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=30,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def make_read_engine(url: str) -> AsyncEngine | None:
    """A second SQLite connection for hot read-only queries, or None (PostgreSQL's pool
    already reads in parallel; an in-memory SQLite database is private to its connection).

    Under WAL a reader never waits for the writer and sees every committed write, so the event
    processor's batch loads and subscription look-ups take this one instead of queueing for the
    single writer connection behind the inbox's group commits (it was held ~90 % of the time at
    650 webhooks/s, docs/benchmarks.md). ``query_only`` makes a write through it an error.
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite" or _sqlite_file(sa_url.database) is None:
        return None
    engine = _sqlite_engine(sa_url)
    event.listen(engine.sync_engine, "connect", _read_only)
    return engine


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


def _sqlite_engine(sa_url: URL, *, echo: bool = False) -> AsyncEngine:
    one_trip = sqlite_driver.module()  # a statement is one hop to aiosqlite's thread
    engine = create_async_engine(
        sa_url,
        echo=echo,
        hide_parameters=True,
        connect_args={"timeout": 5.0},
        **({"module": one_trip} if one_trip is not None else {}),
        # One connection, shared in turn: SQLite has one writer anyway, and queueing in
        # the pool is fair and immediate, where competing connections wait in SQLite's
        # busy handler (sleeps of up to 100 ms; ingest p99 894 → ~160 ms, see
        # docs/benchmarks.md).
        pool_size=1,
        max_overflow=0,
        pool_timeout=30,
    )
    event.listen(engine.sync_engine, "connect", _apply_sqlite_pragmas)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay readable after commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    """True when the engine talks to PostgreSQL (advisory locks, real row locks available)."""
    return engine.dialect.name == "postgresql"
