"""Running several ASGI apps in one process (the demo: simulator + service) with one Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Generator, Sequence

import uvicorn
from starlette.types import ASGIApp


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
