"""Fixtures for the simulator's own tests: an in-process client, a fake clock, real servers.

Most tests talk to the app through httpx's ASGI transport (with the app's lifespan run, so
background deliveries are cleaned up); webhook delivery and connection drops need real sockets,
so those tests run the simulator and a receiver under uvicorn on loopback.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ghl_bridge.simulator import SimConfig, create_app

VERSION = "2021-07-28"
CALLBACK = "https://app.example.test/oauth/callback"
SCOPES = "contacts.readonly contacts.write oauth.readonly oauth.write"


class FakeClock:
    """A settable wall clock for `SimConfig.clock`."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SimClient:
    """An httpx client bound to one simulator, plus its seed and convenience headers."""

    http: httpx.AsyncClient
    app: Starlette
    seed: dict[str, Any]

    @property
    def location_id(self) -> str:
        return str(self.seed["locations"][0]["id"])

    @property
    def other_location_id(self) -> str:
        return str(self.seed["locations"][1]["id"])

    def headers(self, token: str | None = None, version: str | None = VERSION) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self.seed['locations'][0]['pit']}"}
        if version is not None:
            headers["Version"] = version
        return headers

    def pit(self, index: int = 0) -> str:
        return str(self.seed["locations"][index]["pit"])

    async def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers(token), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)


@asynccontextmanager
async def open_sim(config: SimConfig | None = None) -> AsyncIterator[SimClient]:
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            seed = (await http.get("/_sim/seed")).json()
            yield SimClient(http, app, seed)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[SimClient]:
    async with open_sim(SimConfig(clock=clock)) as client:
        yield client


@pytest.fixture
def make_sim() -> Callable[..., Any]:
    """`async with make_sim(rate_limit_max=3) as sim:` for tests needing their own config."""

    def factory(**overrides: Any) -> Any:
        return open_sim(SimConfig(**overrides))

    return factory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@dataclass
class Receiver:
    """A webhook endpoint that records raw bodies and answers with scripted statuses."""

    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0

    def bodies(self) -> list[bytes]:
        return [body for body, _ in self.received]


def _receiver_app(receiver: Receiver) -> Starlette:
    async def hook(request: Request) -> Response:
        if receiver.delay_s:
            await asyncio.sleep(receiver.delay_s)
        receiver.received.append((await request.body(), dict(request.headers)))
        status = receiver.statuses.pop(0) if receiver.statuses else 200
        return JSONResponse({"ok": status < 300}, status_code=status)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    async with serve_app(_receiver_app(rec)) as base:
        rec.url = f"{base}/hook"
        yield rec


async def authorize(sim: SimClient, path: str = "/oauth/chooselocation", **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": sim.seed["app"]["clientId"],
        "redirect_uri": CALLBACK,
        "scope": SCOPES,
        **extra,
    }
    resp = await sim.http.get(path, params=params)
    assert resp.status_code == 302, resp.text
    return str(parse_qs(urlsplit(resp.headers["location"]).query)["code"][0])


async def token_request(sim: SimClient, **fields: str) -> Any:
    app = sim.seed["app"]
    form = {"client_id": app["clientId"], "client_secret": app["clientSecret"], **fields}
    return await sim.http.post("/oauth/token", data=form)


async def install(sim: SimClient, **extra: str) -> dict[str, Any]:
    code = await authorize(sim, **extra)
    resp = await token_request(sim, grant_type="authorization_code", code=code)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())
