"""Access tokens for the client, from sealed connections; refresh that never burns a token.

GHL refresh tokens are single-use: every refresh returns a new one and the old one dies (after a
30 s grace). So: one refresh in flight per connection in this process (a lock per connection),
re-read the row after taking the lock (someone may have refreshed already), persist the rotated
pair with a compare-and-swap on the row's version *before* handing out the new access token,
and on ``invalid_grant`` re-read once more before declaring the connection in need of
re-authorization. Across processes a `RefreshLock` (Redis lease, PostgreSQL advisory lock) is
taken inside the in-process one, so a whole fleet refreshes a connection once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import structlog

from ghl_bridge.client.errors import (
    GHLAPIError,
    GHLError,
    InvalidGrantError,
    ReauthorizationRequired,
    TokenError,
    TokenRefreshError,
)
from ghl_bridge.client.resources.oauth import OAuthResource, TokenGrant
from ghl_bridge.oauth.app import OAuthApp
from ghl_bridge.oauth.refresh_lock import LocalRefreshLock, RefreshLock
from ghl_bridge.store.audit import NO_AUDIT, ConnectionAudit
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import Connection
from ghl_bridge.vault import Vault

log = structlog.get_logger("ghl_bridge.oauth")

REFRESH_MARGIN_S = 300.0  # refresh when the access token has less than this left
# How long a process trusts its copy of an access token without re-reading the row: bounds how
# late it sees a connection revoked or re-authorized by another process (GHL would answer 401
# sooner, and a 401 re-reads at once). Without it, every call read the row: 4 processes × 250
# concurrent calls opened more PostgreSQL connections than the server allows.
CACHE_S = 60.0
NOT_ADOPTED_S = 60.0  # how long "no agency of this tenant covers that location" is believed


def seal_context(resource_id: str, which: str) -> str:
    """AAD binding a ciphertext to its row and field, so sealed tokens cannot be swapped."""
    return f"connection:{resource_id}:{which}"


class ConnectionTokens:
    """TokenProvider over the connections table. ``bind`` it to the client's OAuth resource.

    ``audit`` hears of every grant stored, rotation persisted and connection given up on.
    """

    def __init__(
        self,
        app: OAuthApp,
        repo: ConnectionRepo,
        vault: Vault,
        *,
        margin_s: float = REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.time,
        refresh_lock: RefreshLock | None = None,
        audit: ConnectionAudit = NO_AUDIT,
        inbox: InboxRepo | None = None,
    ) -> None:
        self._app = app
        self._audit = audit
        self._inbox = inbox  # where `connection.needs_reauth` is raised for the tenant
        self._refresh_lock = refresh_lock or LocalRefreshLock()
        self._repo = repo
        self._vault = vault
        self._margin_s = margin_s
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._cache: dict[str, tuple[str, float | None, float]] = {}
        self._not_adopted: dict[tuple[str, str], float] = {}
        self._oauth: OAuthResource | None = None

    def bind(self, oauth: OAuthResource) -> None:
        """Break the cycle client → provider → client; refreshes go through the same pipeline."""
        self._oauth = oauth

    async def access_token(self, resource_id: str | None) -> str:
        cached = self._cached(resource_id)
        if cached is not None:
            return cached
        if not resource_id:
            raise TokenError("a location or company id is required to pick a token")
        return await self.refresh(resource_id)

    async def on_unauthorized(self, resource_id: str | None, rejected_token: str) -> str | None:
        self._cache.pop(resource_id or "", None)
        conn = await self._load(resource_id)
        if conn.refresh_token_sealed is None:
            return None  # a static token (PIT): nothing to refresh
        return await self.refresh(conn.resource_id, rejected=rejected_token)

    async def refresh(self, resource_id: str, *, rejected: str | None = None) -> str:
        """The connection's usable access token, refreshed if due — once per connection at a
        time, in this process and across processes. ``rejected``: GHL refused this access
        token (401), so refresh even if it looks fresh, unless someone has replaced it."""
        lock = self._locks.setdefault(resource_id, asyncio.Lock())
        async with lock:
            if rejected is None and (cached := self._cached(resource_id)) is not None:
                return cached  # a caller queued ahead of us loaded or refreshed it
            conn = await self._load(resource_id)
            if (token := self._usable(conn, rejected)) is not None:
                return token
            async with self._refresh_lock.hold(resource_id):
                conn = await self._load(resource_id)  # another process may have rotated
                if (token := self._usable(conn, rejected)) is not None:
                    return token
                return await self._rotate(conn)

    def _usable(self, conn: Connection, rejected: str | None) -> str | None:
        """The stored access token if it needs no refresh (and remember it), else None."""
        current = self._unseal(conn, "access")
        if (current != rejected) if rejected is not None else self._fresh(conn):
            self._remember(conn.resource_id, current, conn.expires_at)
            return current
        return None

    def _cached(self, resource_id: str | None) -> str | None:
        entry = self._cache.get(resource_id or "")
        if entry is None:
            return None
        token, expires_at, cached_at = entry
        now = self._clock()
        if now - cached_at > CACHE_S or (
            expires_at is not None and expires_at - now <= self._margin_s
        ):
            return None
        return token

    def _remember(self, resource_id: str, token: str, expires_at: datetime | None) -> None:
        expiry = expires_at.timestamp() if expires_at is not None else None
        self._cache[resource_id] = (token, expiry, self._clock())

    async def store_grant(self, tenant_id: str, grant: TokenGrant) -> Connection:
        """Seal and persist a fresh grant (the OAuth callback, a location token)."""
        resource_id = grant.location_id or grant.company_id
        if not resource_id:
            raise TokenError("token grant names neither a location nor a company")
        self._cache.pop(resource_id, None)  # a new install replaces whatever we held
        refresh = (
            self._vault.seal(grant.refresh_token, context=seal_context(resource_id, "refresh"))
            if grant.refresh_token
            else None
        )
        conn = await self._repo.upsert(
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
        self._changed(conn, "connected", conn.status)
        return conn

    async def _rotate(self, conn: Connection) -> str:
        if self._oauth is None:
            raise TokenError("ConnectionTokens is not bound to a client")
        if conn.refresh_token_sealed is None:
            if conn.user_type == "Location" and conn.expires_at is not None and conn.company_id:
                return await self._remint(conn)  # an agency-minted location token
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
        # Without a new refresh token GHL keeps the old one alive: re-seal it too, so the
        # row's key_id is true of both fields (key rotation relies on it).
        refresh = grant.refresh_token or self._unseal(conn, "refresh")
        if not await self._store_rotation(conn, grant, refresh):
            return await self._theirs(rid)
        log.info("oauth.refreshed", resource=rid, connection=conn.id)
        self._changed(conn, "refreshed", "active")
        self._remember(rid, grant.access_token, datetime.fromtimestamp(grant.expires_at, UTC))
        return grant.access_token

    async def _after_invalid_grant(self, conn: Connection) -> str:
        latest = await self._load(conn.resource_id, require_active=False)
        if latest.version != conn.version and self._fresh(latest):
            token = self._unseal(latest, "access")  # someone else rotated; our copy was stale
            self._remember(latest.resource_id, token, latest.expires_at)
            return token
        recovered = await self._reconnect(latest)
        if recovered is not None:
            return recovered
        self._cache.pop(conn.resource_id, None)
        await self._repo.set_status(conn.id, "needs_reauth")
        log.warning("oauth.needs_reauth", resource=conn.resource_id, connection=conn.id)
        self._changed(conn, "needs_reauth", "needs_reauth")
        await self._raise_needs_reauth(latest)
        raise ReauthorizationRequired(conn.resource_id, "GHL rejected the refresh token")

    async def _raise_needs_reauth(self, conn: Connection) -> None:
        """Put ``connection.needs_reauth`` in the tenant's event inbox, beside GHL's webhooks,
        so a workflow can tell a person to reconnect (one per lost version of the row)."""
        if self._inbox is None:
            return
        payload = {
            "type": "connection.needs_reauth",
            "connectionId": conn.id,
            "locationId": conn.location_id,
            "companyId": conn.company_id,
            "reason": "GHL rejected the refresh token and would not reconnect the install",
        }
        await self._inbox.record(
            f"bridge:{conn.id}:needs_reauth:{conn.version}",
            event_type="connection.needs_reauth",
            location_id=conn.location_id,
            company_id=conn.company_id,
            tenant_id=conn.tenant_id,
            payload=json.dumps(payload, separators=(",", ":")),
            signature_scheme="internal",
            received_at=datetime.now(UTC),
        )

    async def revoke(self, resource_id: str) -> Connection | None:
        """The app is gone (UNINSTALL) or an operator stops a connection: mark it revoked and
        forget its tokens — the sealed fields then hold an empty secret (so the row stays
        well-formed for key rotation), never the dead tokens. None if there is no such row;
        idempotent."""
        async with self._locks.setdefault(resource_id, asyncio.Lock()):
            self._cache.pop(resource_id, None)
            for _ in range(3):  # a refresh landing meanwhile bumps the version: read again
                conn = await self._repo.get_by_resource(resource_id)
                if conn is None:
                    return None
                emptied = self._vault.seal("", context=seal_context(resource_id, "access"))
                if await self._repo.rotate_tokens(
                    conn.id,
                    expected_version=conn.version,
                    access_sealed=emptied,
                    refresh_sealed=None,
                    key_id=self._vault.active_kid,
                    expires_at=None,
                ):
                    break
            else:
                raise TokenError(f"could not revoke {resource_id}: it keeps changing")
            if conn.status != "revoked":
                await self._repo.set_status(conn.id, "revoked")
                self._changed(conn, "revoked", "revoked")
            return conn

    async def adopt_location(self, tenant_id: str, location_id: str) -> bool:
        """Connect ``location_id`` through one of the tenant's agency (Company) connections:
        mint its location token (`/oauth/locationToken`) and store it sealed, like any other
        connection. How an agency with hundreds of sub-accounts installs once and works on each
        of them on first use. False when no agency connection of the tenant covers it; that
        answer is remembered for a minute, so a caller naming unknown locations cannot make us
        spend the agency's GHL budget on one mint attempt per request."""
        refused_until = self._not_adopted.get((tenant_id, location_id), 0.0)
        if self._clock() < refused_until:
            return False
        for company in await self._repo.list(tenant_id):
            if company.user_type != "Company" or company.status != "active":
                continue
            try:
                grant = await self._mint(company, location_id)
            except GHLAPIError as exc:  # not this agency's, or the app is not installed there
                why = {"status": exc.status, "reason": exc.message}
                log.info("oauth.location_not_adopted", location=location_id, **why)
                continue
            await self.store_grant(tenant_id, grant)
            log.info("oauth.location_adopted", location=location_id, company=company.company_id)
            return True
        if len(self._not_adopted) > 10_000:  # bounded: forget the oldest answers
            self._not_adopted.clear()
        self._not_adopted[(tenant_id, location_id)] = self._clock() + NOT_ADOPTED_S
        return False

    async def _remint(self, conn: Connection) -> str:
        """A location token minted from an agency token has no refresh token: mint another."""
        company = await self._repo.get_by_resource(conn.company_id)
        if company is None or company.status != "active":
            raise ReauthorizationRequired(conn.resource_id, "its agency connection is gone")
        grant = await self._mint(company, conn.resource_id)
        rid = conn.resource_id
        expires_at = datetime.fromtimestamp(grant.expires_at, UTC)
        if not await self._store_rotation(conn, grant, None):
            return await self._theirs(rid)
        self._changed(conn, "refreshed", "active")
        self._remember(rid, grant.access_token, expires_at)
        return grant.access_token

    async def _mint(self, company: Connection, location_id: str) -> TokenGrant:
        assert self._oauth is not None
        grant = await self._oauth.location_token(company.company_id, location_id)
        # GHL's answer names the location but not always the agency: the row must know it,
        # to mint again when this token expires.
        return replace(grant, company_id=company.company_id, user_type="Location")

    async def _reconnect(self, conn: Connection) -> str | None:
        """GHL's lost-token recovery: while the app is still installed, a fresh authorization
        code (`/oauth/reconnect`) exchanged for a fresh pair, stored with the same
        compare-and-swap as a refresh. None when GHL will not (uninstalled, app credentials
        wrong, GHL down): the connection then needs a person."""
        assert self._oauth is not None
        try:
            code = await self._oauth.reconnect(
                client_id=self._app.client_id,
                client_secret=self._app.client_secret,
                location_id=conn.location_id,
                company_id=None if conn.location_id else conn.company_id,
            )
            grant = await self._oauth.exchange_code(
                client_id=self._app.client_id,
                client_secret=self._app.client_secret,
                code=code,
                user_type=conn.user_type,
            )
        except GHLError as exc:
            log.warning(
                "oauth.reconnect_failed", resource=conn.resource_id, error=type(exc).__name__
            )
            return None
        rid = conn.resource_id
        if not await self._store_rotation(conn, grant, grant.refresh_token):
            return None
        log.warning("oauth.reconnected", resource=rid, connection=conn.id)
        self._changed(conn, "reconnected", "active")
        self._remember(rid, grant.access_token, datetime.fromtimestamp(grant.expires_at, UTC))
        return grant.access_token

    async def _store_rotation(
        self, conn: Connection, grant: TokenGrant, refresh_token: str | None
    ) -> bool:
        """Seal and store ``grant`` (with ``refresh_token``) over ``conn`` by compare-and-swap
        on its version; False when another process stored a rotation first."""
        rid = conn.resource_id
        return await self._repo.rotate_tokens(
            conn.id,
            expected_version=conn.version,
            access_sealed=self._vault.seal(grant.access_token, context=seal_context(rid, "access")),
            refresh_sealed=self._vault.seal(refresh_token, context=seal_context(rid, "refresh"))
            if refresh_token
            else None,
            key_id=self._vault.active_kid,
            expires_at=datetime.fromtimestamp(grant.expires_at, UTC),
        )

    async def _theirs(self, resource_id: str) -> str:
        """Another process stored a rotation first: theirs is the live pair."""
        latest = await self._load(resource_id)
        token = self._unseal(latest, "access")
        self._remember(resource_id, token, latest.expires_at)
        return token

    def _changed(self, conn: Connection, change: str, status: str) -> None:
        self._audit.connection_changed(
            tenant_id=conn.tenant_id, resource_id=conn.resource_id, change=change, status=status
        )

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
