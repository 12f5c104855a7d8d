"""Running several ASGI apps in one process (the demo: simulator + service) with one Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Generator, Sequence

import uvicorn
from starlette.types import ASGIApp


class WebhookAccessFilter(logging.Filter):
    """Drops uvicorn's access-log line for each accepted GHL delivery.

    At thousands of deliveries a second the line costs as much as routing the request did,
    and each one is already counted (``ghl_webhooks_received``) and stored; refused
    deliveries and every other request are still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return True
        _client, method, path, _version, status = args
        if method != "POST" or status != 200 or not isinstance(path, str):
            return True
        from ghl_bridge.api.routes.webhooks import webhook_target

        return not webhook_target(path.partition("?")[0])[0]


def quiet_webhook_access_log() -> None:
    """Install `WebhookAccessFilter` on uvicorn's access logger (after uvicorn configured it)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WebhookAccessFilter) for f in logger.filters):
        logger.addFilter(WebhookAccessFilter())


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
