"""What every repository shares: a session factory and an injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.store.types import utcnow

Clock = Callable[[], datetime]


class Repository:
    """Base of the repositories: each method opens its own short transaction.

    ``clock`` returns aware UTC datetimes; tests pass a fake one.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock = utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    async def _delete_in_chunks(self, table: Any, doomed: Select[Any], chunk: int) -> int:
        """Delete ``table``'s rows whose id ``doomed`` selects (at most ``chunk`` of them:
        ``doomed`` carries the LIMIT), a transaction per chunk until one comes back short;
        returns how many went. Retention's shape: the one SQLite writer is never held long."""
        if chunk < 1:
            raise ValueError("chunk must be >= 1")
        stmt = (
            delete(table)
            .where(table.id.in_(doomed.limit(chunk)))
            .execution_options(synchronize_session=False)
        )
        removed = 0
        while True:
            async with self._sessions.begin() as session:
                went = (await session.execute(stmt)).rowcount or 0  # type: ignore[attr-defined]
            removed += went
            if went < chunk:
                return removed
