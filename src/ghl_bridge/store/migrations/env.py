"""Alembic environment for ghl-bridge; async-capable, the same migrations on SQLite and PostgreSQL.

Normally run by `ghl_bridge.store.migrate`, which hands over an open connection in
``config.attributes["connection"]``. Run by the ``alembic`` command instead, it builds its own
async engine from ``-x url=…`` or ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from ghl_bridge.store.db import make_engine
from ghl_bridge.store.migrate import context_options
from ghl_bridge.store.models import Base

target_metadata = Base.metadata


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, **context_options(connection))
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set sqlalchemy.url")
    return url


async def _run_with_own_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_on)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        _run_offline()
        return
    shared = context.config.attributes.get("connection")
    if isinstance(shared, Connection):
        _run_on(shared)
    else:
        asyncio.run(_run_with_own_engine(_url()))


_main()
