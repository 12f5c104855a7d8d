"""The refresh race (issue #4): N processes × M concurrent calls on one connection whose
access token has just expired, sharing the database (and Redis when given). GHL burns a refresh
token on use, so a second refresh request would either burn the connection or — with the
simulator's grace set to 0 — fail outright.

Goals: exactly one refresh request reaches the simulator (`refresh_requests`), no call fails
(`failed_calls`), and the refresh token left in the database is the live one.

    python -m bench.refresh_race [--quick]   (PostgreSQL + Redis; --quick: 2 × 50 calls)

`run_race` is also what tests/integration/test_refresh_race.py runs, on SQLite (one process),
PostgreSQL + Redis and PostgreSQL alone (advisory locks), at a smaller size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/ghl_bridge_bench"
REDIS_URL = "redis://127.0.0.1:6379/0"
CALLBACK = "http://127.0.0.1:9/oauth/callback"  # the simulator redirects; nobody listens


@dataclass(frozen=True)
class RaceResult:
    refresh_requests: int
    failed_calls: int
    calls: int
    stored_token_is_live: bool
    errors: dict[str, int]


async def install_on_simulator(sim: httpx.AsyncClient, location_id: str) -> dict[str, Any]:
    """A real OAuth install on the simulator: chooselocation → code → tokens."""
    seed = (await sim.get("/_sim/seed")).json()
    app = seed["app"]
    resp = await sim.get(
        "/oauth/chooselocation",
        params={"response_type": "code", "client_id": app["clientId"],
                "redirect_uri": CALLBACK, "scope": "contacts.readonly contacts.write",
                "locationId": location_id},
    )  # fmt: skip
    code = parse_qs(urlsplit(resp.headers["location"]).query)["code"][0]
    form = {"client_id": app["clientId"], "client_secret": app["clientSecret"],
            "grant_type": "authorization_code", "code": code, "user_type": "Location"}  # fmt: skip
    grant = (await sim.post("/oauth/token", data=form)).raise_for_status().json()
    return {"app": app, "grant": grant}


async def run_race(
    sim_url: str,
    db_url: str,
    *,
    redis_url: str | None,
    processes: int,
    calls: int,
    cross_process_lock: bool = True,
) -> RaceResult:
    """Install, store the connection already due for refresh, race, and check the outcome.

    The simulator must run with ``refresh_grace_s=0`` (a reused refresh token fails at once).
    ``cross_process_lock=False`` is the control: each process only locks within itself.
    """
    from ghl_bridge.client.resources.oauth import TokenGrant
    from ghl_bridge.oauth.app import OAuthApp
    from ghl_bridge.oauth.tokens import ConnectionTokens, seal_context
    from ghl_bridge.store.connections import ConnectionRepo
    from ghl_bridge.store.db import make_engine, make_sessionmaker
    from ghl_bridge.store.migrate import upgrade
    from ghl_bridge.store.tenants import TenantRepo
    from ghl_bridge.vault import KeyRing, Vault

    keyring = KeyRing.generate()
    vault = Vault(KeyRing.parse(keyring))
    await upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    repo = ConnectionRepo(sessions)
    async with httpx.AsyncClient(base_url=sim_url, timeout=30) as sim:
        seed = (await sim.get("/_sim/seed")).json()
        location = seed["locations"][0]
        installed = await install_on_simulator(sim, location["id"])
        app = installed["app"]
        contact = (
            await sim.post(
                "/contacts/",
                json={"locationId": location["id"], "email": f"race-{uuid.uuid4().hex}@x.test"},
                headers={"Authorization": f"Bearer {location['pit']}", "Version": "2021-07-28"},
            )
        ).json()["contact"]["id"]
        tenant, _ = await TenantRepo(sessions).create(f"race-{uuid.uuid4().hex[:8]}")
        oauth_app = OAuthApp(app["clientId"], app["clientSecret"], "", (), "")
        tokens = ConnectionTokens(oauth_app, repo, vault)
        grant = TokenGrant.from_response(installed["grant"])
        conn = await tokens.store_grant(tenant.id, grant)
        # The access token "has just expired" as far as we know: every call must refresh first.
        await repo.rotate_tokens(
            conn.id,
            expected_version=conn.version,
            access_sealed=conn.access_token_sealed,
            refresh_sealed=conn.refresh_token_sealed,
            key_id=conn.key_id,
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
        # GHL's token endpoint takes a few hundred ms: every process reads the expired token
        # long before any refresh could be stored, so only the lock can keep them apart.
        latency = {"kind": "latency", "count": 1000, "delayMs": 300,
                   "match": {"method": "POST", "pathPrefix": "/oauth/token"}}  # fmt: skip
        (await sim.post("/_sim/faults", json=latency)).raise_for_status()
        before = (await sim.get("/_sim/journal")).json()["posts"].get("get-access-token", 0)
        spec = {
            "url": sim_url, "db": db_url, "redis": redis_url, "keyring": keyring,
            "prefix": f"race-{uuid.uuid4().hex[:8]}", "client_id": app["clientId"],
            "client_secret": app["clientSecret"], "location": location["id"],
            "contact": contact, "calls": calls, "start_at": time.time() + 3.0,
            "cross_process_lock": cross_process_lock,
        }  # fmt: skip
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench._refresh_driver", json.dumps(spec),
                stdout=asyncio.subprocess.PIPE, cwd=ROOT,
            )
            for _ in range(processes)
        ]  # fmt: skip
        outs = []
        for proc in procs:
            stdout, _ = await asyncio.wait_for(proc.communicate(), 300)
            outs.append(json.loads(stdout.decode().strip().splitlines()[-1]))
        after = (await sim.get("/_sim/journal")).json()["posts"].get("get-access-token", 0)
        stored = await repo.get_by_resource(location["id"])
        assert stored is not None and stored.refresh_token_sealed is not None
        refresh_token = vault.unseal(
            stored.refresh_token_sealed, context=seal_context(location["id"], "refresh")
        )
        await sim.delete("/_sim/faults")
        live = await sim.post(
            "/oauth/token",
            data={"client_id": app["clientId"], "client_secret": app["clientSecret"],
                  "grant_type": "refresh_token", "refresh_token": refresh_token,
                  "user_type": "Location"},
        )  # fmt: skip
    await engine.dispose()
    errors: dict[str, int] = {}
    for out in outs:
        for name, n in out["errors"].items():
            errors[name] = errors.get(name, 0) + n
    return RaceResult(
        refresh_requests=after - before,
        failed_calls=sum(o["failures"] for o in outs),
        calls=sum(o["calls"] for o in outs),
        stored_token_is_live=live.status_code == 200,
        errors=errors,
    )


def main(argv: list[str]) -> int:
    from bench._harness import BIN, free_port, print_table, server, write_results

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args(argv).quick
    processes, calls = (2, 50) if quick else (4, 250)
    _ensure_database(PG_URL)
    port = free_port()
    cmd = [
        str(BIN / "ghl-bridge"), "sim", "--port", str(port), "--rate-limit", "1000000/10s",
        "--refresh-grace", "0",
    ]  # fmt: skip
    with server(cmd, port, cwd=ROOT):
        url = f"http://127.0.0.1:{port}"
        race = run_race(url, PG_URL, redis_url=REDIS_URL, processes=processes, calls=calls)
        result = asyncio.run(race)
    metrics = {
        "refresh_requests": result.refresh_requests,
        "failed_calls": result.failed_calls,
        "calls": result.calls,
        "stored_token_is_live": int(result.stored_token_is_live),
    }
    goals = {"refresh_requests": "== 1", "failed_calls": "== 0"}
    print_table(f"refresh race: {processes} processes x {calls} calls", sorted(metrics.items()))
    print(f"errors: {result.errors}\nwrote {write_results('refresh_race', metrics, goals)}")
    ok = result.refresh_requests == 1 and result.failed_calls == 0 and result.stored_token_is_live
    return 0 if ok else 1


def _ensure_database(url: str) -> None:
    """An empty benchmark database: created if missing, its schema dropped if not."""
    name = urlsplit(url).path.lstrip("/")
    check = f"SELECT 1 FROM pg_database WHERE datname='{name}'"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", check]
    found = subprocess.run(psql, capture_output=True, text=True, check=True).stdout.strip()
    if found != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    reset = "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", name, "-qc", reset],
                   check=True, capture_output=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
