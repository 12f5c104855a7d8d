"""Which requests the raw webhook path takes in front of FastAPI, and which access-log lines
it keeps."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import structlog
from starlette.types import Receive, Scope, Send
from structlog.testing import capture_logs

from ghl_bridge.api.routes.webhooks import webhook_target
from ghl_bridge.cli.servers import AccessLog


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/webhooks/ghl", (True, None)),
        ("/webhooks/ghl/loc123", (True, "loc123")),
        ("/webhooks/ghl/", (False, None)),  # the route table redirects it, as before
        ("/webhooks/ghl/loc/extra", (False, None)),
        ("/webhooks/ghlx", (False, None)),
        ("/v1/events", (False, None)),
    ],
)
def test_webhook_target_matches_the_route_table(
    path: str, expected: tuple[bool, str | None]
) -> None:
    assert webhook_target(path) == expected


@pytest.fixture(autouse=True)
def _info_logged() -> Iterator[None]:
    """Another test may have left logging at warnings (`call` does): these read info lines."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)


async def _served(method: str, url: str, status: int) -> list[dict[str, object]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    transport = httpx.ASGITransport(app=AccessLog(app))
    with capture_logs() as logs:
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            await client.request(method, url)
    return logs


@pytest.mark.parametrize(
    ("method", "url", "status", "logged"),
    [
        ("POST", "/webhooks/ghl", 200, False),
        ("POST", "/webhooks/ghl/loc1?x=1", 200, False),
        ("POST", "/webhooks/ghl", 401, True),  # refusals stay visible
        ("POST", "/webhooks/ghl", 429, True),
        ("GET", "/webhooks/ghl", 405, True),
        ("POST", "/v1/actions/contacts.create", 200, True),
    ],
)
async def test_access_log_skips_only_accepted_deliveries(
    method: str, url: str, status: int, logged: bool
) -> None:
    logs = await _served(method, url, status)
    assert [(e["method"], e["path"], e["status"]) for e in logs] == (
        [(method, url.partition("?")[0], status)] if logged else []
    )


async def test_access_log_leaves_the_query_out() -> None:
    """The OAuth callback's query is its authorization code: never in a log line."""
    logs = await _served("GET", "/oauth/callback?code=secret-code&state=s1", 302)
    assert logs[0]["path"] == "/oauth/callback"
    assert "secret-code" not in repr(logs)
