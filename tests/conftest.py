"""Shared fixtures: real PostgreSQL and Redis when present, SQLite always.

`GHL_BRIDGE_TEST_SERVICES=required` (set by `.ci/run`) turns a missing PostgreSQL or Redis into a
test failure instead of a skip, so CI can never go green by skipping the real-services tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

PG_ADMIN_URL = os.environ.get(
    "GHL_BRIDGE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/ghl_bridge_test"
)
REDIS_URL = os.environ.get("GHL_BRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVICES_REQUIRED = os.environ.get("GHL_BRIDGE_TEST_SERVICES", "") == "required"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _endpoint(url: str, default_port: int) -> tuple[str, int]:
    parsed = urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def _need_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = (
        f"{name} is not reachable on {host}:{port}. Start it (see .ci/run) or run the suite"
        " without GHL_BRIDGE_TEST_SERVICES=required to skip these tests."
    )
    if SERVICES_REQUIRED:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _pg_available() -> None:
    _need_service("PostgreSQL", *_endpoint(PG_ADMIN_URL, 5432))
    _run(_ensure_pg_database(PG_ADMIN_URL))


async def _ensure_pg_database(url: str) -> None:
    """Create the test database on a fresh server, so `make test` needs no set-up step."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    name = urlsplit(dsn).path.lstrip("/")
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(urlsplit(dsn)._replace(path="/postgres").geturl())
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # another test run created it meanwhile
        finally:
            await admin.close()
    else:
        await conn.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    _need_service("Redis", *_endpoint(REDIS_URL, 6379))
    return REDIS_URL


def _run(coro: Any) -> None:
    """Run a coroutine to completion from sync code, even when an event loop is running
    (async fixtures resolve these fixtures inside pytest-asyncio's loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _reset_pg_schema(url: str) -> None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest.fixture
def pg_url(_pg_available: None) -> str:
    """A PostgreSQL database emptied for this test (schema dropped and recreated)."""
    _run(_reset_pg_schema(PG_ADMIN_URL))
    return PG_ADMIN_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'ghl-bridge.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL; every storage-touching test runs on both SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ghl-bridge.db'}"
    _need_service("PostgreSQL", *_endpoint(PG_ADMIN_URL, 5432))
    _run(_reset_pg_schema(PG_ADMIN_URL))
    return PG_ADMIN_URL


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A unique key prefix so Redis-backed tests never see each other's keys."""
    yield f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Library code must never read the environment; make sure no stray GHL_BRIDGE_ var leaks in."""
    for key in list(os.environ):
        if key.startswith("GHL_BRIDGE_") and not key.startswith("GHL_BRIDGE_TEST"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _stamina_testing() -> Iterator[None]:
    import stamina

    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)
