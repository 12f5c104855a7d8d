"""`ghl-bridge events list|replay` and `ghl-bridge dlq list|replay` against a real database
(SQLite and PostgreSQL, in-process queue): dead events listed with attempts and last error,
replays queued once, and the worker then processes them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ghl_bridge.cli.main import app
from ghl_bridge.config import Settings
from ghl_bridge.jobs.names import WEBHOOK_PROCESS_JOB
from ghl_bridge.runtime import Runtime
from ghl_bridge.store.models import WebhookEvent
from ghl_bridge.vault import KeyRing

runner = CliRunner()


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GHL_BRIDGE_DATABASE_URL", database_url)
    monkeypatch.setenv("GHL_BRIDGE_ENCRYPTION_KEYS", KeyRing.generate())


def _in_runtime(work: Any, *, with_worker: bool = False) -> Any:
    async def run() -> Any:
        runtime = await Runtime.start(Settings(), with_worker=with_worker)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())


def _seed() -> dict[str, list[str]]:
    """Tenants acme (two dead events, one processed) and other (one dead event)."""

    async def work(runtime: Runtime) -> dict[str, list[str]]:
        made: dict[str, list[str]] = {}
        start = datetime.now(UTC) - timedelta(minutes=5)
        for name, count in (("acme", 3), ("other", 1)):
            tenant, _ = await runtime.tenants.create(name)
            for i in range(count):
                event_id, _ = await runtime.inbox.record(
                    f"{name}-{i}",
                    event_type="ContactCreate",
                    location_id=f"loc-{name}",
                    company_id=None,
                    tenant_id=tenant.id,
                    payload=json.dumps({"type": "ContactCreate", "locationId": f"loc-{name}"}),
                    signature_scheme="ed25519",
                    received_at=start + timedelta(seconds=i),
                )
                if i == 2:
                    await runtime.inbox.mark_processed(event_id)
                else:
                    await runtime.inbox.record_failure(event_id, "RuntimeError: down", dead=True)
                made.setdefault(name, []).append(event_id)
        return made

    made: dict[str, list[str]] = _in_runtime(work)
    return made


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _event(event_id: str) -> WebhookEvent:
    async def work(runtime: Runtime) -> WebhookEvent | None:
        return await runtime.inbox.get(event_id)

    event: WebhookEvent | None = _in_runtime(work)
    assert event is not None
    return event


def test_dlq_and_events_list(env: None) -> None:
    made = _seed()
    dead = _json(["dlq", "list", "--json"])
    assert {d["id"] for d in dead} == {*made["acme"][:2], made["other"][0]}
    assert {(d["attempts"], d["lastError"], d["status"]) for d in dead} == {
        (1, "RuntimeError: down", "dead")
    }
    acme = _json(["dlq", "list", "--tenant", "acme", "--json"])
    assert [d["id"] for d in acme] == list(reversed(made["acme"][:2]))  # newest dead first
    table = runner.invoke(app, ["dlq", "list"])
    assert table.exit_code == 0 and "down" in table.output  # a narrow table wraps the error

    processed = _json(["events", "list", "--status", "processed", "--json"])
    assert [e["id"] for e in processed] == [made["acme"][2]]
    assert len(_json(["events", "list", "--tenant", "other", "--json"])) == 1
    assert runner.invoke(app, ["events", "list", "--status", "bogus"]).exit_code == 2
    assert runner.invoke(app, ["events", "list", "--tenant", "nobody"]).exit_code == 1
    assert runner.invoke(app, ["dlq", "list", "--tenant", "nobody"]).exit_code == 1


def test_events_replay_queues_once_and_refuses_bad_ids(env: None) -> None:
    made = _seed()
    event_id = made["acme"][0]
    [first] = _json(["events", "replay", event_id, "--json"])
    assert (first["status"], first["replays"], first["queued"]) == ("pending", 1, True)
    [again] = _json(["events", "replay", event_id, "--json"])  # already pending: no new run
    assert (again["replays"], again["queued"]) == (1, False)
    text = runner.invoke(app, ["events", "replay", made["acme"][2]])  # a processed one
    assert text.exit_code == 0 and "queued" in text.output

    async def job(runtime: Runtime) -> Any:
        return await runtime.events_queue.get(f"wh-{event_id}-r1")

    info = _in_runtime(job)
    assert info is not None and info.name == WEBHOOK_PROCESS_JOB and info.state == "waiting"
    assert info.data == {"eventId": event_id}

    unknown = runner.invoke(app, ["events", "replay", "evt_doesnotexist"])
    assert unknown.exit_code == 1 and "no event" in unknown.output
    for bad in ("nope", "evt_", "evt_" + "a" * 80):
        assert runner.invoke(app, ["events", "replay", bad]).exit_code == 2


def test_dlq_replay_all_then_the_worker_processes_them(env: None) -> None:
    made = _seed()
    assert runner.invoke(app, ["dlq", "replay"]).exit_code == 2
    assert runner.invoke(app, ["dlq", "replay", made["acme"][0], "--all"]).exit_code == 2
    assert runner.invoke(app, ["dlq", "replay", made["acme"][0], "--tenant", "x"]).exit_code == 2

    replayed = _json(["dlq", "replay", "--all", "--tenant", "acme", "--json"])
    assert sorted(r["id"] for r in replayed) == sorted(made["acme"][:2])
    assert [d["id"] for d in _json(["dlq", "list", "--json"])] == [made["other"][0]]
    [one] = _json(["dlq", "replay", made["other"][0], "--json"])
    assert one["queued"] is True
    assert _json(["dlq", "list", "--json"]) == []
    assert _json(["dlq", "replay", "--all", "--json"]) == []  # nothing dead: nothing to do

    async def drain(runtime: Runtime) -> None:
        ids = [*made["acme"][:2], made["other"][0]]
        for _ in range(400):
            rows = [await runtime.inbox.get(i) for i in ids]
            if all(r is not None and r.status == "processed" for r in rows):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the replayed events were not processed")

    _in_runtime(drain, with_worker=True)
    processed = _event(made["other"][0])
    assert (processed.status, processed.replays, processed.retry_count) == ("processed", 1, 1)
