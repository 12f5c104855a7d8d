"""Refresh that cannot race (issue #4): many callers, in one process or several sharing the
database (and Redis), on a connection whose access token has just expired. Exactly one refresh
request may reach GHL — the simulator burns a used refresh token at once (grace 0) — no call
may fail, and the stored refresh token must be the live one. `python -m bench.refresh_race`
is the large version (4 × 250)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bench.refresh_race import run_race
from tests.contract.conftest import Sim, start_sim

from ghl_bridge.simulator import SimConfig


@pytest.fixture
async def burning_sim() -> AsyncIterator[Sim]:
    config = SimConfig(refresh_grace_s=0.0, rate_limit_max=1_000_000)
    async for sim in start_sim(config):
        yield sim


async def test_one_process_on_sqlite_refreshes_once(burning_sim: Sim, sqlite_url: str) -> None:
    result = await run_race(burning_sim.url, sqlite_url, redis_url=None, processes=1, calls=60)
    assert (result.refresh_requests, result.failed_calls) == (1, 0), result.errors
    assert result.stored_token_is_live


@pytest.mark.services
async def test_processes_sharing_postgres_and_redis_refresh_once(
    burning_sim: Sim, pg_url: str, redis_url: str
) -> None:
    result = await run_race(burning_sim.url, pg_url, redis_url=redis_url, processes=3, calls=40)
    assert (result.refresh_requests, result.failed_calls) == (1, 0), result.errors
    assert result.stored_token_is_live


@pytest.mark.services
async def test_processes_sharing_postgres_alone_use_advisory_locks(
    burning_sim: Sim, pg_url: str
) -> None:
    result = await run_race(burning_sim.url, pg_url, redis_url=None, processes=3, calls=40)
    assert (result.refresh_requests, result.failed_calls) == (1, 0), result.errors
    assert result.stored_token_is_live


@pytest.mark.services
async def test_without_the_cross_process_lock_the_race_is_lost(
    burning_sim: Sim, pg_url: str
) -> None:
    """The control: the same race with each process locking only within itself."""
    result = await run_race(
        burning_sim.url, pg_url, redis_url=None, processes=3, calls=40, cross_process_lock=False
    )
    assert result.refresh_requests > 1
