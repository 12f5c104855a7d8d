"""GHL on a bad day: the simulator fails 5 % of requests with a 5xx, 2 % with a 429 and drops
1 % of connections, and GHLClient makes 10,000 idempotent calls (GET, PUT, search POST) and
2,000 creates without an idempotency key, across many locations at once.

Goals (issue #3): >= 99.9 % of the idempotent calls succeed, and no create is sent twice. The
5xx and dropped connections strike *after* the simulator has done the work, the case where a
blind retry writes twice; the simulator's journal (`GET /_sim/journal`) counts every POST body
it received more than once, so a duplicate counts even when the second write fails. A create
whose answer was lost fails to its caller instead — the price of never writing twice; the
share is reported (`unkeyed_post_failures`).

    python -m bench.faults [--quick]     (--quick: 1,000 idempotent calls and 200 creates)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._harness import BIN, free_port, print_table, server, write_results

# Overall shares of requests; each armed fault sees only what the ones before it let through.
WEATHER = (("status", 0.05), ("rate_limit", 0.02), ("drop", 0.01))
LOCATIONS = 50


def weather_specs() -> list[dict[str, Any]]:
    """The three faults, with conditional probabilities so the overall shares are WEATHER's."""
    specs, untouched = [], 1.0
    for kind, share in WEATHER:
        spec: dict[str, Any] = {"kind": kind, "probability": share / untouched}
        if kind == "status":
            spec["status"] = 503
        if kind in ("status", "drop"):
            spec["after"] = True  # the work is done, then the answer is lost
        specs.append(spec)
        untouched -= share
    return specs


async def run_mix(
    url: str,
    *,
    idempotent_calls: int,
    creates: int,
    concurrency: int = 2,
    burst_window_ms: int = 10_000,
) -> dict[str, Any]:
    """Seed a contact per location, arm the weather, run both workloads; return the numbers.

    ``concurrency`` workers per location: a 429 holds its location for a whole window, and
    workers shared by all locations would pile up behind the held ones. ``burst_window_ms``
    must be the simulator's (a test runs it with a 1 s window, so that a 429's wait is short).
    Also used by tests/contract/test_fault_weather.py, at a smaller size.
    """
    from ghl_bridge.client import ClientOptions, GHLClient, GHLError, StaticTokens

    async with httpx.AsyncClient(base_url=url, timeout=30) as control:
        seed = (await control.get("/_sim/seed")).raise_for_status().json()
        tokens = {loc["id"]: loc["pit"] for loc in seed["locations"]}
        locations = list(tokens)
        options = ClientOptions(  # GHL's own limits, as the simulator applies them
            base_url=url,
            burst_window_ms=burst_window_ms,
            max_attempts=8,
            deadline_s=300,
            connection_limit=min(100, concurrency * len(locations)),
        )
        async with GHLClient(tokens=StaticTokens(tokens), options=options) as ghl:
            contacts = {}
            for loc in locations:
                made = await ghl.contacts.create(loc, {"email": f"target@{loc.lower()}.example"})
                contacts[loc] = made["contact"]["id"]
            for spec in weather_specs():
                (await control.post("/_sim/faults", json=spec)).raise_for_status()

            async def idempotent(i: int) -> None:
                loc = locations[i % len(locations)]
                if i % 3 == 0:
                    await ghl.contacts.get(loc, contacts[loc])
                elif i % 3 == 1:
                    await ghl.contacts.update(loc, contacts[loc], {"city": f"City {i}"})
                else:
                    await ghl.contacts.search(loc, {"pageLimit": 1})

            async def create(i: int) -> None:
                loc = locations[i % len(locations)]
                await ghl.contacts.create(loc, {"email": f"unkeyed-{i}@bench.example"})

            async def drive(fn: Any, n: int) -> tuple[int, Counter[str]]:
                failures: Counter[str] = Counter()
                groups = len(locations)  # call i goes to location i % groups

                async def worker(todo: Iterator[int]) -> None:
                    for i in todo:
                        try:
                            await fn(i)
                        except GHLError as exc:
                            failures[type(exc).__name__] += 1

                queues = [iter(range(g, n, groups)) for g in range(groups)]
                await asyncio.gather(*(worker(q) for q in queues for _ in range(concurrency)))
                return n - sum(failures.values()), failures

            started = time.perf_counter()
            ok, idem_failures = await drive(idempotent, idempotent_calls)
            idem_elapsed = time.perf_counter() - started
            created, create_failures = await drive(create, creates)
        faults = (await control.get("/_sim/faults")).json()["faults"]
        journal = (await control.get("/_sim/journal")).json()
        await control.delete("/_sim/faults")
    sent = sum(journal["posts"].values())  # POSTs only; the share below is of all requests
    return {
        "success_rate": ok / idempotent_calls,
        "duplicate_posts": journal["repeatedPosts"].get("create-contact", 0),
        "unkeyed_post_failures": (creates - created) / creates,
        "idempotent_failures": dict(idem_failures),
        "create_failures": dict(create_failures),
        "faults_fired": {f["kind"]: f["fired"] for f in faults},
        "posts_received": sent,
        "idempotent_elapsed_s": idem_elapsed,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args(argv).quick
    calls, creates = (1_000, 200) if quick else (10_000, 2_000)
    from ghl_bridge import logs

    logs.configure(level="WARNING")  # retries are logged at info; the table is the output
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cmd = [str(BIN / "ghl-bridge"), "sim", "--port", str(port), "--locations", str(LOCATIONS)]
        with server(cmd, port, cwd=Path(tmp)):
            result = asyncio.run(
                run_mix(f"http://127.0.0.1:{port}", idempotent_calls=calls, creates=creates)
            )
    metrics = {
        "success_rate": round(result["success_rate"], 5),
        "duplicate_posts": result["duplicate_posts"],
        "unkeyed_post_failures": round(result["unkeyed_post_failures"], 4),
        "idempotent_calls": calls,
        "unkeyed_creates": creates,
        "idempotent_elapsed_s": round(result["idempotent_elapsed_s"], 1),
        **{f"fired_{kind}": n for kind, n in result["faults_fired"].items()},
    }
    goals = {"success_rate": ">= 0.999", "duplicate_posts": "== 0"}
    print_table("GHL on a bad day: 5% 5xx, 2% 429, 1% dropped connections", sorted(metrics.items()))
    idem, made = result["idempotent_failures"], result["create_failures"]
    print(f"failures: idempotent {idem}, creates {made}")
    print(f"\nwrote {write_results('faults', metrics, goals)}")
    return 0 if metrics["success_rate"] >= 0.999 and metrics["duplicate_posts"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
