"""A webhook receiver for tests: a real aiohttp server on loopback that records every request
and answers with the statuses a test scripts (then ``default``)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 200

    def answer(self, *statuses: int, **headers: str) -> None:
        self.answers += [(status, dict(headers)) for status in statuses]

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read()))
        status, headers = self.answers.pop(0) if self.answers else (self.default, {})
        return web.Response(status=status, text="ok", headers=headers)


@asynccontextmanager
async def receiver(path: str = "/hook") -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post(path, rec._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    rec.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield rec
    finally:
        await runner.cleanup()
