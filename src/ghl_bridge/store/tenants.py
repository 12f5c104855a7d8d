"""Tenants and their API keys. Keys are shown once at creation; only sha256 + prefix are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.errors import NotFound, TenantExists
from ghl_bridge.store.models import ApiKey, Tenant

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


def _key_row(tenant_id: str, api_key: str) -> ApiKey:
    return ApiKey(
        tenant_id=tenant_id,
        prefix=api_key[:DISPLAY_PREFIX_CHARS],
        key_hash=hash_api_key(api_key),
    )


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"a tenant name must be 1-{MAX_NAME_LENGTH} characters")
    return cleaned


class TenantRepo(Repository):
    """Tenants (accounts of the workflow platform) and their API keys."""

    async def create(self, name: str) -> tuple[Tenant, str]:
        """Create a tenant with a first API key; returns ``(tenant, plaintext key)``.

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
                key = _key_row(tenant.id, api_key)
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
        """The tenant owning this API key, or None if it is unknown, malformed or revoked.

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
            return tenant

    async def create_key(self, tenant_id: str) -> tuple[ApiKey, str]:
        """Issue another API key for a tenant (key rotation); returns ``(row, plaintext key)``.

        Raises `NotFound` if the tenant does not exist.
        """
        api_key = new_api_key()
        async with self._sessions.begin() as session:
            if await session.get(Tenant, tenant_id) is None:
                raise NotFound("tenant", tenant_id)
            key = _key_row(tenant_id, api_key)
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

    async def revoke_key(self, key_id: str) -> None:
        """Revoke an API key; it stops authenticating at once. Idempotent.

        Raises `NotFound` if there is no such key.
        """
        async with self._sessions.begin() as session:
            key = await session.get(ApiKey, key_id)
            if key is None:
                raise NotFound("api key", key_id)
            if key.revoked_at is None:
                key.revoked_at = self._clock()
