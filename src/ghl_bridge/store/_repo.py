"""What every repository shares: a session factory and an injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
