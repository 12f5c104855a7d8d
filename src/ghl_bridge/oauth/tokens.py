"""Access tokens for the client, from sealed connections; refresh that never burns a token.

GHL refresh tokens are single-use: every refresh returns a new one and the old one dies (after a
30 s grace). So: one refresh in flight per connection in this process (a lock per connection),
re-read the row after taking the lock (someone may have refreshed already), persist the rotated
pair with a compare-and-swap on the row's version *before* handing out the new access token,
and on ``invalid_grant`` re-read once more before declaring the connection in need of
re-authorization. A cross-process lock (Redis / PostgreSQL advisory) joins this in issue #4.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from ghl_bridge.client.errors import (
    GHLError,
    InvalidGrantError,
    ReauthorizationRequired,
    TokenError,
    TokenRefreshError,
)
from ghl_bridge.client.resources.oauth import OAuthResource, TokenGrant
from ghl_bridge.oauth.app import OAuthApp
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.models import Connection
from ghl_bridge.vault import Vault

log = structlog.get_logger("ghl_bridge.oauth")

REFRESH_MARGIN_S = 300.0  # refresh when the access token has less than this left


def seal_context(resource_id: str, which: str) -> str:
    """AAD binding a ciphertext to its row and field, so sealed tokens cannot be swapped."""
    return f"connection:{resource_id}:{which}"


class ConnectionTokens:
    """TokenProvider over the connections table. ``bind`` it to the client's OAuth resource."""

    def __init__(
        self,
        app: OAuthApp,
        repo: ConnectionRepo,
        vault: Vault,
        *,
        margin_s: float = REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._repo = repo
        self._vault = vault
        self._margin_s = margin_s
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._oauth: OAuthResource | None = None

    def bind(self, oauth: OAuthResource) -> None:
        """Break the cycle client → provider → client; refreshes go through the same pipeline."""
        self._oauth = oauth

    async def access_token(self, resource_id: str | None) -> str:
        conn = await self._load(resource_id)
        if self._fresh(conn):
            return self._vault.unseal(
                conn.access_token_sealed, context=seal_context(conn.resource_id, "access")
            )
        return await self.refresh(conn.resource_id)

    async def on_unauthorized(self, resource_id: str | None, rejected_token: str) -> str | None:
        conn = await self._load(resource_id)
        if conn.refresh_token_sealed is None:
            return None
        current = self._vault.unseal(
            conn.access_token_sealed, context=seal_context(conn.resource_id, "access")
        )
        if current != rejected_token:
            return current  # another caller already refreshed
        return await self.refresh(conn.resource_id, force=True)

    async def refresh(self, resource_id: str, *, force: bool = False) -> str:
        """Refresh once per connection at a time; return the (possibly already) fresh token."""
        lock = self._locks.setdefault(resource_id, asyncio.Lock())
        async with lock:
            conn = await self._load(resource_id)
            if not force and self._fresh(conn):
                return self._unseal(conn, "access")
            return await self._rotate(conn)

    async def store_grant(self, tenant_id: str, grant: TokenGrant) -> Connection:
        """Seal and persist a fresh grant (the OAuth callback, a location token)."""
        resource_id = grant.location_id or grant.company_id
        if not resource_id:
            raise TokenError("token grant names neither a location nor a company")
        refresh = (
            self._vault.seal(grant.refresh_token, context=seal_context(resource_id, "refresh"))
            if grant.refresh_token
            else None
        )
        return await self._repo.upsert(
            tenant_id=tenant_id,
            user_type=grant.user_type,
            company_id=grant.company_id or "",
            location_id=grant.location_id,
            access_sealed=self._vault.seal(
                grant.access_token, context=seal_context(resource_id, "access")
            ),
            refresh_sealed=refresh,
            key_id=self._vault.active_kid,
            expires_at=datetime.fromtimestamp(grant.expires_at, UTC),
            scopes=" ".join(grant.scopes),
        )

    async def _rotate(self, conn: Connection) -> str:
        if self._oauth is None:
            raise TokenError("ConnectionTokens is not bound to a client")
        if conn.refresh_token_sealed is None:
            raise ReauthorizationRequired(conn.resource_id, "no refresh token stored")
        try:
            grant = await self._oauth.refresh(
                client_id=self._app.client_id,
                client_secret=self._app.client_secret,
                refresh_token=self._unseal(conn, "refresh"),
                user_type=conn.user_type,
            )
        except InvalidGrantError:
            return await self._after_invalid_grant(conn)
        except GHLError as exc:
            raise TokenRefreshError(f"refresh for {conn.resource_id} failed: {exc}") from exc
        rid = conn.resource_id
        swapped = await self._repo.rotate_tokens(
            conn.id,
            expected_version=conn.version,
            access_sealed=self._vault.seal(grant.access_token, context=seal_context(rid, "access")),
            refresh_sealed=self._vault.seal(
                grant.refresh_token, context=seal_context(rid, "refresh")
            )
            if grant.refresh_token
            else conn.refresh_token_sealed,
            key_id=self._vault.active_kid,
            expires_at=datetime.fromtimestamp(grant.expires_at, UTC),
        )
        if not swapped:  # another process stored a rotation first: theirs is the live pair
            return self._unseal(await self._load(rid), "access")
        log.info("oauth.refreshed", resource=rid, connection=conn.id)
        return grant.access_token

    async def _after_invalid_grant(self, conn: Connection) -> str:
        latest = await self._load(conn.resource_id, require_active=False)
        if latest.version != conn.version and self._fresh(latest):
            return self._unseal(latest, "access")  # someone else rotated; our copy was stale
        await self._repo.set_status(conn.id, "needs_reauth")
        log.warning("oauth.needs_reauth", resource=conn.resource_id, connection=conn.id)
        raise ReauthorizationRequired(conn.resource_id, "GHL rejected the refresh token")

    async def _load(self, resource_id: str | None, *, require_active: bool = True) -> Connection:
        if not resource_id:
            raise TokenError("a location or company id is required to pick a token")
        conn = await self._repo.get_by_resource(resource_id)
        if conn is None:
            raise TokenError(f"no connection for {resource_id}")
        if require_active and conn.status != "active":
            raise ReauthorizationRequired(resource_id, f"connection is {conn.status}")
        return conn

    def _fresh(self, conn: Connection) -> bool:
        if conn.expires_at is None:  # a token GHL issued without an expiry
            return True
        return conn.expires_at.timestamp() - self._clock() > self._margin_s

    def _unseal(self, conn: Connection, which: str) -> str:
        sealed = conn.access_token_sealed if which == "access" else conn.refresh_token_sealed
        assert sealed is not None
        return self._vault.unseal(sealed, context=seal_context(conn.resource_id, which))
