"""One refresh per connection across every process: the lock taken around a token rotation.

GHL burns a refresh token on use (a 30 s grace returns the same answer, then `invalid_grant`),
so two processes refreshing the same connection moments apart lose it for good. Inside one
process `ConnectionTokens` already queues callers per connection; this lock makes the other
processes queue too. Whoever gets it second re-reads the row and finds the rotation done.

- Redis (when configured): ``SET key token NX PX ttl``, released by compare-and-delete, so a
  holder whose lease expired cannot release its successor's. The lease outlives any refresh
  attempt (the refresh call's deadline is shorter), and a crashed holder frees it on expiry.
- PostgreSQL without Redis: a session advisory lock on a connection of its own, released with
  the connection; a crashed holder's lock dies with its session.
- SQLite (one process by construction, DESIGN.md §3): the in-process lock is the whole story.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ghl_bridge.client.errors import TokenRefreshError

__all__ = [
    "AdvisoryRefreshLock",
    "LocalRefreshLock",
    "RedisRefreshLock",
    "RefreshLock",
    "make_refresh_lock",
]

LEASE_S = 60.0  # longer than a refresh call may take (its deadline is 30 s)
WAIT_S = 90.0  # how long a caller queues for another process's refresh before giving up


class RefreshLock(Protocol):
    def hold(self, resource_id: str) -> AbstractAsyncContextManager[None]:
        """Exclusive across processes for ``resource_id`` while the block runs."""
        ...

    async def aclose(self) -> None: ...


class LocalRefreshLock:
    """No other process can refresh: nothing to add to the per-process lock."""

    @asynccontextmanager
    async def hold(self, resource_id: str) -> AsyncIterator[None]:
        yield

    async def aclose(self) -> None:
        return None


# Delete the key only if it still holds our token: an expired lease now belongs to another.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisRefreshLock:
    def __init__(self, redis: Any, prefix: str = "ghl-bridge", *, lease_s: float = LEASE_S) -> None:
        self._redis = redis
        self._prefix = prefix
        self._lease_ms = int(lease_s * 1000)
        self._release = redis.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "ghl-bridge") -> RedisRefreshLock:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url, socket_timeout=5, decode_responses=True), prefix)

    @asynccontextmanager
    async def hold(self, resource_id: str) -> AsyncIterator[None]:
        key = f"{self._prefix}:refresh-lock:{resource_id}"
        token = os.urandom(12).hex()
        deadline = time.monotonic() + WAIT_S
        pause = 0.01
        while not await self._redis.set(key, token, nx=True, px=self._lease_ms):
            if time.monotonic() > deadline:
                raise TokenRefreshError(
                    f"another process has been refreshing {resource_id} for over {WAIT_S:.0f} s"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.25)  # the holder's refresh takes one GHL round trip
        try:
            yield
        finally:
            await self._release(keys=[key], args=[token])

    async def aclose(self) -> None:
        await self._redis.aclose()


class AdvisoryRefreshLock:
    """PostgreSQL session advisory lock, keyed by a 64-bit hash of the resource id."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def hold(self, resource_id: str) -> AsyncIterator[None]:
        digest = hashlib.blake2b(f"refresh:{resource_id}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        async with self._engine.connect() as conn:
            try:
                await asyncio.wait_for(
                    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key}), WAIT_S
                )
            except TimeoutError as exc:
                raise TokenRefreshError(
                    f"another process has been refreshing {resource_id} for over {WAIT_S:.0f} s"
                ) from exc
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await conn.commit()

    async def aclose(self) -> None:
        return None


def make_refresh_lock(
    *, redis_url: str | None, engine: AsyncEngine, prefix: str = "ghl-bridge"
) -> RefreshLock:
    """Redis when configured, else PostgreSQL's advisory locks, else (SQLite) none needed."""
    if redis_url:
        return RedisRefreshLock.from_url(redis_url, prefix)
    if engine.dialect.name == "postgresql":
        return AdvisoryRefreshLock(engine)
    return LocalRefreshLock()
