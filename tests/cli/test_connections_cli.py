"""`ghl-bridge connections authorize|refresh|revoke` against a real simulator process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench._harness import BIN, free_port, server
from bench.refresh_race import install_on_simulator
from typer.testing import CliRunner

from ghl_bridge.cli.main import app
from ghl_bridge.client.resources.oauth import TokenGrant
from ghl_bridge.config import Settings
from ghl_bridge.runtime import Runtime
from ghl_bridge.vault import KeyRing

runner = CliRunner()


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    port = free_port()
    with server([str(BIN / "ghl-bridge"), "sim", "--port", str(port)], port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def env(sim_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seed = httpx.get(f"{sim_url}/_sim/seed").json()
    monkeypatch.chdir(tmp_path)
    values = {
        "GHL_BRIDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "GHL_BRIDGE_ENCRYPTION_KEYS": KeyRing.generate(),
        "GHL_BRIDGE_GHL_BASE_URL": sim_url,
        "GHL_BRIDGE_GHL_AUTH_URL": f"{sim_url}/oauth/chooselocation",
        "GHL_BRIDGE_GHL_CLIENT_ID": seed["app"]["clientId"],
        "GHL_BRIDGE_GHL_CLIENT_SECRET": seed["app"]["clientSecret"],
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {"seed": seed, "sim": sim_url}


def _connect(sim_url: str, location_id: str) -> None:
    """A tenant with a real OAuth grant for ``location_id``, stored as the service stores it."""

    async def run() -> None:
        runtime = await Runtime.start(Settings(), with_worker=False)
        try:
            async with httpx.AsyncClient(base_url=sim_url) as sim:
                installed = await install_on_simulator(sim, location_id)
            grant = TokenGrant.from_response(installed["grant"])
            tenant = await runtime.tenants.get_by_name("acme")
            assert tenant is not None
            await runtime.tokens.store_grant(tenant.id, grant)
        finally:
            await runtime.close()

    asyncio.run(run())


def _connection(location_id: str) -> Any:
    async def run() -> Any:
        runtime = await Runtime.start(Settings(), with_worker=False)
        try:
            return await runtime.connections.get_by_resource(location_id)
        finally:
            await runtime.close()

    return asyncio.run(run())


def test_authorize_prints_the_chooselocation_url(env: dict[str, Any]) -> None:
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    result = runner.invoke(app, ["connections", "authorize", "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith(env["sim"] + "/oauth/chooselocation?") and "state=" in url
    unknown = runner.invoke(app, ["connections", "authorize", "--tenant", "nobody"])
    assert unknown.exit_code == 1 and "no tenant named" in unknown.output


def test_authorize_without_an_oauth_app_says_what_to_set(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GHL_BRIDGE_GHL_CLIENT_SECRET")
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    result = runner.invoke(app, ["connections", "authorize", "--tenant", "acme"])
    assert result.exit_code == 2 and "GHL_BRIDGE_GHL_CLIENT_SECRET" in result.output


def test_refresh_rotates_and_revoke_stops_the_connection(env: dict[str, Any]) -> None:
    location = env["seed"]["locations"][0]["id"]
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    _connect(env["sim"], location)
    before = _connection(location)
    refreshed = runner.invoke(app, ["connections", "refresh", location])
    assert refreshed.exit_code == 0, refreshed.output
    assert "refreshed" in refreshed.output
    after = _connection(location)
    assert after.version == before.version + 1
    assert after.refresh_token_sealed != before.refresh_token_sealed
    revoked = runner.invoke(app, ["connections", "revoke", location])
    gone = _connection(location)
    assert revoked.exit_code == 0 and gone.status == "revoked"
    assert gone.refresh_token_sealed is None  # the dead tokens are forgotten, not kept
    assert gone.access_token_sealed != after.access_token_sealed
    again = runner.invoke(app, ["connections", "refresh", location])
    assert again.exit_code == 1 and "revoked" in again.output


@pytest.mark.parametrize("command", ["refresh", "revoke"])
def test_unknown_connection_is_a_clear_error(env: dict[str, Any], command: str) -> None:
    result = runner.invoke(app, ["connections", command, "no-such-location"])
    assert result.exit_code == 1 and "no connection for" in result.output


def test_add_private_reads_the_token_from_stdin(env: dict[str, Any]) -> None:
    location = env["seed"]["locations"][0]
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    args = ["connections", "add-private", "--tenant", "acme", "--location", location["id"]]
    made = runner.invoke(app, args, input=location["pit"] + "\n")
    assert made.exit_code == 0, made.output
    assert location["pit"] not in made.output
    assert _connection(location["id"]).refresh_token_sealed is None
    wrong = runner.invoke(app, args, input="pit-wrong\n")
    assert wrong.exit_code == 1 and "GHL refused" in wrong.output
    empty = runner.invoke(app, args, input="\n")
    assert empty.exit_code == 2
