"""Webhook ingest: signed GHL deliveries into `ghl-bridge serve` (SQLite, in-process queue) next
to a bare Starlette endpoint that only reads the body — the floor any receiver pays.

Ours verifies the Ed25519 signature over the raw bytes, checks the timestamp, inserts into the
inbox (unique on webhookId), enqueues the event id and answers; the worker then processes it.
Also checks that every delivery was stored exactly once, duplicates included.

    python -m bench.webhook_ingest [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bench._harness import BIN, free_port, print_table, server, summary_ms, write_results
from ghl_bridge.vault import KeyRing

Delivery = tuple[bytes, dict[str, str]]


def deliveries(count: int, key: ed25519.Ed25519PrivateKey) -> list[Delivery]:
    out = []
    for n in range(count):
        body = {
            "type": "ContactCreate",
            "locationId": "benchLocation0000001",
            "id": f"c{n:019d}",
            "email": f"person{n}@example.com",
            "firstName": "Bench",
            "tags": ["bench", "ingest"],
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "webhookId": str(uuid.uuid4()),
        }
        raw = json.dumps(body).encode()
        headers = {
            "x-ghl-signature": base64.b64encode(key.sign(raw)).decode(),
            "Content-Type": "application/json",
        }
        out.append((raw, headers))
    return out


async def drive(
    url: str, items: list[Delivery], concurrency: int
) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    queue: asyncio.Queue[Delivery] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            raw, headers = queue.get_nowait()
            started = time.perf_counter()
            async with session.post(url, data=raw, headers=headers) as resp:
                await resp.read()
                statuses.append(resp.status)
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, statuses


def count(database_url: str, status: str | None = None) -> int:
    sql = "SELECT count(*) FROM webhook_events" + (" WHERE status = 'processed'" if status else "")
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as conn:
            return int(conn.execute(sql).fetchone()[0])
    return asyncio.run(_pg_count(database_url, sql))


async def _pg_count(database_url: str, sql: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def _pg_reset(database_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 deliveries instead of 5,000")
    parser.add_argument(
        "--pg", metavar="URL", help="also run on this (emptied!) PostgreSQL database"
    )
    args = parser.parse_args(argv)
    n, concurrency = (500, 20) if args.quick else (5000, 20)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        cmd = [
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "bench.baseline_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with server(cmd, port, cwd=Path(__file__).resolve().parents[1]):
            elapsed, lat, _ = asyncio.run(
                drive(f"http://127.0.0.1:{port}/webhooks/ghl", deliveries(n, key), concurrency)
            )
        metrics["baseline_rps"] = round(n / elapsed, 1)
        metrics.update({f"baseline_{k}": v for k, v in summary_ms(lat).items()})

        items = deliveries(n, key)
        runs = [("sqlite", f"sqlite+aiosqlite:///{work / 'bench.db'}")]
        if args.pg:
            runs.append(("pg", args.pg))
        for label, url in runs:
            metrics.update(_run_ours(label, url, items, pem, work, concurrency))
    goals = {
        "sqlite_stored_exactly_once": "== 1",
        "sqlite_non_200": "== 0",
        "sqlite_ingest_p99_ms": "<= 250",
    }
    print_table(
        f"webhook ingest: {n} signed deliveries, concurrency {concurrency}", sorted(metrics.items())
    )
    print(f"\nwrote {write_results('webhook_ingest', metrics, goals)}")
    ok = all(metrics[k] == 1 for k in metrics if k.endswith("stored_exactly_once"))
    return 0 if ok and not any(metrics[k] for k in metrics if k.endswith("non_200")) else 1


def _run_ours(
    label: str, database_url: str, items: list[Delivery], pem: str, work: Path, concurrency: int
) -> dict[str, float]:
    if database_url.startswith("postgresql"):
        asyncio.run(_pg_reset(database_url))
    n = len(items)
    env = {
        "GHL_BRIDGE_DATABASE_URL": database_url,
        "GHL_BRIDGE_WEBHOOK_ED25519_KEYS": pem,
        "GHL_BRIDGE_ENCRYPTION_KEYS": KeyRing.generate("bench"),
    }
    port = free_port()
    cmd = [str(BIN / "ghl-bridge"), "serve", "--port", str(port)]
    with server(cmd, port, env=env, cwd=work):
        url = f"http://127.0.0.1:{port}/webhooks/ghl"
        elapsed, lat, statuses = asyncio.run(drive(url, items, concurrency))
        started = time.perf_counter()
        while count(database_url, "processed") < n and time.perf_counter() - started < 300:
            time.sleep(0.1)
        drained = time.perf_counter() - started
        dup_elapsed, _, dup_statuses = asyncio.run(drive(url, items[: n // 10], concurrency))
    m = {"ingest_rps": round(n / elapsed, 1)}
    m.update({f"ingest_{k}": v for k, v in summary_ms(lat).items()})
    m["processed_after_ingest_s"] = round(drained, 2)
    m["end_to_end_events_per_s"] = round(n / (elapsed + drained), 1)
    m["non_200"] = float(sum(1 for s in statuses + dup_statuses if s != 200))
    m["stored_exactly_once"] = float(count(database_url) == n)
    m["duplicates_rps"] = round((n // 10) / dup_elapsed, 1)
    return {f"{label}_{k}": v for k, v in m.items()}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
