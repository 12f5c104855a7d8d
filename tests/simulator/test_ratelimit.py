"""Rate limits: the six headers, 429 past the burst window, the daily budget and its reset."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ghl_bridge.simulator import SimConfig, parse_rate_limit
from tests.simulator.conftest import FakeClock, SimClient, install, open_sim

HEADERS = (
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Daily-Reset",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
)


async def search(
    sim: SimClient, token: str | None = None, location: str | None = None
) -> httpx.Response:
    return await sim.call(
        "POST",
        "/contacts/search",
        token=token,
        json={"locationId": location or sim.location_id, "pageLimit": 1},
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100/10s", (100, 10_000)),
        ("5/500ms", (5, 500)),
        ("60/m", (60, 60_000)),
        ("3/1.5s", (3, 1_500)),
    ],
)
def test_parse_rate_limit(text: str, expected: tuple[int, int]) -> None:
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["100", "0/10s", "ten/10s", "10/0s", "10/10d"])
def test_parse_rate_limit_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        parse_rate_limit(text)


async def test_headers_on_every_authenticated_response(sim: SimClient) -> None:
    first = await search(sim)
    assert {name: first.headers[name] for name in HEADERS} | {"X-RateLimit-Daily-Reset": "-"} == {
        "X-RateLimit-Limit-Daily": "200000",
        "X-RateLimit-Daily-Remaining": "199999",
        "X-RateLimit-Daily-Reset": "-",
        "X-RateLimit-Interval-Milliseconds": "10000",
        "X-RateLimit-Max": "100",
        "X-RateLimit-Remaining": "99",
    }
    reset_ms = int(first.headers["X-RateLimit-Daily-Reset"])
    assert 0 < reset_ms <= 86_400_000 and reset_ms % 1000 == 0
    # Errors of an authenticated request carry them too (and still count).
    denied = await search(sim, location=sim.other_location_id)
    assert denied.status_code == 403
    assert denied.headers["X-RateLimit-Remaining"] == "98"


async def test_burst_limit_then_window_slides(clock: FakeClock) -> None:
    config = SimConfig(clock=clock, rate_limit_max=3, rate_limit_window_ms=1_000)
    async with open_sim(config) as sim:
        statuses = []
        for _ in range(3):
            statuses.append((await search(sim)).status_code)
            clock.advance(0.1)
        limited = await search(sim)
        assert statuses == [200, 200, 200]
        assert limited.status_code == 429
        body = limited.json()
        assert (body["statusCode"], body["message"]) == (429, "Too Many Requests")
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert "Retry-After" not in limited.headers
        clock.advance(0.75)  # the first request (t=0) leaves the window at t=1.0
        assert (await search(sim)).status_code == 200
        assert (await search(sim)).status_code == 429


async def test_limits_are_per_token_and_resource(clock: FakeClock) -> None:
    async with open_sim(SimConfig(clock=clock, rate_limit_max=1)) as sim:
        assert (await search(sim)).status_code == 200
        assert (await search(sim)).status_code == 429
        other = await search(sim, token=sim.pit(1), location=sim.other_location_id)
        assert other.status_code == 200


async def test_retry_after_when_enabled(clock: FakeClock) -> None:
    config = SimConfig(
        clock=clock, rate_limit_max=1, rate_limit_window_ms=10_000, send_retry_after=True
    )
    async with open_sim(config) as sim:
        await search(sim)
        clock.advance(4)
        limited = await search(sim)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "6"


async def test_daily_budget_and_reset(clock: FakeClock) -> None:
    async with open_sim(SimConfig(clock=clock, daily_limit=2)) as sim:
        first = await search(sim)
        await search(sim)
        exhausted = await search(sim)
        assert exhausted.status_code == 429
        assert exhausted.headers["X-RateLimit-Daily-Remaining"] == "0"
        reset_s = int(first.headers["X-RateLimit-Daily-Reset"]) / 1000
        clock.advance(reset_s + 1)
        again = await search(sim)
        assert again.status_code == 200
        assert again.headers["X-RateLimit-Daily-Remaining"] == "1"
        assert int(again.headers["X-RateLimit-Daily-Reset"]) > 86_000_000


async def test_unauthenticated_responses_have_no_rate_headers(sim: SimClient) -> None:
    resp = await sim.http.post("/contacts/search", headers={"Version": "v3"}, json={})
    assert resp.status_code == 401
    assert not any(name in resp.headers for name in HEADERS)


async def test_oauth_app_tokens_share_the_app_budget(clock: FakeClock) -> None:
    async with open_sim(SimConfig(clock=clock, rate_limit_max=2)) as sim:
        tokens: list[Any] = [await install(sim), await install(sim)]
        assert (await search(sim, token=tokens[0]["access_token"])).status_code == 200
        assert (await search(sim, token=tokens[1]["access_token"])).status_code == 200
        assert (await search(sim, token=tokens[0]["access_token"])).status_code == 429
