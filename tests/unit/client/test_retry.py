from __future__ import annotations

import pytest

from ghl_bridge.client.errors import (
    BadRequestError,
    ConnectError,
    GHLError,
    NotFoundError,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    UnprocessableEntityError,
)
from ghl_bridge.client.resilience.retry import retry_after_s, should_retry


def _api(cls: type, status: int) -> GHLError:
    return cls("x", status=status)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("exc", "idempotent", "expected"),
    [
        (RateLimitedError("x", status=429, retry_after=2.5), False, 2.5),
        (RateLimitedError("x", status=429, retry_after=None), False, True),
        (_api(ServerError, 503), True, True),
        (_api(ServerError, 503), False, False),  # a blind POST retry could duplicate
        (RequestTimeout("t"), True, True),
        (RequestTimeout("t"), False, False),
        (ConnectError("c"), True, True),
        (_api(BadRequestError, 400), True, False),
        (_api(NotFoundError, 404), True, False),
        (_api(UnprocessableEntityError, 422), True, False),
    ],
)
def test_should_retry(exc: GHLError, idempotent: bool, expected: bool | float) -> None:
    assert should_retry(exc, idempotent=idempotent) == expected


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after_s({"Retry-After": "3"}) == 3.0
    wait = retry_after_s({"Retry-After": "Sun, 29 Nov 2026 12:00:10 GMT"}, now=1795953600.0)
    assert wait == pytest.approx(10.0)


def test_retry_after_falls_back_to_ghl_window() -> None:
    assert retry_after_s({"X-RateLimit-Interval-Milliseconds": "10000"}) == 10.0
    assert retry_after_s({}) is None


def test_query_lists_repeat_the_key_and_booleans_are_lower_case() -> None:
    from ghl_bridge.client.pipeline import _query

    assert _query({"userIds": ["a", "b"], "deleted": False, "skip": None, "limit": 5}) == [
        ("userIds", "a"),
        ("userIds", "b"),
        ("deleted", "false"),
        ("limit", "5"),
    ]
