"""A lean HTTP/1.1 load generator: requests encoded before the clock starts, keep-alive
connections, one request in flight per connection, answers parsed no further than status line,
Content-Length and body.

Why not aiohttp: on this machine an aiohttp client spends ~85–120 µs of CPU per request, about
what a bare Starlette endpoint spends answering it, and it shares the same two cores, so a
benchmark driven by it measures the client: the bare endpoint read 8,000–12,000/s with aiohttp
and ~22,000/s with this (~35 µs per request). The servers under test are what a ratio to the
bare endpoint must compare.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

Delivery = tuple[bytes, dict[str, str]]


def encode_posts(url: str, items: Sequence[Delivery]) -> list[bytes]:
    """Each (body, headers) as the bytes of one POST to ``url``."""
    parts = urlsplit(url)
    start = f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    out = []
    for body, headers in items:
        lines = [start, f"Content-Length: {len(body)}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        out.append(("".join(lines) + "\r\n").encode() + body)
    return out


class _Connection(asyncio.Protocol):
    """One keep-alive connection; `request` writes a request and waits for its whole answer."""

    def __init__(self) -> None:
        self._buffer = b""
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._head: tuple[int, int, int] | None = None  # status, body start, body end
        self.transport: asyncio.Transport | None = None
        self.closed = False  # by the server too: uvicorn closes a connection idle for 5 s
        self.idle_since = time.perf_counter()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._answer is not None:
            self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(ConnectionError(f"connection closed mid-answer: {exc}"))

    def _complete(self) -> None:
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end].lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                raise RuntimeError("answer without Content-Length: not supported here")
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end > 0 else None])
            self._head = (int(head[9:12]), end + 4, end + 4 + length)
        status, start, stop = self._head
        if len(self._buffer) < stop:
            return
        body, self._buffer, self._head = self._buffer[start:stop], self._buffer[stop:], None
        answer, self._answer = self._answer, None
        assert answer is not None
        answer.set_result((status, body))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None and self._answer is None
        if self.closed:
            raise ConnectionError("connection already closed")
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._answer


def _close(connections: Sequence[_Connection]) -> None:
    for conn in connections:
        if conn.transport is not None:
            conn.transport.close()


async def _connect(url: str) -> _Connection:
    parts = urlsplit(url)
    _, conn = await asyncio.get_running_loop().create_connection(
        _Connection, parts.hostname, parts.port
    )
    return conn


async def closed_loop(url: str, items: Sequence[Delivery], concurrency: int) -> dict[str, Any]:
    """``concurrency`` connections, each posting as soon as its previous answer came: the
    server's maximum rate. Latencies per request; statuses and bodies in order of answer."""
    requests = iter(encode_posts(url, items))
    latencies: list[float] = []
    statuses: list[int] = []
    bodies: list[bytes] = []
    connections = [await _connect(url) for _ in range(concurrency)]

    async def worker(conn: _Connection) -> None:
        for data in requests:
            started = time.perf_counter()
            status, body = await conn.request(data)
            latencies.append(time.perf_counter() - started)
            statuses.append(status)
            bodies.append(body)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(conn) for conn in connections))
        elapsed = time.perf_counter() - started
    finally:
        _close(connections)
    return {"elapsed": elapsed, "latencies": latencies, "statuses": statuses, "bodies": bodies}


async def open_loop(url: str, items: Sequence[Delivery], rate: float) -> dict[str, Any]:
    """Requests sent on a fixed schedule whatever the answers (an idle connection if there is
    one, else a new one): latency at a given load, with no coordinated omission."""
    requests = encode_posts(url, items)
    latencies: list[float] = []
    statuses: list[int] = []
    bodies: list[bytes] = []
    idle: list[_Connection] = [await _connect(url) for _ in range(16)]
    opened = list(idle)

    async def take() -> _Connection:
        # uvicorn closes a connection idle for 5 s: one idle for 4 s is not worth the race.
        while idle and (idle[-1].closed or time.perf_counter() - idle[-1].idle_since > 4):
            stale = idle.pop()
            if stale.transport is not None:
                stale.transport.close()
        if idle:
            return idle.pop()
        conn = await _connect(url)
        opened.append(conn)
        return conn

    async def one(data: bytes, due: float) -> None:
        conn = await take()
        try:
            status, body = await conn.request(data)
        except ConnectionError:  # closed under us before answering: once more on a fresh one
            conn = await take()  # (a resent delivery is a duplicate: stored once either way)
            status, body = await conn.request(data)
        latencies.append(time.perf_counter() - due)  # from when it was due: a late send counts
        statuses.append(status)
        bodies.append(body)
        conn.idle_since = time.perf_counter()
        idle.append(conn)

    tasks = []
    try:
        start = time.perf_counter()
        for n, data in enumerate(requests):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(data, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    finally:
        _close(opened)
    return {"elapsed": elapsed, "latencies": latencies, "statuses": statuses, "bodies": bodies}
