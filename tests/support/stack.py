"""A running stack for tests: the simulator and the service as real HTTP servers on loopback.

The service talks to the simulator exactly as it would to GHL, and the simulator delivers signed
webhooks back over HTTP. Nothing is mocked.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ghl_bridge.api import create_app
from ghl_bridge.cli import servers
from ghl_bridge.cli.demo import connect, get_json, simulator_settings
from ghl_bridge.config import Settings
from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.runtime import Runtime
from ghl_bridge.simulator import SimConfig
from ghl_bridge.simulator import create_app as create_sim_app
from ghl_bridge.vault import KeyRing
from tests.integration.jobs.harness import delete_prefix


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    api_url: str
    sim_url: str
    runtime: Runtime
    seed: dict[str, Any]
    http: httpx.AsyncClient
    encryption_keys: str

    @property
    def location_id(self) -> str:
        return str(self.seed["locations"][0]["id"])

    @property
    def other_location_id(self) -> str:
        return str(self.seed["locations"][1]["id"])

    async def tenant(self, name: str) -> str:
        """Create a tenant; return its API key."""
        _, key = await self.runtime.tenants.create(name)
        return key

    async def connected_tenant(self, name: str, location_id: str | None = None) -> str:
        """A tenant holding ``location_id`` (default: the first seeded one), once the install's
        ``INSTALL`` webhook has reached the service: a test that counts stored events must not
        race that delivery."""
        key = await self.tenant(name)
        await connect(self.api_url, key, location_id or self.location_id)
        await self.http.post(self.sim_url + "/_sim/webhooks/flush", json={"timeoutS": 10})
        return key

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    async def deliveries(self, key: str, subscription_id: str) -> list[dict[str, Any]]:
        """A subscription's deliveries through the API, newest first."""
        resp = await self.http.get(
            f"{self.api_url}/v1/subscriptions/{subscription_id}/deliveries",
            headers=self.auth(key),
        )
        assert resp.status_code == 200, resp.text
        rows: list[dict[str, Any]] = resp.json()["deliveries"]
        return rows

    async def burn_refresh_token(self, location_id: str | None = None) -> str:
        """Someone else (a leaked copy, a buggy peer) uses our refresh token: GHL rotates it
        away, and ours is dead. Returns the burnt token (to check it is never stored)."""
        conn = await self.runtime.connections.get_by_resource(location_id or self.location_id)
        assert conn is not None and conn.refresh_token_sealed is not None
        stolen = self.runtime.vault.unseal(
            conn.refresh_token_sealed, context=seal_context(conn.resource_id, "refresh")
        )
        app = self.seed["app"]
        burnt = await self.http.post(
            self.sim_url + "/oauth/token",
            data={
                "client_id": app["clientId"],
                "client_secret": app["clientSecret"],
                "grant_type": "refresh_token",
                "refresh_token": stolen,
                "user_type": "Location",
            },
        )
        assert burnt.status_code == 200
        return stolen


@asynccontextmanager
async def running_stack(
    database_url: str,
    data_dir: Path,
    *,
    redis_url: str | None = None,
    sim: SimConfig | None = None,
    extra_webhook_keys: tuple[str, str] = ("", ""),
    overrides: dict[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    """``extra_webhook_keys`` (Ed25519 PEM, RSA PEM) are trusted besides the simulator's, so a
    test can sign deliveries of its own; ``overrides`` replace settings (e.g. ``admin_token``)."""
    api_port, sim_port = free_port(), free_port()
    api_url, sim_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sim_port}"
    sim_config = replace(sim or SimConfig(), webhook_urls=(f"{api_url}/webhooks/ghl",))
    sim_server = servers.make_server(create_sim_app(sim_config), "127.0.0.1", sim_port)
    tasks = [await servers.start(sim_server)]
    seed = await get_json(f"{sim_url}/_sim/seed")
    keys = KeyRing.generate("k1")
    settings = simulator_settings(
        Settings(),
        api_url,
        sim_url,
        seed,
        database_url=database_url,
        redis_url=redis_url,
        encryption_keys=SecretStr(keys),
    )
    # Each stack on Redis gets its own queue prefix: stacks of parallel runs sharing the Redis
    # must not take each other's jobs.
    prefix = f"test-{secrets.token_hex(6)}"
    settings = settings.model_copy(
        update={
            "webhook_ed25519_keys": settings.webhook_ed25519_keys + extra_webhook_keys[0],
            "webhook_rsa_keys": settings.webhook_rsa_keys + extra_webhook_keys[1],
            "queue_prefix": prefix,
            **(overrides or {}),
        }
    )
    runtime = await Runtime.start(settings, with_worker=True, data_dir=data_dir)
    api_server = servers.make_server(create_app(runtime=runtime), "127.0.0.1", api_port)
    try:
        tasks.append(await servers.start(api_server))
        async with httpx.AsyncClient(timeout=15) as http:
            yield Stack(api_url, sim_url, runtime, seed, http, keys)
    finally:
        await servers.stop([sim_server, api_server], tasks)
        await runtime.close()
        if redis_url:
            await delete_prefix(redis_url, settings.queue_prefix)
