from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.signing import signer
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def stack(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """The service on SQLite with the in-process queue, against the simulator."""
    keys = (signer().ed_pem, signer().rsa_pem)
    async with running_stack(sqlite_url, tmp_path, extra_webhook_keys=keys) as s:
        yield s


@pytest.fixture(params=["sqlite+inprocess", "postgresql+inprocess", "postgresql+bullmq"])
async def any_stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The same stack in every deployment mode: the slice must behave the same in each."""
    if request.param == "sqlite+inprocess":
        url, redis = request.getfixturevalue("sqlite_url"), None
    else:
        url = request.getfixturevalue("pg_url")
        redis = request.getfixturevalue("redis_url") if request.param.endswith("bullmq") else None
    keys = (signer().ed_pem, signer().rsa_pem)
    async with running_stack(url, tmp_path, redis_url=redis, extra_webhook_keys=keys) as s:
        yield s
