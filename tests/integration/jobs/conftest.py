"""Fixtures that run the same queue tests against every adapter.

`backend` is parametrised over the in-process queue on SQLite and on PostgreSQL, and over BullMQ
on Redis (under the test's unique key prefix, deleted afterwards).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from tests.integration.jobs.harness import Backend, bullmq_backend, inprocess_backend


@dataclass(frozen=True)
class BackendSpec:
    kind: str
    url: str
    prefix: str = ""


@pytest.fixture(params=["inprocess-sqlite", "inprocess-postgresql", "bullmq"])
def backend_spec(request: pytest.FixtureRequest) -> BackendSpec:
    """Resolves the service fixtures synchronously: `pg_url` resets the schema with its own
    event loop, which cannot run inside an async fixture."""
    if request.param == "bullmq":
        return BackendSpec(
            "bullmq", request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        )
    url_fixture = "sqlite_url" if request.param == "inprocess-sqlite" else "pg_url"
    return BackendSpec("inprocess", request.getfixturevalue(url_fixture))


@pytest.fixture
async def backend(backend_spec: BackendSpec) -> AsyncIterator[Backend]:
    if backend_spec.kind == "bullmq":
        async with bullmq_backend(backend_spec.url, backend_spec.prefix) as built:
            yield built
    else:
        async with inprocess_backend(backend_spec.url) as built:
            yield built
