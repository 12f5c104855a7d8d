"""`ghl-bridge keys generate|status|rotate`: the operator's rotation, end to end on SQLite, and
bad key rings refused with a message that names the entry, never the key."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path

import pytest
from bench.key_rotation import KEY_A, KEY_B, RING_A, RING_B, access_token, location, seed
from typer.testing import CliRunner, Result

from ghl_bridge.cli import keys as keys_cli
from ghl_bridge.cli.main import app
from ghl_bridge.oauth import key_rotation
from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.vault import KeyRing, Vault

runner = CliRunner()
SPEC_A = f"A:{base64.b64encode(KEY_A).decode()}"
SPEC_B = f"B:{base64.b64encode(KEY_B).decode()}"
SECRETS = [
    base64.b64encode(KEY_A).decode(),
    base64.b64encode(KEY_B).decode(),
    base64.urlsafe_b64encode(KEY_A).decode(),
    base64.urlsafe_b64encode(KEY_B).decode(),
]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # chdir: a command without GHL_BRIDGE_ENCRYPTION_KEYS writes the dev key file under cwd.
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GHL_BRIDGE_DATABASE_URL", url)
    return url


def _seed(db_url: str, rows: int, ring: KeyRing = RING_A) -> None:
    async def run() -> None:
        await upgrade(db_url)
        engine = make_engine(db_url)
        try:
            await seed(make_sessionmaker(engine), Vault(ring), rows)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _opened_with_b_alone(db_url: str) -> dict[str, str]:
    """Every access token, opened with a ring that holds only key B (fails if any needs A)."""

    async def run() -> dict[str, str]:
        engine = make_engine(db_url)
        try:
            rows = await ConnectionRepo(make_sessionmaker(engine)).list()
        finally:
            await engine.dispose()
        only_b = Vault(RING_B)
        return {
            c.resource_id: only_b.unseal(
                c.access_token_sealed, context=seal_context(c.resource_id, "access")
            )
            for c in rows
        }

    return asyncio.run(run())


def _keys(monkeypatch: pytest.MonkeyPatch, spec: str, *args: str) -> Result:
    monkeypatch.setenv("GHL_BRIDGE_ENCRYPTION_KEYS", spec)
    result = runner.invoke(app, ["keys", *args])
    for secret in SECRETS:
        assert secret not in result.output
    return result


def test_rotate_moves_a_seeded_database_to_the_new_key(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(db_url, 7)

    result = _keys(monkeypatch, f"{SPEC_B},{SPEC_A}", "rotate", "--batch", "3")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "active key 'B': 7 credential(s) to re-seal"
    assert lines[1:4] == ["re-sealed 3/7", "re-sealed 6/7", "re-sealed 7/7"]
    assert "done: 7 connection(s) and 0 subscription(s) re-sealed under 'B'" in lines[4]
    assert "'A' can be removed from GHL_BRIDGE_ENCRYPTION_KEYS" in lines[5]
    assert _opened_with_b_alone(db_url) == {location(i): access_token(i) for i in range(7)}

    status = _keys(monkeypatch, f"{SPEC_B},{SPEC_A}", "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout) == {
        "activeKeyId": "B",
        "ringKeyIds": ["B", "A"],
        "keys": [{"keyId": "B", "connections": 7, "inRing": True}],
        "remaining": 0,
    }


def test_status_shows_the_active_key_and_connections_per_key(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(db_url, 3)

    result = _keys(monkeypatch, f"{SPEC_B},{SPEC_A}", "status")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("active key: B\n")
    cells = [re.findall(r"[\w()]+", line) for line in result.stdout.splitlines()]
    assert ["key", "id", "connections", "in", "ring"] in cells
    assert ["A", "3", "yes"] in cells  # key id, connections, in ring (not active)
    assert "3 credential(s) to re-seal under 'B': run `ghl-bridge keys rotate`" in result.stdout

    as_json = json.loads(_keys(monkeypatch, f"{SPEC_B},{SPEC_A}", "status", "--json").stdout)
    assert as_json["keys"] == [{"keyId": "A", "connections": 3, "inRing": True}]
    assert (as_json["activeKeyId"], as_json["remaining"]) == ("B", 3)


def test_status_warns_about_key_ids_missing_from_the_ring(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(db_url, 2)

    result = _keys(monkeypatch, SPEC_B, "status")

    assert result.exit_code == 0, result.output
    assert "2 connection(s) name key id 'A', which is not in the key ring" in result.stderr


def test_rotate_without_the_old_key_stops_naming_the_key_and_a_connection(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(db_url, 2)

    result = _keys(monkeypatch, SPEC_B, "rotate")

    assert result.exit_code == 1
    assert "key rotation stopped:" in result.stderr
    assert "under key id 'A', which is not in the key ring" in result.stderr
    assert "con_" in result.stderr  # the example connection
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        (f"{SPEC_A},B:not/base64!!", "encryption key 'B' is not valid base64"),
        (f"{SPEC_A},B:{base64.b64encode(b'short').decode()}", "must decode to 32 bytes"),
        (f"{SPEC_A},{SPEC_A}", "duplicate key id 'A'"),
        (f"{SPEC_A},garbage", "entry #2 is not in the form 'kid:base64key'"),
    ],
)
@pytest.mark.parametrize("command", ["rotate", "status"])
def test_a_bad_key_ring_exits_2_with_a_clear_message_and_no_secret(
    db_url: str, monkeypatch: pytest.MonkeyPatch, spec: str, needle: str, command: str
) -> None:
    result = _keys(monkeypatch, spec, command)

    assert result.exit_code == 2
    assert "encryption keys:" in result.stderr and needle in result.stderr
    assert "Traceback" not in result.output


def test_generate_prints_one_entry_that_parses_as_a_ring() -> None:
    result = runner.invoke(app, ["keys", "generate"])

    assert result.exit_code == 0, result.output
    [entry] = result.stdout.splitlines()
    ring = KeyRing.parse(entry)
    assert len(ring.key(ring.active_kid)) == 32
    assert "Prepend it to GHL_BRIDGE_ENCRYPTION_KEYS" in result.stderr
    # prepended to an existing ring, it becomes the active key
    assert KeyRing.parse(f"{entry},{SPEC_A}").kids == (ring.active_kid, "A")
    again = runner.invoke(app, ["keys", "generate"]).stdout.strip()
    assert again != entry


def test_generate_takes_a_key_id_and_refuses_a_bad_one() -> None:
    named = runner.invoke(app, ["keys", "generate", "--kid", "2026-q1"])
    assert named.exit_code == 0, named.output
    assert KeyRing.parse(named.stdout.strip()).active_kid == "2026-q1"

    bad = runner.invoke(app, ["keys", "generate", "--kid", "has.dot"])
    assert bad.exit_code == 2
    assert "key id must be 1-32 characters" in bad.stderr
    assert bad.stdout == ""


def test_the_cli_default_batch_is_the_rotators() -> None:
    assert keys_cli.DEFAULT_BATCH == key_rotation.DEFAULT_BATCH
