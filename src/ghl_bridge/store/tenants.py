"""Tenants and their API keys. Keys are shown once at creation; only sha256 + prefix are stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.errors import NotFound, StoreError, TenantExists
from ghl_bridge.store.models import API_KEY_SCOPES, ApiKey, Tenant

KEY_PREFIX = "ghlb_"
KEY_RANDOM_CHARS = 40
KEY_LENGTH = len(KEY_PREFIX) + KEY_RANDOM_CHARS
DISPLAY_PREFIX_CHARS = 12
MAX_NAME_LENGTH = 200
# last_used_at is advisory: write it at most once a minute per key, so authentication stays a
# read on the hot path instead of a write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def new_api_key() -> str:
    """``ghlb_`` + 40 urlsafe random characters (240 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(30)


def hash_api_key(api_key: str) -> str:
    """sha256 hex of the key. Keys are high-entropy random strings, so no salt or KDF is needed."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class LastAdminKey(StoreError):
    """Revoking this key would leave its tenant without an active admin key."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"api key {key_id!r} is the tenant's last active admin key")
        self.key_id = key_id


def normalize_scopes(scopes: Iterable[str]) -> str:
    """The stored form: known scopes, no repeats, in `API_KEY_SCOPES` order, space-separated.

    Raises `ValueError` on an unknown scope or an empty set (a key that can do nothing).
    """
    wanted = set(scopes)
    unknown = sorted(wanted - set(API_KEY_SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; use {', '.join(API_KEY_SCOPES)}")
    if not wanted:
        raise ValueError("a key needs at least one scope")
    return " ".join(s for s in API_KEY_SCOPES if s in wanted)


MAX_ALLOWLIST = 200
_ALLOWED_ENTRY = re.compile(r"^[A-Za-z0-9_.*-]{1,128}$")


def normalize_allowlist(entries: Iterable[str] | None, what: str) -> str | None:
    """The stored form of an allowlist: entries in order, no repeats, space-separated; None
    (no list: everything allowed) stays None. An empty list is refused: a key allowed no
    action or no location could do nothing, which is what revoking it is for."""
    if entries is None:
        return None
    kept = list(dict.fromkeys(e.strip() for e in entries))
    if not kept:
        raise ValueError(f"an empty {what} allowlist would allow nothing; omit it instead")
    bad = [e for e in kept if not _ALLOWED_ENTRY.match(e)]
    if bad:
        raise ValueError(f"invalid {what} allowlist entries: {', '.join(map(repr, bad[:5]))}")
    if len(kept) > MAX_ALLOWLIST:
        raise ValueError(f"a {what} allowlist holds at most {MAX_ALLOWLIST} entries")
    return " ".join(kept)


def _key_row(tenant_id: str, api_key: str, scopes: str) -> ApiKey:
    return ApiKey(
        tenant_id=tenant_id,
        prefix=api_key[:DISPLAY_PREFIX_CHARS],
        key_hash=hash_api_key(api_key),
        scopes=scopes,
    )


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"a tenant name must be 1-{MAX_NAME_LENGTH} characters")
    return cleaned


class TenantRepo(Repository):
    """Tenants (accounts of the workflow platform) and their API keys."""

    async def create(self, name: str) -> tuple[Tenant, str]:
        """Create a tenant with a first API key (every scope); returns ``(tenant, plaintext key)``.

        The plaintext key is returned only here; it cannot be recovered later.
        Raises `TenantExists` if the name is taken, `ValueError` if it is empty or too long.
        """
        name = _clean_name(name)
        api_key = new_api_key()
        try:
            async with self._sessions.begin() as session:
                if await session.scalar(select(Tenant.id).where(Tenant.name == name)):
                    raise TenantExists(name)
                tenant = Tenant(name=name, created_at=self._clock())
                session.add(tenant)
                await session.flush()
                key = _key_row(tenant.id, api_key, normalize_scopes(API_KEY_SCOPES))
                key.created_at = self._clock()
                session.add(key)
        except IntegrityError:
            # Lost a race with a concurrent create of the same name.
            raise TenantExists(name) from None
        return tenant, api_key

    async def list(self) -> Sequence[Tenant]:
        """Every tenant, oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.name))
            return rows.all()

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id, or None."""
        async with self._sessions() as session:
            return await session.get(Tenant, tenant_id)

    async def get_by_name(self, name: str) -> Tenant | None:
        """The tenant with this exact name, or None (the CLI addresses tenants by name)."""
        async with self._sessions() as session:
            return await session.scalar(select(Tenant).where(Tenant.name == name.strip()))

    async def authenticate(self, api_key: str) -> Tenant | None:
        """The tenant owning this API key, or None if it is unknown, malformed or revoked."""
        found = await self.resolve(api_key)
        return None if found is None else found[0]

    async def resolve(self, api_key: str) -> tuple[Tenant, ApiKey] | None:
        """The tenant and key row of this API key (one query), or None if it is unknown,
        malformed or revoked. The row carries the key's scopes and id, never the plaintext.

        Looks the key up by its hash (the plaintext is never stored or compared in SQL) and
        confirms with a constant-time comparison. ``last_used_at`` is refreshed at most once
        a minute.
        """
        if len(api_key) != KEY_LENGTH or not api_key.startswith(KEY_PREFIX):
            return None
        digest = hash_api_key(api_key)
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(ApiKey, Tenant)
                    .join(Tenant, Tenant.id == ApiKey.tenant_id)
                    .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
                )
            ).first()
            if row is None:
                return None
            key, tenant = row
            if not hmac.compare_digest(key.key_hash, digest):  # pragma: no cover - defensive
                return None
            now = self._clock()
            if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
                await session.execute(
                    update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
                )
                await session.commit()
            return tenant, key

    async def create_key(
        self,
        tenant_id: str,
        scopes: Iterable[str] = API_KEY_SCOPES,
        *,
        actions: Iterable[str] | None = None,
        locations: Iterable[str] | None = None,
    ) -> tuple[ApiKey, str]:
        """Issue another API key for a tenant (key rotation); returns ``(row, plaintext key)``.

        ``actions`` (names, or ``area.*``) and ``locations`` limit what the key may run and
        where; None means no limit. Raises `NotFound` if the tenant does not exist,
        `ValueError` on an empty or unknown scope or a malformed allowlist.
        """
        stored = normalize_scopes(scopes)
        allowed_actions = normalize_allowlist(actions, "action")
        allowed_locations = normalize_allowlist(locations, "location")
        api_key = new_api_key()
        async with self._sessions.begin() as session:
            if await session.get(Tenant, tenant_id) is None:
                raise NotFound("tenant", tenant_id)
            key = _key_row(tenant_id, api_key, stored)
            key.allowed_actions = allowed_actions
            key.allowed_locations = allowed_locations
            key.created_at = self._clock()
            session.add(key)
        return key, api_key

    async def list_keys(self, tenant_id: str) -> Sequence[ApiKey]:
        """A tenant's keys (prefixes and dates only; hashes are useless to show), oldest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
            )
            return rows.all()

    async def revoke_key(
        self, key_id: str, *, tenant_id: str | None = None, keep_an_admin: bool = False
    ) -> ApiKey:
        """Revoke an API key; it stops authenticating at once. Idempotent; returns the row.

        ``tenant_id`` confines the lookup to that tenant's keys (another tenant's key is not
        found). ``keep_an_admin`` refuses, with `LastAdminKey`, to revoke the tenant's last
        active admin key, so a tenant cannot lock itself out of key management.
        Raises `NotFound` if there is no such key.
        """
        async with self._sessions.begin() as session:
            key = await session.get(ApiKey, key_id)
            if key is None or (tenant_id is not None and key.tenant_id != tenant_id):
                raise NotFound("api key", key_id)
            if key.revoked_at is not None:
                return key
            if keep_an_admin and "admin" in key.scope_list:
                # Lock the tenant row: two keys revoking each other cannot both pass the count.
                await session.execute(
                    select(Tenant.id).where(Tenant.id == key.tenant_id).with_for_update()
                )
                others = await session.scalars(
                    select(ApiKey.scopes).where(
                        ApiKey.tenant_id == key.tenant_id,
                        ApiKey.id != key.id,
                        ApiKey.revoked_at.is_(None),
                    )
                )
                if not any("admin" in scopes.split() for scopes in others):
                    raise LastAdminKey(key_id)
            key.revoked_at = self._clock()
        return key
