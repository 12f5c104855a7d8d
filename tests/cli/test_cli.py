"""The command line: happy paths and bad input, with settings from the environment."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ghl_bridge.cli.main import app
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.tenants import TenantRepo

runner = CliRunner()


@pytest.fixture(autouse=True)
def _database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHL_BRIDGE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")


def test_tenant_create_prints_key_once_and_list_never_shows_it() -> None:
    created = runner.invoke(app, ["tenants", "create", "acme"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("ghlb_")
    listed = runner.invoke(app, ["tenants", "list", "--json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [r["name"] for r in rows] == ["acme"]
    assert key not in listed.output


def test_duplicate_tenant_is_refused() -> None:
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    again = runner.invoke(app, ["tenants", "create", "acme"])
    assert again.exit_code == 1
    assert "already exists" in again.output


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_bad_tenant_names_are_refused(name: str) -> None:
    result = runner.invoke(app, ["tenants", "create", name])
    assert result.exit_code == 2
    assert "1-200 characters" in result.output


def test_db_upgrade_is_idempotent() -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    second = runner.invoke(app, ["db", "upgrade"])
    assert second.exit_code == 0
    assert "up to date" in second.output


def test_connections_list_empty() -> None:
    result = runner.invoke(app, ["connections", "list", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == []


def test_actions_list_json_has_schemas() -> None:
    result = runner.invoke(app, ["actions", "list", "--json"])
    assert result.exit_code == 0
    [create] = [a for a in json.loads(result.output) if a["name"] == "contacts.create"]
    assert create["inputSchema"]["additionalProperties"] is False


@pytest.mark.parametrize("rate", ["fast", "10", "0/10s", "10/0s"])
def test_sim_refuses_bad_rate_limits(rate: str) -> None:
    result = runner.invoke(app, ["sim", "--rate-limit", rate])
    assert result.exit_code == 2
    assert "--rate-limit" in result.output


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("GHL_BRIDGE_ENV", "staging", "env"),
        ("GHL_BRIDGE_GHL_RATE_LIMIT", "lots", "rate limit"),
        ("GHL_BRIDGE_ENV", "prod", "refusing to start"),
    ],
)
def test_bad_configuration_exits_2_naming_the_problem(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(var, value)
    result = runner.invoke(app, ["tenants", "list"])
    assert result.exit_code == 2
    assert needle in result.output.lower()


def test_prod_accepts_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from ghl_bridge.vault import KeyRing

    monkeypatch.setenv("GHL_BRIDGE_ENV", "prod")
    monkeypatch.setenv("GHL_BRIDGE_ENCRYPTION_KEYS", KeyRing.generate("k1"))
    monkeypatch.setenv("GHL_BRIDGE_ADMIN_TOKEN", "a-long-random-operator-token")
    assert runner.invoke(app, ["tenants", "list"]).exit_code == 0


def _created_key(output: str) -> str:
    key = output.strip().splitlines()[-1]
    assert key.startswith("ghlb_")
    return key


def _authenticates(key: str) -> list[str] | None:
    """The scopes of ``key`` in the CLI's database, or None if it does not authenticate."""

    async def run() -> list[str] | None:
        engine = make_engine(os.environ["GHL_BRIDGE_DATABASE_URL"])
        try:
            found = await TenantRepo(make_sessionmaker(engine)).resolve(key)
        finally:
            await engine.dispose()
        return None if found is None else found[1].scope_list

    return asyncio.run(run())


def test_tenant_key_create_with_scopes_and_revoke() -> None:
    first = _created_key(runner.invoke(app, ["tenants", "create", "acme"]).output)
    assert _authenticates(first) == ["read", "write", "admin", "destructive", "outbound"]

    made = runner.invoke(
        app, ["tenants", "key-create", "acme", "--scope", "write", "--scope", "read"]
    )
    assert made.exit_code == 0, made.output
    key = _created_key(made.output)
    assert _authenticates(key) == ["read", "write"]
    [key_id] = [w for w in made.output.split() if w.startswith("key_")]

    revoked = runner.invoke(app, ["tenants", "key-revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.output and key not in revoked.output
    assert _authenticates(key) is None
    assert _authenticates(first) is not None


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["tenants", "key-create", "acme", "--scope", "root"], 2, "unknown scope"),
        (["tenants", "key-create", "acme"], 2, "--scope"),
        (["tenants", "key-create", "nobody", "--scope", "read"], 1, "no tenant named"),
        (["tenants", "key-revoke", "key_missing"], 1, "no API key"),
    ],
)
def test_tenant_key_commands_refuse_bad_input(args: list[str], code: int, needle: str) -> None:
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert "ghlb_" not in result.output
