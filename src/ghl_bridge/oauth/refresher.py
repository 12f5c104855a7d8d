"""Proactive refresh: renew access tokens before they expire, not when a call finds them stale.

A connection nobody calls for a day still has its refresh token used well before GHL's access
token runs out, so the first call after a quiet night does not pay for a refresh, and a
refresh token is exercised (and any `invalid_grant` surfaces as `needs_reauth`) while a person
can still be told. Every serve/worker process runs one; the refresh itself is single-flight
per connection across processes (`ConnectionTokens.refresh`), so several refreshers at once
still send one refresh request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from ghl_bridge.client.errors import GHLError, ReauthorizationRequired
from ghl_bridge.oauth.tokens import REFRESH_MARGIN_S, ConnectionTokens
from ghl_bridge.store.connections import ConnectionRepo

log = structlog.get_logger("ghl_bridge.oauth")


class ProactiveRefresher:
    def __init__(
        self,
        repo: ConnectionRepo,
        tokens: ConnectionTokens,
        *,
        interval_s: float = 60.0,
        margin_s: float = REFRESH_MARGIN_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._tokens = tokens
        self._interval_s = interval_s
        # Due if it would enter the refresh margin before the next round.
        self._horizon = timedelta(seconds=margin_s + interval_s)
        self._clock = clock

    async def refresh_due(self) -> int:
        """Refresh every connection due before the next round; return how many were renewed."""
        renewed = 0
        for conn in await self._repo.due_for_refresh(self._clock() + self._horizon):
            try:
                await self._tokens.refresh(conn.resource_id)
                renewed += 1
            except ReauthorizationRequired:
                pass  # marked needs_reauth and logged by the token provider
            except GHLError as exc:  # GHL down: the next round, or the next call, retries
                log.warning("oauth.proactive_refresh_failed", resource=conn.resource_id,
                            error=type(exc).__name__)  # fmt: skip
        return renewed

    async def run(self) -> None:
        while True:
            try:
                await self.refresh_due()
            except Exception as exc:  # keep going; the next round retries
                log.warning("oauth.refresher_failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)
