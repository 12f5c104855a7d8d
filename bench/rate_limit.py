"""Rate limiting under GHL's real limit: 4 processes sharing one Redis budget call the simulator
(100 requests per 10 s per location, like GHL) — first all on one location, then spread over 10.

Goals (issue #3): zero 429s, and >= 90 % of what the limit allows. The ceiling for a run of
length T under a moving window of W is max × (⌊T/W⌋ + 1) calls: a full window at the start,
then one more every W.

    python -m bench.rate_limit [--quick]      (--quick: 50 per 5 s, 250 calls per location)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench._harness import BIN, free_port, print_table, server, write_results

PROCESSES = 4
REDIS_URL = "redis://127.0.0.1:6379/0"


async def seed(sim_url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{sim_url}/_sim/seed") as resp:
        data: dict[str, Any] = json.loads(await resp.read())
    return data


def phase(
    sim_url: str,
    data: dict[str, Any],
    locations: list[str],
    per_location: int,
    limit: tuple[int, int],
    app_id: str,
) -> dict[str, float]:
    """Run PROCESSES drivers at once over ``locations``; return calls, elapsed and 429s."""
    # Every process makes the same number of calls to every location (calls i → i % L).
    total = per_location // PROCESSES * PROCESSES * len(locations)
    spec = {
        "kind": "ours-search",
        "url": sim_url,
        "token": data["agency"]["pit"],
        "tokens": {loc["id"]: loc["pit"] for loc in data["locations"]},
        "locations": locations,
        "location": locations[0],
        "limit": list(limit),
        "redis": REDIS_URL,
        "app_id": app_id,
        "concurrency": 8,
        "n": total // PROCESSES,
    }
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench._driver", json.dumps(spec)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        for _ in range(PROCESSES)
    ]
    results = [json.loads(p.communicate(timeout=900)[0].strip().splitlines()[-1]) for p in procs]
    # The calls' own time (each driver's), not the processes' start-up.
    elapsed = max(r["elapsed"] for r in results) if results else time.perf_counter() - started
    calls = sum(r["calls"] - r["failures"] for r in results)
    max_requests, window_ms = limit
    ceiling = len(locations) * max_requests * (int(elapsed // (window_ms / 1000)) + 1)
    outcomes: dict[str, float] = {}
    for r in results:
        for status, n in r.get("outcomes", {}).items():
            outcomes[status] = outcomes.get(status, 0) + n
    cpu = sum(r["cpu"] for r in results)
    print(
        f"  {len(locations)} location(s): attempts by outcome {outcomes}; client CPU {cpu:.1f} s"
        f" in {elapsed:.1f} s",
        file=sys.stderr,
    )
    return {
        "calls": calls,
        "elapsed": elapsed,
        "seen_429": sum(r["seen_429"] for r in results),
        "failures": sum(r["failures"] for r in results),
        "utilisation": calls / ceiling,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args(argv).quick
    limit, per_location, rate = (
        ((50, 5000), 250, "50/5s") if quick else ((100, 10_000), 1000, "100/10s")
    )
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cmd = [
            str(BIN / "ghl-bridge"),
            "sim",
            "--port",
            str(port),
            "--rate-limit",
            rate,
            "--locations",
            "11",
        ]
        with server(cmd, port, cwd=Path(tmp)):
            url = f"http://127.0.0.1:{port}"
            data = asyncio.run(seed(url))
            ids = [loc["id"] for loc in data["locations"]]
            # One app for both phases, as GHL sees it; the second phase uses ten fresh
            # locations, so it does not start inside the first one's last window.
            app_id = f"bench-{uuid.uuid4().hex[:8]}"
            one = phase(url, data, ids[:1], per_location, limit, app_id)
            ten = phase(url, data, ids[1:11], per_location, limit, app_id)
    metrics = {
        "utilisation_1loc": round(one["utilisation"], 3),
        "utilisation_10loc": round(ten["utilisation"], 3),
        "count_429": one["seen_429"] + ten["seen_429"],
        "failures": one["failures"] + ten["failures"],
        "elapsed_1loc_s": round(one["elapsed"], 1),
        "elapsed_10loc_s": round(ten["elapsed"], 1),
        "calls_1loc": one["calls"],
        "calls_10loc": ten["calls"],
    }
    goals = {"count_429": "== 0", "utilisation_1loc": ">= 0.9", "utilisation_10loc": ">= 0.9"}
    print_table(f"rate limit {rate}: {PROCESSES} processes sharing Redis", sorted(metrics.items()))
    print(f"\nwrote {write_results('rate_limit', metrics, goals)}")
    return 0 if metrics["count_429"] == 0 and metrics["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
