"""Distributed mode as deployed: `serve --no-worker` and a separate `ghl-bridge worker`, sharing
PostgreSQL and Redis (BullMQ). A signed webhook accepted by the API process is processed by the
worker process; the API process alone never processes it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from tests.support.signing import event, signer
from tests.support.stack import free_port

from ghl_bridge.vault import KeyRing

EXE = Path(sys.executable).with_name("ghl-bridge")


def _status(pg_url: str, event_id: str) -> str | None:
    async def fetch() -> str | None:
        conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return await conn.fetchval("SELECT status FROM webhook_events WHERE id = $1", event_id)  # type: ignore[no-any-return]
        finally:
            await conn.close()

    return asyncio.run(fetch())


@pytest.fixture
def env(pg_url: str, redis_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GHL_BRIDGE_")}
    return {
        **base,
        "GHL_BRIDGE_DATABASE_URL": pg_url,
        "GHL_BRIDGE_REDIS_URL": redis_url,
        "GHL_BRIDGE_ENCRYPTION_KEYS": KeyRing.generate("k1"),
        "GHL_BRIDGE_WEBHOOK_ED25519_KEYS": signer().ed_pem,
    }


@pytest.fixture
def processes(
    env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [str(EXE), *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        return proc

    start("serve", "--no-worker", "--port", str(port))
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "serve did not become ready"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", started
    finally:
        for proc in started:
            proc.send_signal(signal.SIGINT)
        for proc in started:
            try:
                assert proc.wait(timeout=20) == 0
            except subprocess.TimeoutExpired:
                proc.kill()
                raise


def test_api_process_accepts_and_worker_process_processes(
    processes: tuple[str, list[subprocess.Popen[bytes]]],
    env: dict[str, str],
    pg_url: str,
    tmp_path: Path,
) -> None:
    url, started = processes
    raw = event("distributedLoc000001", type_="INSTALL")  # stored though no tenant holds it
    resp = httpx.post(
        f"{url}/webhooks/ghl",
        content=raw,
        headers={"x-ghl-signature": signer().ed25519(raw), "Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    event_id = resp.json()["eventId"]
    ready = httpx.get(f"{url}/readyz").json()
    assert ready["checks"] == {"database": "ok", "redis": "ok"}
    time.sleep(1.0)
    assert _status(pg_url, event_id) == "pending"  # the API process runs no worker

    started.append(
        subprocess.Popen(
            [str(EXE), "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    deadline = time.monotonic() + 30
    while _status(pg_url, event_id) != "processed":
        assert time.monotonic() < deadline, "the worker process did not process the event"
        time.sleep(0.2)
