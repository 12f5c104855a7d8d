"""Crash test (issue #6): the worker is SIGKILLed mid-processing and Redis restarts in between;
after the restart every accepted event is processed exactly once by effect, none lost.

Real processes: `ghl-bridge serve --no-worker` and `ghl-bridge worker` on PostgreSQL and BullMQ,
on a Redis server of the test's own (its own port and directory, `appendonly yes`,
`appendfsync always`), stopped with SHUTDOWN and started again on the same directory. The
worker gets a test-only sink (tests/e2e/crash_hooks/sitecustomize.py, through PYTHONPATH) that
records every attempt, sleeps, and records the event's effect once per webhookId — an
idempotent handler, as every handler must be.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.support.signing import event, signer
from tests.support.stack import free_port

from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.tenants import TenantRepo
from ghl_bridge.vault import KeyRing, Vault

pytestmark = pytest.mark.services

EXE = Path(sys.executable).with_name("ghl-bridge")
HOOKS = Path(__file__).with_name("crash_hooks")
LOCATION = "crashLocation0000001"
FIRST, LATER = 40, 10  # events before the kill; events accepted while the worker is down
DEADLINE_S = 80


def _dsn(pg_url: str) -> str:
    return pg_url.replace("postgresql+asyncpg://", "postgresql://")


def _sql(pg_url: str, sql: str, *args: Any) -> list[Any]:
    async def run() -> list[Any]:
        conn = await asyncpg.connect(_dsn(pg_url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def _count(pg_url: str, sql: str) -> int:
    return int(_sql(pg_url, sql)[0][0])


def _until(check: Callable[[], bool], what: str, deadline: float) -> None:
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class RedisServer:
    """A redis-server of this test's own: AOF with fsync on every write, restartable."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        _until(lambda: self._cli("PING") == "PONG", "redis to start", deadline)

    def shutdown(self) -> None:
        """SHUTDOWN: Redis fsyncs its AOF and exits (what a restart or a deploy does)."""
        self._cli("SHUTDOWN")
        assert self.proc is not None
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], check=False, capture_output=True, timeout=5
        )
        return done.stdout.decode().strip()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    data = tmp_path / "redis"
    data.mkdir()
    server = RedisServer(data)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _seed(pg_url: str, keys: str) -> None:
    """Schema, a tenant holding the location, and the test's effect tables."""
    await upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        sessions = make_sessionmaker(engine)
        tenant, _ = await TenantRepo(sessions).create("crash")
        await ConnectionRepo(sessions).upsert(
            tenant.id,
            user_type="Location",
            company_id="crashCompany00000001",
            location_id=LOCATION,
            access_sealed=Vault(KeyRing.parse(keys)).seal("unused", context="crash"),
            refresh_sealed=None,
            key_id="k1",
            expires_at=None,
            scopes="",
        )
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        await conn.execute(
            "CREATE TABLE crash_attempts (webhook_id text NOT NULL, pid int NOT NULL);"
            "CREATE TABLE crash_effects (webhook_id text PRIMARY KEY);"
        )
    finally:
        await conn.close()


def _post(url: str, n: int) -> list[str]:
    """Deliver n signed events; return their webhook ids (all must be accepted)."""
    ids = []
    with httpx.Client(timeout=10) as http:
        for _ in range(n):
            raw = event(LOCATION)
            resp = http.post(
                f"{url}/webhooks/ghl",
                content=raw,
                headers={"x-ghl-signature": signer().ed25519(raw)},
            )
            assert resp.status_code == 200, resp.text
            ids.append(json.loads(raw)["webhookId"])
    return ids


def test_worker_killed_mid_job_and_redis_restarted_loses_nothing_and_repeats_nothing(
    pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    deadline = time.monotonic() + DEADLINE_S
    keys = KeyRing.generate("k1")
    asyncio.run(_seed(pg_url, keys))
    base = {k: v for k, v in os.environ.items() if not k.startswith("GHL_BRIDGE_")}
    env = {
        **base,
        "GHL_BRIDGE_DATABASE_URL": pg_url,
        "GHL_BRIDGE_REDIS_URL": redis_server.url,
        "GHL_BRIDGE_ENCRYPTION_KEYS": keys,
        "GHL_BRIDGE_WEBHOOK_ED25519_KEYS": signer().ed_pem,
    }
    worker_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOKS), base.get("PYTHONPATH")])),
        "CRASH_TEST_EFFECTS_DSN": _dsn(pg_url),
        "CRASH_TEST_DELAY_S": "0.3",
    }
    started: list[subprocess.Popen[bytes]] = []

    def spawn(args: list[str], with_env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [str(EXE), *args],
            env=with_env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        return proc

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        spawn(["serve", "--no-worker", "--port", str(port)], env)
        _until(lambda: _ready(url), "serve to be ready", deadline)
        accepted = _post(url, FIRST)

        worker = spawn(["worker"], worker_env)
        attempts = "SELECT count(*) FROM crash_attempts"
        effects = "SELECT count(*) FROM crash_effects"
        _until(lambda: _count(pg_url, attempts) >= 10, "the worker to be busy", deadline)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        in_flight = _count(pg_url, attempts) - _count(pg_url, effects)
        assert in_flight > 0, "the kill must land while events are being processed"
        assert _count(pg_url, effects) < FIRST

        redis_server.shutdown()
        redis_server.start()
        accepted += _post(url, LATER)  # the API keeps accepting, on the restarted Redis

        spawn(["worker"], worker_env)
        total = FIRST + LATER
        done = "SELECT count(*) FROM webhook_events WHERE status = 'processed'"
        _until(
            lambda: _count(pg_url, done) == total and _count(pg_url, effects) == total,
            "every accepted event to be processed",
            deadline,
        )
        time.sleep(1.0)  # a straggling duplicate run would show up now
        effect_ids = {row[0] for row in _sql(pg_url, "SELECT webhook_id FROM crash_effects")}
        assert effect_ids == set(accepted)  # every accepted event, none lost, none invented
        rows = _sql(pg_url, "SELECT webhook_id, status FROM webhook_events")
        assert sorted(r[0] for r in rows) == sorted(accepted)  # one inbox row per delivery
        assert {r[1] for r in rows} == {"processed"}
        rerun = _count(pg_url, attempts) - total
        assert rerun >= in_flight  # the killed worker's jobs really ran again after restart
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
