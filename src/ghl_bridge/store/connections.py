"""GHL connections (sealed OAuth tokens per location or company) and their ownership by tenants.

Tokens arrive here already sealed by the vault; this module never sees plaintext tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.errors import NotFound, ResourceOwnedByOtherTenant, StoreError
from ghl_bridge.store.models import CONNECTION_STATUSES, USER_TYPES, Connection, Tenant
from ghl_bridge.store.types import require_aware


def resource_id_for(user_type: str, company_id: str, location_id: str | None) -> str:
    """The GHL resource a connection is for: the location, or the company for agency tokens.

    Raises `ValueError` for an unknown user type, a Location without a location id or a
    Company without a company id.
    """
    if user_type not in USER_TYPES:
        raise ValueError(f"user_type must be one of {USER_TYPES}")
    if user_type == "Location":
        if not location_id:
            raise ValueError("a Location connection needs a location_id")
        return location_id
    if not company_id:
        raise ValueError("a Company connection needs a company_id")
    return company_id


class ConnectionRepo(Repository):
    """Connections: one per GHL resource across all tenants, never silently reassigned."""

    async def upsert(
        self,
        tenant_id: str,
        *,
        user_type: str,
        company_id: str,
        location_id: str | None,
        access_sealed: str,
        refresh_sealed: str | None,
        key_id: str,
        expires_at: datetime | None,
        scopes: str,
    ) -> Connection:
        """Store the tokens of a (re)authorized connection and mark it active.

        A new resource gets a new row; the same tenant re-authorizing replaces the tokens and
        bumps ``version`` (so an in-flight rotation based on the old tokens loses its CAS).
        Raises `ResourceOwnedByOtherTenant` if another tenant holds the resource, `NotFound` if
        the tenant does not exist, `ValueError` for inconsistent ids (see `resource_id_for`).
        """
        resource_id = resource_id_for(user_type, company_id, location_id)
        require_aware(expires_at, "expires_at")
        fields: dict[str, object] = {
            "user_type": user_type,
            "company_id": company_id,
            "location_id": location_id if user_type == "Location" else None,
            "access_token_sealed": access_sealed,
            "refresh_token_sealed": refresh_sealed,
            "key_id": key_id,
            "expires_at": expires_at,
            "scopes": scopes,
            "status": "active",
        }
        # Two attempts: a concurrent first insert of the same resource makes ours violate the
        # unique constraint; the retry then sees that row and applies the ownership rule.
        for attempt in range(2):
            try:
                async with self._sessions.begin() as session:
                    return await self._upsert_in(session, tenant_id, resource_id, fields)
            except IntegrityError:
                if attempt == 1:
                    raise
        raise StoreError("unreachable")  # pragma: no cover

    async def _upsert_in(
        self, session: AsyncSession, tenant_id: str, resource_id: str, fields: dict[str, object]
    ) -> Connection:
        existing = await session.scalar(
            select(Connection).where(Connection.resource_id == resource_id).with_for_update()
        )
        now = self._clock()
        if existing is None:
            if await session.get(Tenant, tenant_id) is None:
                raise NotFound("tenant", tenant_id)
            row = Connection(
                tenant_id=tenant_id,
                resource_id=resource_id,
                version=1,
                created_at=now,
                updated_at=now,
                **fields,
            )
            session.add(row)
            await session.flush()
            return row
        if existing.tenant_id != tenant_id:
            raise ResourceOwnedByOtherTenant(resource_id)
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.version += 1
        existing.updated_at = now
        await session.flush()
        return existing

    async def get(self, connection_id: str) -> Connection | None:
        """The connection with this id, or None."""
        async with self._sessions() as session:
            return await session.get(Connection, connection_id)

    async def get_by_resource(self, resource_id: str) -> Connection | None:
        """The connection for a GHL location or company id, or None."""
        async with self._sessions() as session:
            return await session.scalar(
                select(Connection).where(Connection.resource_id == resource_id)
            )

    async def list(self, tenant_id: str | None = None) -> Sequence[Connection]:
        """Connections of one tenant, or of all tenants when ``tenant_id`` is None."""
        stmt = select(Connection).order_by(Connection.created_at, Connection.id)
        if tenant_id is not None:
            stmt = stmt.where(Connection.tenant_id == tenant_id)
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def due_for_refresh(self, before: datetime, limit: int = 500) -> Sequence[Connection]:
        """Active connections with a refresh token whose access token expires before ``before``,
        soonest first."""
        stmt = (
            select(Connection)
            .where(
                Connection.status == "active",
                Connection.refresh_token_sealed.is_not(None),
                Connection.expires_at < before,
            )
            .order_by(Connection.expires_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def owner_of(self, location_id: str) -> str | None:
        """The id of the tenant whose connection covers this location, or None.

        Ownership is the row's existence, whatever its status: a revoked or needs-reauth
        connection still belongs to its tenant until it is removed.
        """
        async with self._sessions() as session:
            return await session.scalar(
                select(Connection.tenant_id).where(Connection.resource_id == location_id)
            )

    async def rotate_tokens(
        self,
        connection_id: str,
        expected_version: int,
        *,
        access_sealed: str,
        refresh_sealed: str | None,
        key_id: str,
        expires_at: datetime | None,
    ) -> bool:
        """Replace the tokens if the row is still at ``expected_version`` (compare-and-swap).

        Returns False if another refresher rotated first (or the row is gone): the caller must
        re-read the connection and use the tokens stored there. On success ``version`` is
        incremented.
        """
        require_aware(expires_at, "expires_at")
        stmt = (
            update(Connection)
            .where(Connection.id == connection_id, Connection.version == expected_version)
            .values(
                access_token_sealed=access_sealed,
                refresh_token_sealed=refresh_sealed,
                key_id=key_id,
                expires_at=expires_at,
                version=Connection.version + 1,
                updated_at=self._clock(),
            )
            .returning(Connection.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(stmt)).scalar_one_or_none() is not None

    async def set_status(self, connection_id: str, status: str) -> None:
        """Set ``active``, ``needs_reauth`` or ``revoked``. Does not touch tokens or ``version``.

        Raises `ValueError` for an unknown status, `NotFound` for an unknown connection.
        """
        if status not in CONNECTION_STATUSES:
            raise ValueError(f"status must be one of {CONNECTION_STATUSES}")
        stmt = (
            update(Connection)
            .where(Connection.id == connection_id)
            .values(status=status, updated_at=self._clock())
            .returning(Connection.id)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            if (await session.execute(stmt)).scalar_one_or_none() is None:
                raise NotFound("connection", connection_id)
