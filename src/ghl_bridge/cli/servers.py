"""Running several ASGI apps in one process (the demo: simulator + service) with one Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Generator, Sequence

import structlog
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghl_bridge.api.routes.webhooks import webhook_target


class AccessLog:
    """One access-log line per HTTP request, in the service's log format, written here instead
    of by uvicorn (run it with ``access_log=False``).

    Why not uvicorn's: it builds a log record for every request before any filter can drop it,
    and at thousands of GHL deliveries a second that record cost ~8 % of the receiver's CPU
    (docs/benchmarks.md); and its line carries the query string, which on the OAuth callback
    is the authorization code. Here an accepted delivery (a POST to a webhook path answered
    200, already counted by ``ghl_webhooks_received`` and stored) writes no line, every other
    request one, with the path and without the query.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._log = structlog.get_logger("ghl_bridge.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        delivery = scope["method"] == "POST" and webhook_target(scope["path"])[0]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if not (delivery and status == 200):
                    client = scope.get("client")
                    self._log.info(
                        "http_request",
                        method=scope["method"],
                        path=scope["path"],
                        status=status,
                        client=f"{client[0]}:{client[1]}" if client else None,
                    )
            await send(message)

        await self.app(scope, receive, send_logged)


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to us, so several can stop together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def make_server(app: ASGIApp, host: str, port: int, *, log_level: str = "warning") -> QuietServer:
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
    return QuietServer(config)


async def start(server: QuietServer) -> asyncio.Task[None]:
    """Start ``server`` in the background and return once it accepts connections."""
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # re-raise the start-up error (port in use, lifespan failure)
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.02)
    return task


async def stop(servers: Sequence[QuietServer], tasks: Sequence[asyncio.Task[None]]) -> None:
    for server in reversed(servers):
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


def install_stop_handler(event: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
