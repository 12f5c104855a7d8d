"""The official `gohighlevel-api-client` in its own virtualenv, same spec and output as
bench/_driver.py (it imports nothing of ours: it runs where ghl_bridge is not installed)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from highlevel import HighLevel


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    class LocalHighLevel(HighLevel):  # the SDK hard-codes GHL's host as a class attribute
        BASE_URL = spec["url"]

    client = LocalHighLevel(private_integration_token=spec["token"], log_level="error")
    counter = iter(range(spec["n"]))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for _ in counter:
            try:
                await client.contacts.get_contact(contact_id=spec["contact"])
            except Exception:
                failures += 1

    await client.contacts.get_contact(contact_id=spec["contact"])
    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
    result = {
        "calls": spec["n"],
        "elapsed": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "failures": failures,
    }
    await client.http_client.aclose()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
