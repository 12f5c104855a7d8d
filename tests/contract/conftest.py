from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.support.stack import free_port

from ghl_bridge.cli import servers
from ghl_bridge.client import ClientOptions, GHLClient, StaticTokens
from ghl_bridge.simulator import SimConfig
from ghl_bridge.simulator import create_app as create_sim_app


@dataclass
class Sim:
    url: str
    seed: dict[str, Any]
    http: httpx.AsyncClient

    @property
    def location_id(self) -> str:
        return str(self.seed["locations"][0]["id"])

    @property
    def pit(self) -> str:
        return str(self.seed["locations"][0]["pit"])

    async def fault(self, kind: str, *, count: int = 1, **extra: Any) -> None:
        resp = await self.http.post(
            f"{self.url}/_sim/faults", json={"kind": kind, "count": count, **extra}
        )
        resp.raise_for_status()

    async def clear_faults(self) -> None:
        (await self.http.delete(f"{self.url}/_sim/faults")).raise_for_status()


async def start_sim(config: SimConfig) -> AsyncIterator[Sim]:
    port = free_port()
    server = servers.make_server(create_sim_app(config), "127.0.0.1", port)
    task = await servers.start(server)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            seed = (await http.get(f"http://127.0.0.1:{port}/_sim/seed")).json()
            yield Sim(f"http://127.0.0.1:{port}", seed, http)
    finally:
        await servers.stop([server], [task])


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async for s in start_sim(SimConfig()):
        yield s


@pytest.fixture
async def ghl(sim: Sim) -> AsyncIterator[GHLClient]:
    """A GHLClient on the first location's PIT, with GHL's real limits."""
    async with GHLClient(
        tokens=StaticTokens(default=sim.pit), options=ClientOptions(base_url=sim.url)
    ) as client:
        yield client


@pytest.fixture
async def tight_sim() -> AsyncIterator[Sim]:
    """GHL's limits scaled down: 3 requests per second per resource."""
    async for s in start_sim(SimConfig(rate_limit_max=3, rate_limit_window_ms=1000)):
        yield s
