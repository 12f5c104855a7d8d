"""The pipeline's observer hook: one record per exchange with GHL (retries and the 401 replay
included), carrying status, latency and traceId — and never a token or a body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from ghl_bridge.client import AttemptRecord, ClientOptions, GHLClient, ServerError, StaticTokens

LOCATION = "loc_observed"
SECRET = "pit-secret-token-0123456789"
FRESH = "fresh-secret-token-9876543210"
EMAIL = "private.person@example.com"

Script = list[tuple[int, float]]  # (status, delay in seconds) per request, in order


class Ghl:
    """A scripted GHL: answers each request with the next (status, delay); 200 when done."""

    def __init__(self) -> None:
        self.script: Script = []
        self.seen = 0

    async def handle(self, request: web.Request) -> web.Response:
        status, delay = self.script[self.seen] if self.seen < len(self.script) else (200, 0.0)
        self.seen += 1
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        body = {"traceId": f"trace-{self.seen}"}
        if status < 300:
            body["contact"] = {"id": "c1", "email": EMAIL}  # type: ignore[assignment]
        else:
            body["message"] = "scripted"
        # Compact, as GHL sends it (the pipeline scans the raw bytes for the traceId).
        return web.json_response(body, status=status, dumps=_compact)


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@pytest.fixture
async def ghl() -> AsyncIterator[tuple[Ghl, str]]:
    fake = Ghl()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


class Rotating(StaticTokens):
    """A token provider that has a fresh token to offer after a 401."""

    async def on_unauthorized(self, resource_id: str | None, rejected_token: str) -> str | None:
        return FRESH


def _client(
    url: str, records: list[AttemptRecord], *, tokens: StaticTokens | None = None, **opts: float
) -> GHLClient:
    return GHLClient(
        tokens=tokens or StaticTokens(default=SECRET),
        options=ClientOptions(base_url=url, **opts),  # type: ignore[arg-type]
        observer=records.append,
    )


def _no_secrets(records: list[AttemptRecord]) -> None:
    text = repr(records) + json.dumps([asdict(r) for r in records])
    for secret in (SECRET, FRESH, EMAIL):
        assert secret not in text


async def test_one_record_per_attempt_retries_included(ghl: tuple[Ghl, str]) -> None:
    fake, url = ghl
    fake.script = [(503, 0.0), (502, 0.0), (200, 0.0)]
    records: list[AttemptRecord] = []
    async with _client(url, records) as client:
        await client.contacts.get(LOCATION, "c1")
    assert fake.seen == 3
    assert [(r.attempt, r.status, r.trace_id) for r in records] == [
        (1, "503", "trace-1"),
        (2, "502", "trace-2"),
        (3, "200", "trace-3"),
    ]
    assert {(r.operation, r.method, r.resource_id) for r in records} == {
        ("get-contact", "GET", LOCATION)
    }
    assert len({r.request_id for r in records}) == 1  # one call, one X-Request-Id
    assert all(r.latency_ms >= 0 for r in records)
    _no_secrets(records)


async def test_unkeyed_create_is_observed_once_and_not_retried(ghl: tuple[Ghl, str]) -> None:
    fake, url = ghl
    fake.script = [(503, 0.0)]
    records: list[AttemptRecord] = []
    async with _client(url, records) as client:
        with pytest.raises(ServerError):
            await client.contacts.create(LOCATION, {"email": EMAIL})
    assert [(r.operation, r.status, r.attempt) for r in records] == [("create-contact", "503", 1)]
    _no_secrets(records)


async def test_the_replay_after_a_401_is_its_own_record(ghl: tuple[Ghl, str]) -> None:
    fake, url = ghl
    fake.script = [(401, 0.0), (201, 0.0)]
    records: list[AttemptRecord] = []
    async with _client(url, records, tokens=Rotating(default=SECRET)) as client:
        await client.contacts.create(LOCATION, {"email": EMAIL})
    assert [(r.attempt, r.status) for r in records] == [(1, "401"), (1, "201")]
    _no_secrets(records)


async def test_a_timeout_is_recorded_without_a_trace(ghl: tuple[Ghl, str]) -> None:
    fake, url = ghl
    fake.script = [(200, 0.5)]
    records: list[AttemptRecord] = []
    async with _client(url, records, timeout_s=0.1, max_attempts=1) as client:
        with pytest.raises(Exception, match="timeout"):
            await client.contacts.get(LOCATION, "c1")
    [record] = records
    assert (record.status, record.trace_id) == ("timeout", None)
    assert record.latency_ms >= 100


async def test_a_failing_observer_does_not_fail_the_call(ghl: tuple[Ghl, str]) -> None:
    _, url = ghl

    def broken(_: AttemptRecord) -> None:
        raise RuntimeError("audit is down")

    observer: Callable[[AttemptRecord], None] = broken
    async with GHLClient(
        tokens=StaticTokens(default=SECRET),
        options=ClientOptions(base_url=url),
        observer=observer,
    ) as client:
        with capture_logs() as logs:
            result = await client.contacts.create(LOCATION, {"email": EMAIL})
    assert result["contact"]["id"] == "c1"  # the write happened; the caller must know it
    assert [e["operation"] for e in logs if e["event"] == "ghl.observer_failed"] == [
        "create-contact"
    ]
