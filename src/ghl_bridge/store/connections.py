"""GHL connections (sealed OAuth tokens per location or company) and their ownership by tenants.

Tokens arrive here already sealed by the vault; this module never sees plaintext tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
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

    async def set_plan(self, connection_id: str, plan_id: str) -> None:
        """Record the install's app plan (from INSTALL or PLAN_CHANGE)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Connection).where(Connection.id == connection_id).values(plan_id=plan_id)
            )

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

    # --- Key rotation (issue #4): find credentials not sealed under the active key, re-seal them.

    @staticmethod
    def _not_sealed_under(key_id: str, prefix: str) -> ColumnElement[bool]:
        """A row is sealed under ``key_id`` when its ``key_id`` column says so *and* both of its
        ciphertexts start with ``prefix`` (the vault's ``v1.<kid>.``). The ciphertexts are
        checked too because a refresh that returns no new refresh token keeps the old sealed
        one while stamping the row with the active key id. ``substr`` rather than ``LIKE``:
        SQLite's ``LIKE`` ignores case, and key ids are case-sensitive."""
        n = len(prefix)
        return or_(
            Connection.key_id != key_id,
            func.substr(Connection.access_token_sealed, 1, n) != prefix,
            and_(
                Connection.refresh_token_sealed.is_not(None),
                func.substr(Connection.refresh_token_sealed, 1, n) != prefix,
            ),
        )

    async def not_sealed_under(
        self, key_id: str, prefix: str, *, after_id: str | None = None, limit: int = 500
    ) -> Sequence[Connection]:
        """Up to ``limit`` connections holding a credential not sealed under ``key_id``, by id,
        starting after ``after_id`` (keyset paging: one pass over the table costs one scan,
        however many rows a concurrent writer changes behind it)."""
        stmt = (
            select(Connection)
            .where(self._not_sealed_under(key_id, prefix))
            .order_by(Connection.id)
            .limit(limit)
        )
        if after_id is not None:
            stmt = stmt.where(Connection.id > after_id)
        async with self._sessions() as session:
            return (await session.scalars(stmt)).all()

    async def count_not_sealed_under(self, key_id: str, prefix: str) -> int:
        """How many connections hold a credential not sealed under ``key_id``."""
        stmt = select(func.count()).select_from(Connection)
        stmt = stmt.where(self._not_sealed_under(key_id, prefix))
        async with self._sessions() as session:
            return int(await session.scalar(stmt) or 0)

    async def key_usage(self) -> Sequence[KeyUsage]:
        """Connections per ``key_id`` column value, each with one example connection id."""
        stmt = (
            select(Connection.key_id, func.count(), func.min(Connection.id))
            .group_by(Connection.key_id)
            .order_by(Connection.key_id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        return [KeyUsage(key_id=kid, connections=int(n), example_id=ex) for kid, n, ex in rows]

    async def reseal_tokens(self, reseals: Sequence[Reseal]) -> Sequence[str]:
        """Store re-sealed credentials, each with a compare-and-swap, in one transaction.

        A row is written only if it still has the ``version`` *and* the exact ciphertexts the
        re-seal was computed from; otherwise a refresh (or re-authorization) got there first and
        its tokens stand. ``version`` is deliberately *not* bumped: a re-seal keeps the token
        values, and bumping it would make a refresh already in flight lose its own CAS after GHL
        had burned the old refresh token. Returns the ids actually written.

        One executemany for the batch (a statement per row ran at ~600 rows/s on SQLite), then
        one read in the same transaction to learn which rows took it: the new ciphertexts carry
        fresh nonces, so a row holding one was written by this call.
        """
        if not reseals:
            return []
        # Executed on the session's Connection, so it runs as plain Core (an executemany), not as
        # an ORM bulk update by primary key, which would not keep the CAS criteria.
        cas = (
            update(Connection)
            .where(
                Connection.id == bindparam("b_id"),
                Connection.version == bindparam("b_version"),
                Connection.access_token_sealed == bindparam("b_old_access"),
                Connection.refresh_token_sealed.is_not_distinct_from(bindparam("b_old_refresh")),
            )
            .values(
                access_token_sealed=bindparam("b_access"),
                refresh_token_sealed=bindparam("b_refresh"),
                key_id=bindparam("b_key_id"),
                updated_at=self._clock(),
            )
        )
        params = [
            {
                "b_id": r.connection_id,
                "b_version": r.expected_version,
                "b_old_access": r.old_access_sealed,
                "b_old_refresh": r.old_refresh_sealed,
                "b_access": r.access_sealed,
                "b_refresh": r.refresh_sealed,
                "b_key_id": r.key_id,
            }
            for r in reseals
        ]
        expected = {r.connection_id: r.access_sealed for r in reseals}
        check = select(Connection.id, Connection.access_token_sealed).where(
            Connection.id.in_(list(expected))
        )
        async with self._sessions.begin() as session:
            conn = await session.connection()
            await conn.execute(cas, params)
            stored = (await conn.execute(check)).all()
        return [cid for cid, access in stored if expected[cid] == access]


@dataclass(frozen=True)
class KeyUsage:
    """How many connections name ``key_id``, and one of them (for error messages)."""

    key_id: str
    connections: int
    example_id: str


@dataclass(frozen=True)
class Reseal:
    """A connection's credentials sealed again under ``key_id``, and what they replace (the
    compare side of the compare-and-swap). Holds ciphertexts only; ``repr`` shows none."""

    connection_id: str
    expected_version: int
    old_access_sealed: str = field(repr=False)
    old_refresh_sealed: str | None = field(repr=False)
    access_sealed: str = field(repr=False)
    refresh_sealed: str | None = field(repr=False)
    key_id: str
