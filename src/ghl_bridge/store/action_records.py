"""Facts the actions keep because GHL keeps none: workflow enrollments, campaign pauses.

One row per ``(tenant, location, kind, key)``; writing the same fact again replaces its data.
Every read names the tenant, so one tenant can never see another's records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ghl_bridge.store._repo import Repository
from ghl_bridge.store.models import ActionRecord

MAX_LIST = 1000


@dataclass(frozen=True, slots=True)
class Fact:
    key: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _fact(row: ActionRecord) -> Fact:
    return Fact(row.key, json.loads(row.data), row.created_at, row.updated_at)


class ActionRecordRepo(Repository):
    async def put(
        self, tenant_id: str, location_id: str, kind: str, key: str, data: dict[str, Any]
    ) -> Fact:
        """Create or replace a fact. Two writers racing on a new key: the loser updates."""
        encoded = json.dumps(data, separators=(",", ":"), sort_keys=True)
        for _ in range(2):
            now = self._clock()
            try:
                async with self._sessions.begin() as session:
                    row = await session.scalar(
                        select(ActionRecord).where(
                            ActionRecord.tenant_id == tenant_id,
                            ActionRecord.location_id == location_id,
                            ActionRecord.kind == kind,
                            ActionRecord.key == key,
                        )
                    )
                    if row is None:
                        row = ActionRecord(
                            tenant_id=tenant_id,
                            location_id=location_id,
                            kind=kind,
                            key=key,
                            created_at=now,
                        )
                        session.add(row)
                    row.data = encoded
                    row.updated_at = now
                    await session.flush()
                    return _fact(row)
            except IntegrityError:
                continue
        raise RuntimeError(f"could not record {kind} {key!r}")  # pragma: no cover

    async def get(self, tenant_id: str, location_id: str, kind: str, key: str) -> Fact | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ActionRecord).where(
                    ActionRecord.tenant_id == tenant_id,
                    ActionRecord.location_id == location_id,
                    ActionRecord.kind == kind,
                    ActionRecord.key == key,
                )
            )
            return None if row is None else _fact(row)

    async def list(
        self,
        tenant_id: str,
        location_id: str,
        kind: str,
        *,
        key_prefix: str = "",
        limit: int = MAX_LIST,
    ) -> Sequence[Fact]:
        """Facts of one kind, newest first; ``key_prefix`` narrows them (e.g. one workflow)."""
        query = select(ActionRecord).where(
            ActionRecord.tenant_id == tenant_id,
            ActionRecord.location_id == location_id,
            ActionRecord.kind == kind,
        )
        if key_prefix:
            query = query.where(ActionRecord.key.startswith(key_prefix, autoescape=True))
        query = query.order_by(ActionRecord.updated_at.desc()).limit(min(limit, MAX_LIST))
        async with self._sessions() as session:
            return [_fact(row) for row in await session.scalars(query)]

    async def forget(self, tenant_id: str, location_id: str, kind: str, key: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ActionRecord).where(
                    ActionRecord.tenant_id == tenant_id,
                    ActionRecord.location_id == location_id,
                    ActionRecord.kind == kind,
                    ActionRecord.key == key,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
