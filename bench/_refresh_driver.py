"""One process of the refresh race: `python -m bench._refresh_driver '<json spec>'`.

Builds what a serve/worker process builds for tokens — the connections table, the vault, the
cross-process refresh lock (`make_refresh_lock`), ConnectionTokens and a GHLClient — waits for
the common start instant, then makes `calls` concurrent calls on the connection whose access
token has just expired. Prints one JSON line: calls, failures, errors by type.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any


async def race(spec: dict[str, Any]) -> dict[str, Any]:
    from ghl_bridge import logs
    from ghl_bridge.client import ClientOptions, GHLClient, GHLError
    from ghl_bridge.oauth.app import OAuthApp
    from ghl_bridge.oauth.refresh_lock import LocalRefreshLock, RefreshLock, make_refresh_lock
    from ghl_bridge.oauth.tokens import ConnectionTokens
    from ghl_bridge.store.connections import ConnectionRepo
    from ghl_bridge.store.db import make_engine, make_sessionmaker
    from ghl_bridge.vault import KeyRing, Vault

    logs.configure(level="WARNING")
    engine = make_engine(spec["db"])
    lock: RefreshLock = (
        make_refresh_lock(redis_url=spec.get("redis"), engine=engine, prefix=spec["prefix"])
        if spec.get("cross_process_lock", True)
        else LocalRefreshLock()  # the control run: each process locks only within itself
    )
    app = OAuthApp(spec["client_id"], spec["client_secret"], "", (), "")
    tokens = ConnectionTokens(
        app,
        ConnectionRepo(make_sessionmaker(engine)),
        Vault(KeyRing.parse(spec["keyring"])),
        refresh_lock=lock,
    )
    options = ClientOptions(base_url=spec["url"], burst_max=1_000_000, deadline_s=120)
    errors: Counter[str] = Counter()
    try:
        async with GHLClient(tokens=tokens, options=options) as ghl:
            tokens.bind(ghl.oauth)
            await asyncio.sleep(max(0.0, spec["start_at"] - time.time()))

            async def call() -> None:
                try:
                    await ghl.contacts.get(spec["location"], spec["contact"])
                except GHLError as exc:
                    errors[type(exc).__name__] += 1

            await asyncio.gather(*(call() for _ in range(spec["calls"])))
    finally:
        await lock.aclose()
        await engine.dispose()
    return {"calls": spec["calls"], "failures": sum(errors.values()), "errors": dict(errors)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(race(json.loads(sys.argv[1])))), flush=True)
