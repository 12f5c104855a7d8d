"""CI's contract: with GHL_BRIDGE_TEST_SERVICES=required, missing PostgreSQL/Redis fail the run.

Runs a small real-services test module in a subprocess pointed at closed ports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = [
    "tests/integration/store/test_store_tenants.py",
    "tests/integration/jobs/test_queue_contract.py",
]


def _run(required: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHL_BRIDGE_")}
    env["GHL_BRIDGE_TEST_PG_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"
    env["GHL_BRIDGE_TEST_REDIS_URL"] = "redis://127.0.0.1:1/0"
    if required:
        env["GHL_BRIDGE_TEST_SERVICES"] = "required"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "postgresql or bullmq",
        *TARGETS,
    ]
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("required", [True, False])
def test_absent_services_fail_when_required_and_skip_otherwise(required: bool) -> None:
    result = _run(required)
    tail = result.stdout.strip().splitlines()[-1]
    if required:
        assert result.returncode == 1, result.stdout[-2000:]
        assert "failed" in tail or "error" in tail
        assert "not reachable" in result.stdout
    else:
        assert result.returncode == 0, result.stdout[-2000:]
        assert "skipped" in tail and "failed" not in tail
