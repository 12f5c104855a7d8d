"""Run the Alembic migrations programmatically, with no alembic.ini, on SQLite or PostgreSQL.

The migrations directory is found next to this module, so it works from an installed wheel.
Imports nothing above the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ghl_bridge.store.db import make_engine
from ghl_bridge.store.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Serialises concurrent `db upgrade` runs (several `serve` processes starting at once).
_PG_MIGRATION_LOCK = 0x67686C62  # "ghlb"


def context_options(connection: Connection) -> dict[str, Any]:
    """Options for Alembic's migration context; shared by env.py and `schema_diff`."""
    return {
        "target_metadata": Base.metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
    }


def alembic_config() -> Config:
    """An Alembic `Config` pointing at the packaged migrations (no ini file, no URL in it)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def _upgrade_on(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    else:
        # pysqlite only opens transactions before DML; open one explicitly so the DDL is atomic
        # (a crash never leaves half a schema) and a second migrator waits its turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: head). Idempotent.

    Runs in one transaction; on PostgreSQL under an advisory lock, on SQLite under
    ``BEGIN IMMEDIATE``, so concurrent callers run one after another.
    """
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, revision)
    finally:
        await engine.dispose()


def _current_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None if it was never migrated."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_on)
    finally:
        await engine.dispose()


def _diff_on(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts=context_options(connection))
    return list(compare_metadata(context, Base.metadata))


async def schema_diff(url: str) -> list[Any]:
    """Differences between the models and the live schema (empty when they agree)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff_on)
    finally:
        await engine.dispose()
