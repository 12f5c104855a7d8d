"""Migrations run programmatically on both backends, are idempotent, and match the models."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from ghl_bridge.store import Base, Tenant, is_postgres, make_engine, make_sessionmaker
from ghl_bridge.store.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current,
    head_revision,
    schema_diff,
    upgrade,
)

TABLES = {
    "tenants",
    "api_keys",
    "connections",
    "webhook_events",
    "jobs",
    "idempotency_records",
    "audit_records",
    "action_records",
    "subscriptions",
    "deliveries",
    "reconcile_checkpoints",
}


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def test_head_is_the_initial_revision() -> None:
    assert head_revision() == "0013"


def test_migration_files_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert Path(MIGRATIONS_DIR).is_relative_to(Path(__file__).parents[3] / "src")


async def test_upgrade_creates_the_schema(database_url: str) -> None:
    assert await current(database_url) is None
    await upgrade(database_url)
    assert await current(database_url) == head_revision()
    assert await _tables(database_url) >= TABLES | {"alembic_version"}


async def test_upgrade_twice_is_a_noop(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            session.add(Tenant(name="survivor"))
    finally:
        await engine.dispose()

    await upgrade(database_url)

    assert await current(database_url) == head_revision()
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            names = (await conn.execute(text("SELECT name FROM tenants"))).scalars().all()
    finally:
        await engine.dispose()
    assert names == ["survivor"]


async def test_models_and_migrated_schema_agree(database_url: str) -> None:
    await upgrade(database_url)
    assert await schema_diff(database_url) == []


async def test_schema_diff_notices_drift(database_url: str) -> None:
    """The agreement check is live: removing an index shows up as a difference."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_jobs_queue_status_run_at"))
    finally:
        await engine.dispose()
    diff = await schema_diff(database_url)
    assert any(
        item[0] == "add_index" and item[1].name == "ix_jobs_queue_status_run_at" for item in diff
    )


async def test_downgrade_to_base_and_back(database_url: str) -> None:
    await upgrade(database_url)

    def _downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade)
    finally:
        await engine.dispose()
    assert not (await _tables(database_url)) & TABLES
    await upgrade(database_url)
    assert await schema_diff(database_url) == []


def test_alembic_command_line_path_uses_its_own_engine(tmp_path: Path) -> None:
    """Without a shared connection, env.py builds an async engine from ``-x url=``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli' / 'db.sqlite'}"
    config = alembic_config()
    config.cmd_opts = type("Opts", (), {"x": [f"url={url}"]})()  # type: ignore[assignment]
    command.upgrade(config, "head")
    assert asyncio.run(current(url)) == head_revision()


def test_offline_mode_renders_sql(capsys: pytest.CaptureFixture[str]) -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql+asyncpg://u@localhost/db")
    command.upgrade(config, "head", sql=True)
    out = capsys.readouterr().out
    assert "CREATE TABLE webhook_events" in out
    assert "uq_webhook_events_webhook_id" in out


async def test_sqlite_engine_settings(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "ghl-bridge.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert not is_postgres(engine)
        async with engine.connect() as conn:
            values = {
                pragma: (await conn.exec_driver_sql(f"PRAGMA {pragma}")).scalar()
                for pragma in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert path.parent.is_dir()
    assert values == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


async def test_postgres_engine_is_detected(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        assert is_postgres(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


def test_every_model_table_is_migrated() -> None:
    assert set(Base.metadata.tables) == TABLES


async def test_keys_made_before_scopes_keep_every_scope(database_url: str) -> None:
    """0004 fills in ``read write admin`` for existing keys, and leaves no default behind."""

    def _to(revision: str) -> Callable[[Connection], None]:
        def run(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        return run

    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_to("0003"))
            await conn.execute(
                text("INSERT INTO tenants (id, name, created_at) VALUES ('tnt_old', 'old', :at)"),
                {"at": datetime.now(UTC)},
            )
            await conn.execute(
                text(
                    "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, created_at)"
                    " VALUES ('key_old', 'tnt_old', 'ghlb_old', :hash, :at)"
                ),
                {"hash": "0" * 64, "at": datetime.now(UTC)},
            )
        async with engine.begin() as conn:
            await conn.run_sync(_to("head"))
            scopes = await conn.scalar(text("SELECT scopes FROM api_keys WHERE id = 'key_old'"))
            assert scopes == "read write admin"
            default = await conn.run_sync(
                lambda c: {
                    col["name"]: col["default"] for col in inspect(c).get_columns("api_keys")
                }
            )
            assert default["scopes"] is None
    finally:
        await engine.dispose()
