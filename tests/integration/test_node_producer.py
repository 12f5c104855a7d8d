"""DESIGN §3 from the Node.js side: the npm `bullmq` producer in tests/node/producer.mjs adds
`action` jobs to `ghl-bridge-actions`, and the service's own BullMQ worker (distributed mode:
PostgreSQL + Redis, against the simulator) runs them and hands the output back as the job's
return value.

The runtime's queues are built under this test's unique key prefix (the producer gets the same
one with `--prefix`), so other test runs on the same Redis cannot take these jobs or see them.
Node and tests/node/node_modules (`make install`) are services here: missing, they fail the
test under GHL_BRIDGE_TEST_SERVICES=required and skip it otherwise, like PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.jobs.harness import delete_prefix
from tests.support.stack import Stack, running_stack

from ghl_bridge.cli.demo import connect
from ghl_bridge.config import Settings
from ghl_bridge.jobs import ACTIONS_QUEUE, make_queue, make_worker
from ghl_bridge.jobs.bullmq import DEFAULT_PREFIX

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
PRODUCER = NODE_DIR / "producer.mjs"
JOB_WAIT_MS = 20_000  # the producer's own wait for the job
PROCESS_TIMEOUT_S = 60.0  # the bound on the whole subprocess


@pytest.fixture
def node() -> str:
    """The `node` executable, with the producer's dependencies installed."""
    exe = shutil.which("node")
    if exe is None:
        problem = "Node.js (`node`) is not on PATH"
    elif not (NODE_DIR / "node_modules" / "bullmq" / "package.json").is_file():
        problem = "tests/node/node_modules is missing: run `make install`"
    else:
        return exe
    message = f"{problem}; it is needed to run the Node.js BullMQ producer."
    if os.environ.get("GHL_BRIDGE_TEST_SERVICES", "") == "required":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class Distributed:
    stack: Stack
    redis_url: str
    prefix: str
    tenant: str


@pytest.fixture
async def distributed(
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> AsyncIterator[Distributed]:
    """The service on PostgreSQL + BullMQ with its workers under this test's own queue prefix
    (the producer gets the same one), one tenant connected to a location."""
    overrides = {"queue_prefix": redis_prefix}
    try:
        async with running_stack(
            pg_url, tmp_path, redis_url=redis_url, overrides=overrides
        ) as stack:
            tenant, key = await stack.runtime.tenants.create("node-workflow-engine")
            await connect(stack.api_url, key, stack.location_id)
            yield Distributed(stack, redis_url, redis_prefix, tenant.id)
    finally:
        await delete_prefix(redis_url, redis_prefix)


async def produce(node: str, env: Distributed, *args: str) -> tuple[int, dict[str, Any]]:
    """Run producer.mjs; return its exit status and the JSON summary it prints."""
    proc = await asyncio.create_subprocess_exec(
        node,
        str(PRODUCER),
        "--tenant",
        env.tenant,
        "--location",
        env.stack.location_id,
        "--prefix",
        env.prefix,
        "--timeout-ms",
        str(JOB_WAIT_MS),
        *args,
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("GHL_BRIDGE_")},
            "REDIS_URL": env.redis_url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            await proc.wait()
        raise AssertionError(f"producer.mjs did not exit within {PROCESS_TIMEOUT_S}s") from None
    lines = out.decode().strip().splitlines()
    assert lines, f"producer.mjs printed nothing (exit {proc.returncode}): {err.decode()}"
    return proc.returncode or 0, json.loads(lines[-1])


async def test_a_node_producer_creates_a_contact_and_reads_it_back(
    node: str, distributed: Distributed
) -> None:
    contact_input = {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"}
    status, result = await produce(node, distributed, "--input", json.dumps(contact_input))

    assert status == 0, result
    assert result["state"] == "completed"
    contact = result["returnValue"]["contact"]
    assert isinstance(contact["id"], str) and contact["id"]
    assert contact["email"] == "grace@example.com"

    stack = distributed.stack
    stored = await stack.runtime.ghl.contacts.get(stack.location_id, contact["id"])
    stored = stored.get("contact", stored)
    assert stored["id"] == contact["id"]
    assert stored["email"] == "grace@example.com"
    assert stored["firstName"] == "Grace"


async def test_invalid_input_fails_the_job_once_with_the_validation_message(
    node: str, distributed: Distributed
) -> None:
    status, result = await produce(node, distributed, "--mode", "invalid")

    assert status == 0, result  # 0: the job failed, as this mode expects
    assert result["state"] == "failed"
    # "<error code>: <message>", the code first (ghl_bridge.failures).
    assert re.search(
        r"\bvalidation_error: input does not match contacts\.create's schema",
        result["failedReason"],
    ), result["failedReason"]
    # A permanent failure: one attempt of the three the producer allowed, no retries queued.
    assert result["attemptsAllowed"] == 3
    assert result["attemptsMade"] == 1


def test_the_runtime_uses_bullmqs_default_prefix() -> None:
    """Above, the prefix is per test; deployed, both sides use BullMQ's default `bull` (Node's
    default too, and producer.mjs's unless given `--prefix`), under the contract's queue name."""
    assert DEFAULT_PREFIX == "bull"
    assert Settings().queue_prefix == DEFAULT_PREFIX  # GHL_BRIDGE_QUEUE_PREFIX changes both
    for factory in (make_queue, make_worker):
        assert inspect.signature(factory).parameters["prefix"].default == DEFAULT_PREFIX
    assert ACTIONS_QUEUE == "ghl-bridge-actions"
    assert "default: 'bull'" in PRODUCER.read_text() and f"'{ACTIONS_QUEUE}'" in (
        PRODUCER.read_text()
    )
