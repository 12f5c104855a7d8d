"""Action latency: `contacts.create` through the service (API key → schema → tenant check →
sealed token → rate limiter → circuit → simulator) next to the same create sent straight to
the simulator with a Private Integration Token — the floor. The difference is what the service
adds to each call.

    python -m bench.action_latency [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench._harness import BIN, free_port, print_table, server, summary_ms, write_results
from ghl_bridge.cli.demo import connect
from ghl_bridge.vault import KeyRing

# The simulator and the service agree on a budget far above what the load can reach, so this
# measures the service's own cost; GHL's real 100/10s is exercised by tests and issue #3.
SIM_RATE = "1000000/10s"

Call = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


async def timed(call: Call, n: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    counter = iter(range(n))

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for i in counter:
            started = time.perf_counter()
            status = await call(session, i)
            latencies.append(time.perf_counter() - started)
            failures += status >= 300

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, failures


def tenant_key(env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run(
        [str(BIN / "ghl-bridge"), "tenants", "create", "bench"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip().splitlines()[-1].strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="300 calls per series instead of 2,000"
    )
    parser.add_argument("--no-webhooks", action="store_true", help="do not deliver webhooks back")
    n = 300 if parser.parse_args(argv).quick else 2000
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sim_port, port = free_port(), free_port()
        sim_url, api_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{port}"
        sim_cmd = [
            str(BIN / "ghl-bridge"),
            "sim",
            "--port",
            str(sim_port),
            "--rate-limit",
            SIM_RATE,
        ]
        with server(sim_cmd, sim_port, cwd=work):
            seed = asyncio.run(_json(f"{sim_url}/_sim/seed"))
            env = _service_env(work, sim_url, api_url, seed)
            key = tenant_key(env, work)
            with server(
                [str(BIN / "ghl-bridge"), "serve", "--port", str(port)], port, env=env, cwd=work
            ):
                asyncio.run(connect(api_url, key, seed["locations"][0]["id"]))
                if "--no-webhooks" not in sys.argv:
                    asyncio.run(_register_webhook(sim_url, f"{api_url}/webhooks/ghl"))
                metrics.update(_series(sim_url, api_url, key, seed, n))
    goals = {"overhead_p50_ms_c1": "<= 10", "failures": "== 0"}
    print_table(f"contacts.create latency, {n} calls per series", sorted(metrics.items()))
    print(f"\nwrote {write_results('action_latency', metrics, goals)}")
    return 0 if metrics["failures"] == 0 else 1


def _series(sim_url: str, api_url: str, key: str, seed: dict, n: int) -> dict[str, float]:  # type: ignore[type-arg]
    location = seed["locations"][0]
    direct_headers = {"Authorization": f"Bearer {location['pit']}", "Version": "2021-07-28"}
    api_headers = {"Authorization": f"Bearer {key}"}

    async def direct(session: aiohttp.ClientSession, i: int) -> int:
        body = {"locationId": location["id"], "email": f"d{i}-{time.time_ns()}@bench.example"}
        async with session.post(f"{sim_url}/contacts/", json=body, headers=direct_headers) as r:
            await r.read()
            return r.status

    async def via_service(session: aiohttp.ClientSession, i: int) -> int:
        body = {
            "locationId": location["id"],
            "input": {"email": f"s{i}-{time.time_ns()}@bench.example"},
        }
        async with session.post(
            f"{api_url}/v1/actions/contacts.create", json=body, headers=api_headers
        ) as r:
            await r.read()
            return r.status

    out: dict[str, float] = {}
    failures = 0
    for concurrency in (1, 10):
        for label, call in (("direct", direct), ("service", via_service)):
            elapsed, lat, failed = asyncio.run(timed(call, n, concurrency))
            failures += failed
            out[f"{label}_rps_c{concurrency}"] = round(n / elapsed, 1)
            out.update({f"{label}_{k}_c{concurrency}": v for k, v in summary_ms(lat).items()})
        out[f"overhead_p50_ms_c{concurrency}"] = round(
            out[f"service_p50_ms_c{concurrency}"] - out[f"direct_p50_ms_c{concurrency}"], 2
        )
    out["failures"] = float(failures)
    return out


def _service_env(work: Path, sim_url: str, api_url: str, seed: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {
        "GHL_BRIDGE_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bench.db'}",
        "GHL_BRIDGE_ENCRYPTION_KEYS": KeyRing.generate("bench"),
        "GHL_BRIDGE_GHL_BASE_URL": sim_url,
        "GHL_BRIDGE_GHL_AUTH_URL": f"{sim_url}/oauth/chooselocation",
        "GHL_BRIDGE_GHL_CLIENT_ID": seed["app"]["clientId"],
        "GHL_BRIDGE_GHL_CLIENT_SECRET": seed["app"]["clientSecret"],
        "GHL_BRIDGE_GHL_REDIRECT_URI": f"{api_url}/oauth/callback",
        "GHL_BRIDGE_GHL_RATE_LIMIT": SIM_RATE,
        "GHL_BRIDGE_WEBHOOK_ED25519_KEYS": seed["webhookKeys"]["ed25519"],
        "GHL_BRIDGE_WEBHOOK_RSA_KEYS": seed["webhookKeys"]["rsa"],
    }


async def _json(url: str) -> dict:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return json.loads(await resp.read())  # type: ignore[no-any-return]


async def _register_webhook(sim_url: str, url: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sim_url}/_sim/webhooks", json={"url": url}) as r,
    ):
        r.raise_for_status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
