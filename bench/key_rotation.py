"""Key rotation at scale (issue #4): N connections sealed under key A, key B made active, then
`KeyRotator.rotate` re-seals them all. Acceptance: 10,000 connections, every one under B
afterwards with its tokens unchanged, none left that only key A opens.

    python -m bench.key_rotation [--rows 10000] [--batch 500] [--sqlite-only]

Runs on SQLite (a temporary file) and on PostgreSQL (database `ghl_bridge_bench_keys`, emptied
first). Prints rows/s per database and writes bench/results/key_rotation.json.
`seed` and `rotate_and_verify` are also what tests/integration/test_key_rotation.py runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ghl_bridge.oauth.key_rotation import KeyRotator
from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.models import Connection, new_id
from ghl_bridge.store.tenants import TenantRepo
from ghl_bridge.vault import KeyRing, Vault, VaultError

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/ghl_bridge_bench_keys"
KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
RING_A = KeyRing([("A", KEY_A)])
RING_BA = KeyRing([("B", KEY_B), ("A", KEY_A)])
RING_B = KeyRing([("B", KEY_B)])
INSERT_CHUNK = 1000


def access_token(i: int) -> str:
    return f"access-token-{i:06d}"


def refresh_token(i: int) -> str:
    return f"refresh-token-{i:06d}"


def location(i: int) -> str:
    return f"loc_{i:06d}"


async def seed(sessions: async_sessionmaker[AsyncSession], vault: Vault, rows: int) -> str:
    """``rows`` location connections of one new tenant, sealed with ``vault`` (bulk inserts:
    ConnectionRepo.upsert is one transaction per row, too slow to seed thousands). Every 10th
    has no refresh token, as a private-integration token would. Returns the tenant id."""
    tenant, _ = await TenantRepo(sessions).create(f"keys-{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC)
    values = []
    for i in range(rows):
        rid = location(i)
        refresh = refresh_token(i) if i % 10 else None
        values.append(
            {
                "id": new_id("con_"),
                "tenant_id": tenant.id,
                "user_type": "Location",
                "company_id": "cmp_bench",
                "location_id": rid,
                "resource_id": rid,
                "access_token_sealed": vault.seal(
                    access_token(i), context=seal_context(rid, "access")
                ),
                "refresh_token_sealed": None
                if refresh is None
                else vault.seal(refresh, context=seal_context(rid, "refresh")),
                "key_id": vault.active_kid,
                "expires_at": now + timedelta(hours=1),
                "scopes": "contacts.readonly",
                "status": "active",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    async with sessions.begin() as session:
        for start in range(0, rows, INSERT_CHUNK):
            await session.execute(insert(Connection), values[start : start + INSERT_CHUNK])
    return tenant.id


@dataclass(frozen=True)
class RotationRun:
    rows: int
    seconds: float
    remaining: int
    wrong_values: int
    still_needs_old_key: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


async def rotate_and_verify(sessions: async_sessionmaker[AsyncSession], batch: int) -> RotationRun:
    """Rotate everything seeded by `seed` to key B, then open every credential with a ring
    holding B alone and compare it with what was sealed."""
    repo = ConnectionRepo(sessions)
    rotator = KeyRotator(repo, Vault(RING_BA))
    started = time.perf_counter()
    report = await rotator.rotate(batch_size=batch)
    seconds = time.perf_counter() - started
    only_b = Vault(RING_B)
    wrong = needs_a = 0
    for conn in await repo.list():
        i = int(conn.resource_id.removeprefix("loc_"))
        pairs = [(conn.access_token_sealed, "access", access_token(i))]
        if conn.refresh_token_sealed is not None:
            pairs.append((conn.refresh_token_sealed, "refresh", refresh_token(i)))
        for sealed, which, expected in pairs:
            try:
                plain = only_b.unseal(sealed, context=seal_context(conn.resource_id, which))
            except VaultError:
                needs_a += 1
                continue
            wrong += plain != expected
        wrong += conn.key_id != "B"
    return RotationRun(
        rows=report.resealed,
        seconds=seconds,
        remaining=await rotator.remaining(),
        wrong_values=wrong,
        still_needs_old_key=needs_a,
    )


async def run(db_url: str, rows: int, batch: int) -> RotationRun:
    from ghl_bridge.store.db import make_engine, make_sessionmaker
    from ghl_bridge.store.migrate import upgrade

    await upgrade(db_url)
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        await seed(sessions, Vault(RING_A), rows)
        return await rotate_and_verify(sessions, batch)
    finally:
        await engine.dispose()


async def _reset_pg(url: str) -> None:
    """An empty benchmark database: created if missing, its schema dropped if not."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(urlsplit(dsn)._replace(path="/postgres").geturl())
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    from bench._harness import print_table, write_results

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, RotationRun] = {}
    with tempfile.TemporaryDirectory(prefix="bench-keys-") as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'keys.db'}"
        results["sqlite"] = asyncio.run(run(db, args.rows, args.batch))
    if not args.sqlite_only:
        asyncio.run(_reset_pg(PG_URL))
        results["postgresql"] = asyncio.run(run(PG_URL, args.rows, args.batch))
    metrics: dict[str, float] = {"rows": args.rows, "batch": args.batch}
    for name, r in results.items():
        metrics[f"{name}_rows_per_s"] = round(r.rows_per_s)
        metrics[f"{name}_seconds"] = round(r.seconds, 2)
        metrics[f"{name}_resealed"] = r.rows
        metrics[f"{name}_remaining"] = r.remaining
        metrics[f"{name}_wrong_values"] = r.wrong_values
        metrics[f"{name}_still_needs_old_key"] = r.still_needs_old_key
    goals = {
        "*_resealed": f"== {args.rows}",
        "*_remaining": "== 0",
        "*_wrong_values": "== 0",
        "*_still_needs_old_key": "== 0",
    }
    print_table(f"key rotation: {args.rows} connections, batch {args.batch}", list(metrics.items()))
    print(f"wrote {write_results('key_rotation', metrics, goals)}")
    ok = all(
        r.rows == args.rows and r.remaining == r.wrong_values == r.still_needs_old_key == 0
        for r in results.values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
