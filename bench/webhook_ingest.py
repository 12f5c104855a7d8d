"""Webhook ingest: signed GHL deliveries into `ghl-bridge serve` next to a bare Starlette endpoint
that only reads the body and answers 200 — the floor any receiver pays on this machine.

Ours verifies the Ed25519 signature over the raw bytes, checks the timestamp, stores the event
(group commit: concurrent deliveries share one transaction, unique on webhookId) with its queue
job, answers 200 only after the commit; the in-process worker then processes it. Run on SQLite
and on PostgreSQL. Two phases per server, the load generator in this process (the servers run
in their own):
1. max rate: a closed loop of N deliveries at a fixed concurrency → accepted deliveries / s;
2. half load: an open loop at half that rate → receipt → processed latency per event (from the
   inbox's `received_at` and `processed_at`: an upper bound of receipt → handler start);
3. the same at half the rate the worker keeps up with (end-to-end), for context.
Before that, per database, the bare endpoint again (each ratio is against the bare run seconds
before it: the machine's speed drifts) and the receiver alone (`serve --no-worker`): phase 1.
Then 10 % are re-sent as duplicates; every delivery must be stored exactly once.

    python -m bench.webhook_ingest [--quick] [--pg URL | --no-pg]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bench._harness import BIN, free_port, print_table, server, summary_ms, write_results
from bench._loadgen import Delivery, closed_loop, open_loop
from ghl_bridge.vault import KeyRing

LOCATION = "benchLocation0000001"
COMPANY = "benchCompany00000001"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/ghl_bridge_bench"
CONCURRENCY = 64


def deliveries(count: int, key: ed25519.Ed25519PrivateKey) -> list[Delivery]:
    out = []
    for n in range(count):
        body = {
            "type": "ContactCreate",
            "locationId": LOCATION,
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


# --- the database under test: seed, count, read timings ---------------------------------------


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _pg(url: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        if not args and ";" in sql:  # a script: no prepared statement, no rows
            await conn.execute(sql)
            return []
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def query(url: str, sql: str, *args: Any) -> list[Any]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return conn.execute(sql.replace("$1", "?"), args).fetchall()
    return asyncio.run(_pg(url, sql, *args))


def count(url: str, processed: bool = False) -> int:
    where = " WHERE status = 'processed'" if processed else ""
    return int(query(url, "SELECT count(*) FROM webhook_events" + where)[0][0])


def delays_ms(url: str, event_ids: list[str]) -> list[float]:
    """receipt → processed, per event, from the inbox's own timestamps (one clock)."""
    rows = query(url, "SELECT id, received_at, processed_at FROM webhook_events")
    wanted, out = set(event_ids), []
    for event_id, received, processed in rows:
        if event_id in wanted and processed is not None:
            out.append((_dt(processed) - _dt(received)).total_seconds() * 1000)
    return out


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def seed(url: str, keys: str) -> None:
    """A tenant holding the bench location: the receiver stores events of held locations only."""
    from ghl_bridge.store.connections import ConnectionRepo
    from ghl_bridge.store.db import make_engine, make_sessionmaker
    from ghl_bridge.store.migrate import upgrade
    from ghl_bridge.store.tenants import TenantRepo
    from ghl_bridge.vault import Vault

    if url.startswith("postgresql"):
        await _pg(url, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    await upgrade(url)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        tenant, _ = await TenantRepo(sessions).create("bench")
        vault = Vault(KeyRing.parse(keys))
        await ConnectionRepo(sessions).upsert(
            tenant.id,
            user_type="Location",
            company_id=COMPANY,
            location_id=LOCATION,
            access_sealed=vault.seal("unused", context="bench"),
            refresh_sealed=None,
            key_id="bench",
            expires_at=None,
            scopes="",
        )
    finally:
        await engine.dispose()


async def pg_reachable(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(_dsn(url), timeout=3)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(_dsn(url).rsplit("/", 1)[0] + "/postgres", timeout=3)
        try:
            await admin.execute(f'CREATE DATABASE "{_dsn(url).rsplit("/", 1)[1]}"')
        finally:
            await admin.close()
        return True
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


# --- the runs -----------------------------------------------------------------------------------


def run_bare(n: int, key: ed25519.Ed25519PrivateKey) -> dict[str, float]:
    port = free_port()
    cmd = [
        str(BIN / "python"), "-m", "uvicorn", "bench.baseline_app:app", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with server(cmd, port, cwd=Path(__file__).resolve().parents[1]):
        url = f"http://127.0.0.1:{port}/webhooks/ghl"
        asyncio.run(closed_loop(url, deliveries(500, key), CONCURRENCY))  # warm-up
        result = asyncio.run(closed_loop(url, deliveries(n, key), CONCURRENCY))
    metrics = {"bare_rps": round(n / result["elapsed"], 1)}
    metrics.update({f"bare_{k}": v for k, v in summary_ms(result["latencies"]).items()})
    return metrics


def _env(url: str, pem: str) -> dict[str, str]:
    """A freshly seeded database and the settings `serve` needs for it."""
    keys = KeyRing.generate("bench")
    asyncio.run(seed(url, keys))
    return {
        "GHL_BRIDGE_DATABASE_URL": url,
        "GHL_BRIDGE_WEBHOOK_ED25519_KEYS": pem,
        "GHL_BRIDGE_ENCRYPTION_KEYS": keys,
    }


def run_receiver_only(
    label: str, url: str, n: int, key: ed25519.Ed25519PrivateKey, pem: str, work: Path
) -> dict[str, float]:
    """`serve --no-worker`: what the receiver alone accepts (verify, store, queue) when the
    processing runs elsewhere (a `worker` process), for comparison with the embedded mode."""
    env = _env(url, pem)
    port = free_port()
    cmd = [str(BIN / "ghl-bridge"), "serve", "--no-worker", "--port", str(port)]
    with server(cmd, port, env=env, cwd=work):
        hook = f"http://127.0.0.1:{port}/webhooks/ghl"
        asyncio.run(closed_loop(hook, deliveries(200, key), CONCURRENCY))  # warm-up
        peak = asyncio.run(closed_loop(hook, deliveries(n, key), CONCURRENCY))
    return {f"{label}_receiver_only_rps": round(n / peak["elapsed"], 1)}


def run_ours(
    label: str, url: str, n: int, key: ed25519.Ed25519PrivateKey, pem: str, work: Path
) -> dict[str, float]:
    env = _env(url, pem)
    port = free_port()
    m: dict[str, float] = {}
    with server([str(BIN / "ghl-bridge"), "serve", "--port", str(port)], port, env=env, cwd=work):
        hook = f"http://127.0.0.1:{port}/webhooks/ghl"
        asyncio.run(closed_loop(hook, deliveries(200, key), CONCURRENCY))  # warm-up
        items = deliveries(n, key)
        peak = asyncio.run(closed_loop(hook, items, CONCURRENCY))
        m["rps"] = round(n / peak["elapsed"], 1)
        m.update({f"max_{k}": v for k, v in summary_ms(peak["latencies"]).items()})
        drained = _drain(url, time.perf_counter())
        m["processed_after_ingest_s"] = round(drained, 2)
        m["end_to_end_events_per_s"] = round(n / (peak["elapsed"] + drained), 1)
        half_rate = m["rps"] / 2
        half_items = deliveries(max(200, int(half_rate * (4 if n < 5000 else 10))), key)
        half = asyncio.run(open_loop(hook, half_items, half_rate))
        half["ids"] = _event_ids(half)
        _drain(url, time.perf_counter())
        m["half_load_rps"] = round(half_rate, 1)
        m.update({f"half_http_{k}": v for k, v in summary_ms(half["latencies"]).items()})
        handled = delays_ms(url, half["ids"])
        m.update({f"half_receipt_to_processed_{k}": v for k, v in _ms_summary(handled).items()})
        # Context for the goal above: the same at half the rate the worker keeps up with.
        slow_rate = max(10.0, m["end_to_end_events_per_s"] / 2)
        slow_items = deliveries(int(slow_rate * (4 if n < 5000 else 10)), key)
        slow = asyncio.run(open_loop(hook, slow_items, slow_rate))
        slow["ids"] = _event_ids(slow)
        _drain(url, time.perf_counter())
        m["half_processing_rate_rps"] = round(slow_rate, 1)
        handled = delays_ms(url, slow["ids"])
        m.update({f"half_processing_rate_{k}": v for k, v in _ms_summary(handled).items()})
        dup = asyncio.run(closed_loop(hook, items[: n // 10], CONCURRENCY))
        m["duplicates_rps"] = round((n // 10) / dup["elapsed"], 1)
    statuses = peak["statuses"] + half["statuses"] + slow["statuses"] + dup["statuses"]
    m["non_200"] = float(sum(1 for s in statuses if s != 200))
    m["answers_429"] = float(statuses.count(429))  # overload: GHL redelivers these
    m["stored_exactly_once"] = float(count(url) == n + len(half_items) + len(slow_items) + 200)
    m["all_processed"] = float(count(url, processed=True) == count(url))
    return {f"{label}_{k}": v for k, v in m.items()}


def _event_ids(run: dict[str, Any]) -> list[str]:
    answers = zip(run["statuses"], run["bodies"], strict=True)
    return [json.loads(body)["eventId"] for status, body in answers if status == 200]


def _ms_summary(values_ms: list[float]) -> dict[str, float]:
    return summary_ms([v / 1000 for v in values_ms]) if values_ms else {"p99_ms": float("nan")}


def _drain(url: str, started: float, limit_s: float = 300) -> float:
    while count(url, processed=True) < count(url) and time.perf_counter() - started < limit_s:
        time.sleep(0.1)
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3,000 deliveries instead of 10,000")
    parser.add_argument("--pg", metavar="URL", help=f"PostgreSQL to empty and use ({DEFAULT_PG})")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    n = 3000 if args.quick else 10000
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    pg_url = args.pg or os.environ.get("GHL_BRIDGE_BENCH_PG_URL", DEFAULT_PG)
    metrics = run_bare(n, key)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs = [("sqlite", f"sqlite+aiosqlite:///{work / 'bench.db'}")]
        if not args.no_pg and asyncio.run(pg_reachable(pg_url)):
            runs.append(("postgres", pg_url))
        elif not args.no_pg:
            print(f"PostgreSQL not reachable at {pg_url}: SQLite only", file=sys.stderr)
        for label, url in runs:
            alone = url.replace("bench.db", "receiver.db")  # PostgreSQL: emptied again after
            # The bare endpoint again, right before this database's runs: this machine's speed
            # drifts by ±20 % over minutes, so each ratio compares runs seconds apart.
            metrics[f"{label}_bare_rps"] = run_bare(n, key)["bare_rps"]
            metrics.update(run_receiver_only(label, alone, n, key, pem, work))
            metrics.update(run_ours(label, url, n, key, pem, work))
    goals: dict[str, str] = {}
    for label, _ in runs:
        bare = metrics[f"{label}_bare_rps"]
        metrics[f"ratio_vs_bare_{label}"] = round(metrics[f"{label}_rps"] / bare, 3)
        metrics[f"receiver_only_ratio_vs_bare_{label}"] = round(
            metrics[f"{label}_receiver_only_rps"] / bare, 3
        )
        metrics[f"p99_ms_half_load_{label}"] = metrics[f"{label}_half_receipt_to_processed_p99_ms"]
        goals[f"ratio_vs_bare_{label}"] = ">= 0.40"
        goals[f"p99_ms_half_load_{label}"] = "< 100"
        goals[f"{label}_stored_exactly_once"] = "== 1"
        goals[f"{label}_non_200"] = "== 0"
    print_table(
        f"webhook ingest: {n} signed deliveries, concurrency {CONCURRENCY}", sorted(metrics.items())
    )
    print(f"\nwrote {write_results('webhook_ingest', metrics, goals)}")
    ok = all(metrics[k] == 1 for k in metrics if k.endswith("stored_exactly_once"))
    return 0 if ok and not any(metrics[k] for k in metrics if k.endswith("non_200")) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
