"""Client overhead: GHLClient vs bare aiohttp vs the official `gohighlevel-api-client` SDK,
each in its own process, against the same simulator (GET a contact), at concurrency 1 and 64.

Time per request shows what a caller waits; CPU µs per request shows what each client itself
costs (the simulator runs in another process). The SDK gets a virtualenv of its own
(bench/.sdk-venv, created on first run) so its pins never touch ours.

    python -m bench.client_overhead [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench._harness import BIN, free_port, print_table, server, write_results

HERE = Path(__file__).resolve().parent
SDK_VENV = HERE / ".sdk-venv"
SDK_PIN = "gohighlevel-api-client==3.0.0"


def sdk_python() -> Path:
    python = SDK_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SDK_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", SDK_PIN], check=True)
    return python


def drive(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    spec = {**spec, "kind": kind}
    if kind == "sdk":
        cmd = [str(sdk_python()), str(HERE / "sdk_driver.py"), json.dumps(spec)]
    else:
        cmd = [sys.executable, "-m", "bench._driver", json.dumps(spec)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def seed_contact(sim_url: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim_url}/_sim/seed") as resp:
            seed = json.loads(await resp.read())
        location = seed["locations"][0]
        headers = {"Authorization": f"Bearer {location['pit']}", "Version": "2021-07-28"}
        body = {
            "locationId": location["id"],
            "email": "overhead@bench.example",
            "firstName": "Bench",
        }
        async with session.post(f"{sim_url}/contacts/", json=body, headers=headers) as resp:
            contact = json.loads(await resp.read())["contact"]["id"]
    return {"token": location["pit"], "location": location["id"], "contact": contact}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args(argv).quick
    sizes = {1: 300 if quick else 2000, 64: 1000 if quick else 6000}
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cmd = [str(BIN / "ghl-bridge"), "sim", "--port", str(port), "--rate-limit", "100000000/10s"]
        with server(cmd, port, cwd=Path(tmp)):
            url = f"http://127.0.0.1:{port}"
            base = {"url": url, **asyncio.run(seed_contact(url)), "limit": [100_000, 10_000]}
            for concurrency, n in sizes.items():
                for kind in ("raw", "ours", "sdk"):
                    result = drive(kind, {**base, "n": n, "concurrency": concurrency})
                    per_request = result["elapsed"] / n
                    metrics[f"{kind}_rps_c{concurrency}"] = round(n / result["elapsed"], 1)
                    metrics[f"{kind}_ms_per_req_c{concurrency}"] = round(per_request * 1000, 3)
                    metrics[f"{kind}_cpu_us_per_req_c{concurrency}"] = round(
                        result["cpu"] / n * 1e6, 1
                    )
                    metrics[f"{kind}_failures_c{concurrency}"] = float(result["failures"])
    for c in sizes:
        metrics[f"ratio_vs_raw_c{c}"] = round(
            metrics[f"ours_ms_per_req_c{c}"] / metrics[f"raw_ms_per_req_c{c}"], 3
        )
    metrics["speedup_vs_official_sdk_c64"] = round(
        metrics["ours_rps_c64"] / metrics["sdk_rps_c64"], 2
    )
    goals = {
        "ratio_vs_raw_c1": "<= 1.3",
        "ratio_vs_raw_c64": "<= 1.3",
        "speedup_vs_official_sdk_c64": ">= 2",
    }
    print_table(
        "client overhead: GET /contacts/{id} against the simulator", sorted(metrics.items())
    )
    print(f"\nwrote {write_results('client_overhead', metrics, goals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
