"""The idempotency ledger: claim a key before running an unsafe write, record its outcome after.

A duplicate request or a retried job with the same key gets the first outcome back instead of
writing to GHL twice. A claim left ``in_progress`` by a crashed process is taken over once it is
older than ``stale_after`` (the write's outcome is then unknown; we prefer a possible duplicate
to a key stuck forever, and the stale window is far longer than any call's deadline).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.models import IdempotencyRecord, new_id
from ghl_bridge.store.types import require_aware

ClaimState = Literal["new", "replay", "in_progress", "mismatch"]


def request_hash(action: str, location_id: str, payload: Any) -> str:
    canonical = json.dumps([action, location_id, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    state: ClaimState
    status: str | None = None
    response: Any = None


class IdempotencyRepo(Repository):
    ttl = timedelta(hours=24)
    stale_after = timedelta(minutes=10)

    async def prune_expired(self, now: datetime, *, chunk: int = 1000) -> int:
        """Delete the records past their expiry (a key reused after it starts afresh anyway:
        `claim` drops its own expired record first); how many went."""
        require_aware(now, "now")
        doomed = (
            select(IdempotencyRecord.id)
            .where(IdempotencyRecord.expires_at <= now)
            .order_by(IdempotencyRecord.expires_at)
        )
        return await self._delete_in_chunks(IdempotencyRecord, doomed, chunk)

    async def claim(
        self, tenant_id: str, key: str, *, action: str, location_id: str, fingerprint: str
    ) -> Claim:
        """Take ``key`` for this request, or say why not (a replayable outcome, busy, mismatch)."""
        now = self._clock()
        values = {
            "id": new_id("idk_"),
            "tenant_id": tenant_id,
            "key": key,
            "action": action,
            "location_id": location_id,
            "request_hash": fingerprint,
            "status": "in_progress",
            "created_at": now,
            "updated_at": now,
            "expires_at": now + self.ttl,
        }
        async with self._sessions.begin() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.tenant_id == tenant_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.expires_at <= now,
                )
            )
            insert = postgresql.insert if _is_pg(session) else sqlite.insert
            stmt = insert(IdempotencyRecord).values(values).on_conflict_do_nothing()
            if (await session.execute(stmt.returning(IdempotencyRecord.id))).scalar_one_or_none():
                return Claim("new")
            row = (await session.execute(_select(tenant_id, key).with_for_update())).scalar_one()
            return await self._existing(session, row, fingerprint, now)

    async def _existing(
        self, session: Any, row: IdempotencyRecord, fingerprint: str, now: Any
    ) -> Claim:
        if row.request_hash != fingerprint:
            return Claim("mismatch")
        if row.status != "in_progress":
            return Claim("replay", row.status, json.loads(row.response or "null"))
        if now - row.updated_at < self.stale_after:
            return Claim("in_progress")
        await session.execute(  # a crashed holder: take the key over
            update(IdempotencyRecord).where(IdempotencyRecord.id == row.id).values(updated_at=now)
        )
        return Claim("new")

    async def finish(self, tenant_id: str, key: str, *, status: str, response: Any) -> None:
        """Record the outcome (``succeeded``, or a ``failed`` that retrying cannot change)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key)
                .values(status=status, response=json.dumps(response), updated_at=self._clock())
            )

    async def release(self, tenant_id: str, key: str) -> None:
        """Forget a claim whose write failed transiently, so the same key may try again."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.tenant_id == tenant_id,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.status == "in_progress",
                )
            )


def _select(tenant_id: str, key: str) -> Any:
    return select(IdempotencyRecord).where(
        IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
    )


def _is_pg(session: Any) -> bool:
    return bool(session.get_bind().dialect.name == "postgresql")
