"""Which requests the raw webhook path takes in front of FastAPI, and which access-log lines
it keeps."""

from __future__ import annotations

import logging

import pytest

from ghl_bridge.api.routes.webhooks import webhook_target
from ghl_bridge.cli.servers import WebhookAccessFilter


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


def _access(method: str, path: str, status: int) -> logging.LogRecord:
    args = ("127.0.0.1:5000", method, path, "1.1", status)
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "kept"),
    [
        ("POST", "/webhooks/ghl", 200, False),
        ("POST", "/webhooks/ghl/loc1?x=1", 200, False),
        ("POST", "/webhooks/ghl", 401, True),  # refusals stay visible
        ("GET", "/webhooks/ghl", 405, True),
        ("POST", "/v1/actions/contacts.create", 200, True),
    ],
)
def test_access_filter_drops_only_accepted_deliveries(
    method: str, path: str, status: int, kept: bool
) -> None:
    assert WebhookAccessFilter().filter(_access(method, path, status)) is kept
