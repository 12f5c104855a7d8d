"""``ghl-bridge demo``: the whole service on embedded defaults against the bundled simulator.

It runs the simulator and the service as two HTTP servers in this process, creates (or reuses)
a demo tenant, connects it through the real OAuth redirect dance, and prints curl commands.
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr
from rich.console import Console

from ghl_bridge.api import create_app
from ghl_bridge.cli import servers
from ghl_bridge.config import Settings
from ghl_bridge.runtime import DATA_DIR, Runtime
from ghl_bridge.simulator import SimConfig
from ghl_bridge.simulator import create_app as create_sim_app
from ghl_bridge.store.errors import TenantExists

DEMO_TENANT = "demo"
out = Console(highlight=False)


@dataclass(frozen=True, slots=True)
class DemoInfo:
    base_url: str
    sim_url: str
    api_key: str
    location_id: str


async def run_demo(settings: Settings, *, host: str, port: int, sim_port: int) -> int:
    for p in (port, sim_port):
        if not servers.port_free(host, p):
            out.print(f"[red]port {p} on {host} is in use[/red]; pass --port / --sim-port")
            return 1
    base_url, sim_url = f"http://{host}:{port}", f"http://{host}:{sim_port}"
    sim_app = create_sim_app(SimConfig(webhook_urls=(f"{base_url}/webhooks/ghl",)))
    sim_server = servers.make_server(sim_app, host, sim_port)
    tasks = [await servers.start(sim_server)]
    seed = await get_json(f"{sim_url}/_sim/seed")
    runtime = await Runtime.start(
        simulator_settings(settings, base_url, sim_url, seed), with_worker=True
    )
    api_server = servers.make_server(create_app(runtime=runtime), host, port)
    try:
        tasks.append(await servers.start(api_server))
        info = DemoInfo(base_url, sim_url, await _demo_key(runtime), seed["locations"][0]["id"])
        await connect(info.base_url, info.api_key, info.location_id)
        _print_banner(info)
        stop = asyncio.Event()
        servers.install_stop_handler(stop)
        await stop.wait()
        print("\nstopping…", flush=True)
    finally:
        await servers.stop([sim_server, api_server], tasks)
        await runtime.close()
    print("stopped cleanly", flush=True)
    return 0


def simulator_settings(
    settings: Settings, base_url: str, sim_url: str, seed: dict[str, Any], **update: Any
) -> Settings:
    """``settings`` pointed at the simulator: its app credentials and its webhook keys.

    The demo passes embedded defaults (SQLite, no Redis) in ``update``; tests pass their own.
    """
    app = seed["app"]
    return settings.model_copy(
        update={
            "ghl_base_url": sim_url,
            "ghl_auth_url": f"{sim_url}/oauth/chooselocation",
            "ghl_client_id": app["clientId"],
            "ghl_client_secret": SecretStr(app["clientSecret"]),
            "ghl_redirect_uri": f"{base_url}/oauth/callback",
            "webhook_ed25519_keys": seed["webhookKeys"]["ed25519"],
            "webhook_rsa_keys": seed["webhookKeys"]["rsa"],
            **update,
        }
    )


async def _demo_key(runtime: Runtime) -> str:
    """A fresh API key for the demo tenant (created on first run, reused afterwards)."""
    try:
        _, key = await runtime.tenants.create(DEMO_TENANT)
    except TenantExists:
        tenant = await runtime.tenants.get_by_name(DEMO_TENANT)
        assert tenant is not None
        _, key = await runtime.tenants.create_key(tenant.id)
    return key


async def connect(base_url: str, api_key: str, location_id: str) -> None:
    """Start OAuth as a user would; the simulator approves and redirects to our callback."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base_url}/v1/connections/authorize", headers=headers) as r:
            r.raise_for_status()
            url = (await r.json())["url"]
        async with session.get(url, params={"locationId": location_id}) as r:
            if r.status != 200:
                raise RuntimeError(f"OAuth connect failed: HTTP {r.status}: {await r.text()}")


async def get_json(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        resp.raise_for_status()
        data: dict[str, Any] = await resp.json()
        return data


def curl_commands(info: DemoInfo) -> list[str]:
    """The commands the banner prints (the e2e test runs exactly these)."""
    auth = f"Authorization: Bearer {info.api_key}"
    email = f"ada.{secrets.token_hex(3)}@example.com"
    body = (
        f'{{"locationId":"{info.location_id}","input":'
        f'{{"firstName":"Ada","lastName":"Lovelace","email":"{email}"}}}}'
    )
    create = [
        "curl",
        "-sS",
        "-X",
        "POST",
        f"{info.base_url}/v1/actions/contacts.create",
        "-H",
        auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        body,
    ]
    events = ["curl", "-sS", f"{info.base_url}/v1/events?locationId={info.location_id}", "-H", auth]
    return [shlex.join(create), shlex.join(events)]


def _print_banner(info: DemoInfo) -> None:
    # Plain print, not rich: rich wraps long lines, which would break copy-pasting the commands.
    create, events = curl_commands(info)
    print(
        f"""
ghl-bridge demo is running  (Ctrl-C stops everything)

  service     {info.base_url}   (docs: {info.base_url}/docs, health: {info.base_url}/readyz)
  simulator   {info.sim_url}   (seed: {info.sim_url}/_sim/seed)
  database    {Path(DATA_DIR, "ghl-bridge.db")}  (SQLite; in-process queue and limiter)
  tenant      {DEMO_TENANT}, connected to location {info.location_id}

Create a contact (the simulator then sends a signed ContactCreate webhook back to the service):

{create}

See the webhook event it caused (processed by the in-process worker):

{events}
""",
        flush=True,
    )
