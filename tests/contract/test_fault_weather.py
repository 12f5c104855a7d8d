"""A bad GHL day in small: 5 % 5xx, 2 % 429 and 1 % dropped connections (the 5xx and drops
after the work is done). Idempotent calls all succeed through retries; no create without an
idempotency key is written twice. The full-size run is `python -m bench.faults`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bench.faults import run_mix
from tests.contract.conftest import Sim, start_sim

from ghl_bridge.simulator import SimConfig


@pytest.fixture
async def stormy_sim() -> AsyncIterator[Sim]:
    # GHL's 100 per window, over 1 s instead of 10, so each 429's wait is short; ten locations.
    config = SimConfig(rate_limit_window_ms=1000, location_count=10)
    async for sim in start_sim(config):
        yield sim


async def test_idempotent_calls_survive_and_no_create_is_written_twice(stormy_sim: Sim) -> None:
    result = await run_mix(
        stormy_sim.url, idempotent_calls=600, creates=300, concurrency=2, burst_window_ms=1000
    )
    fired = result["faults_fired"]
    assert fired["status"] > 0 and fired["rate_limit"] > 0 and fired["drop"] > 0
    assert result["success_rate"] == 1.0, result["idempotent_failures"]
    assert result["duplicate_posts"] == 0
    # The faults did strike creates after the work: those calls fail rather than write twice.
    assert result["unkeyed_post_failures"] > 0
    assert set(result["create_failures"]) <= {"ServerError", "ConnectError"}
