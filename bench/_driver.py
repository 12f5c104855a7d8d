"""One benchmark client in its own process: `python -m bench._driver '<json spec>'`.

Prints one JSON line: calls, elapsed, CPU seconds of this process, failures, 429s seen. Kinds:
- `raw`: bare aiohttp GETs that decode the JSON body (the floor for any Python client);
- `ours`: GHLClient, with its limiter (in memory, or shared through Redis), retries and circuits;
- `ours-search`: GHLClient contact searches spread over `locations` (one PIT each), with
  `concurrency` workers per location.
The official SDK runs from its own virtualenv through bench/sdk_driver.py, same output.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp


async def run_calls(
    call: Callable[[int], Awaitable[bool]], n: int, concurrency: int, groups: int = 1
) -> dict[str, Any]:
    """Make calls 0..n-1 with ``concurrency`` workers per group; group g takes the indices
    i with i % groups == g, so a group blocked on one location's budget holds no other's."""
    counters = [iter(range(g, n, groups)) for g in range(groups)]
    failures = 0

    async def worker(counter: Iterator[int]) -> None:
        nonlocal failures
        for i in counter:
            if not await call(i):
                failures += 1

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(c) for c in counters for _ in range(concurrency)))
    return {
        "calls": n,
        "elapsed": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "failures": failures,
    }


async def raw(spec: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {spec['token']}", "Version": "2021-07-28"}
    url = f"{spec['url']}/contacts/{spec['contact']}"
    connector = aiohttp.TCPConnector(limit=spec["concurrency"])
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def call(_: int) -> bool:
            async with session.get(url) as resp:
                json.loads(await resp.read())  # any usable client decodes the body
                return resp.status == 200

        await call(0)
        return await run_calls(call, spec["n"], spec["concurrency"])


async def ours(spec: dict[str, Any]) -> dict[str, Any]:
    from ghl_bridge.client import ClientOptions, GHLClient, GHLError, StaticTokens
    from ghl_bridge.client.metrics import metrics_for

    max_requests, window_ms = spec.get("limit", [1_000_000, 10_000])
    options = ClientOptions(
        base_url=spec["url"],
        burst_max=max_requests,
        burst_window_ms=window_ms,
        redis_url=spec.get("redis"),
        deadline_s=600,
        max_attempts=10,
        connection_limit=max(10, spec["concurrency"] * len(spec.get("locations") or [0])),
        app_id=spec.get("app_id", "app"),
    )
    locations = spec.get("locations") or [spec["location"]]
    tokens = StaticTokens(spec.get("tokens") or {}, default=spec["token"])
    async with GHLClient(tokens=tokens, options=options) as ghl:

        async def call(i: int) -> bool:
            location = locations[i % len(locations)]
            try:
                if spec["kind"] == "ours-search":
                    await ghl.contacts.search(location, {"pageLimit": 1})
                else:
                    await ghl.contacts.get(location, spec["contact"])
            except GHLError:
                return False
            return True

        if spec["kind"] == "ours":
            await call(0)
        groups = len(locations) if spec["kind"] == "ours-search" else 1
        result = await run_calls(call, spec["n"], spec["concurrency"], groups)
    metrics = metrics_for()
    result["seen_429"] = sum(
        s.value for m in metrics.rate_limited.collect() for s in m.samples
        if s.name.endswith("_total")
    )  # fmt: skip
    outcomes: dict[str, float] = {}
    for m in metrics.requests.collect():
        for s in m.samples:
            if s.name.endswith("_total"):
                status = s.labels["status"]
                outcomes[status] = outcomes.get(status, 0) + s.value
    result["outcomes"] = outcomes  # attempts by HTTP status, "timeout", "connect_error"
    return result


def main() -> None:
    # Like the SDK (errors only) and bare aiohttp (nothing): no per-call log lines.
    from ghl_bridge import logs

    logs.configure(level="WARNING")
    spec = json.loads(sys.argv[1])
    runner = raw if spec["kind"] == "raw" else ours
    print(json.dumps(asyncio.run(runner(spec))), flush=True)


if __name__ == "__main__":
    main()
