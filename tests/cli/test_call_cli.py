"""`ghl-bridge call ACTION` against a real simulator process: output on stdout, failures as a
stable code on stderr, unreadable input refused before anything runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from tests.cli.test_connections_cli import _connect, env, runner, sim_url
from typer.testing import CliRunner

from ghl_bridge.cli.main import app

__all__ = ["env", "sim_url"]  # fixtures shared with the connections CLI tests


@pytest.fixture(autouse=True)
def _keep_logging_config() -> Iterator[None]:
    """`call` turns logging down to warnings for its process; give the next tests theirs back."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _ready(env: dict[str, Any]) -> str:
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    location_id = str(env["seed"]["locations"][0]["id"])
    _connect(env["sim"], location_id)
    return location_id


def _call(location_id: str, *args: str, stdin: str | None = None) -> Any:
    split = CliRunner()
    return split.invoke(
        app, ["call", *args, "--tenant", "acme", "--location", location_id], input=stdin
    )


def test_call_runs_an_action_and_prints_its_output(env: dict[str, Any], tmp_path: Path) -> None:
    location_id = _ready(env)
    made = _call(location_id, "contacts.create", "--input", '{"firstName": "Cli"}')
    assert made.exit_code == 0, made.output
    contact = json.loads(made.stdout)["contact"]
    (tmp_path / "in.json").write_text(json.dumps({"contactId": contact["id"]}))
    got = _call(location_id, "contacts.get", "--input", f"@{tmp_path / 'in.json'}")
    assert got.exit_code == 0 and json.loads(got.stdout)["contact"]["firstName"] == "Cli"
    piped = _call(
        location_id, "contacts.get", "--input", "-", stdin=json.dumps({"contactId": contact["id"]})
    )
    assert piped.exit_code == 0
    dry = _call(
        location_id,
        "contacts.delete",
        "--dry-run",
        "--input",
        json.dumps({"contactId": contact["id"]}),
    )
    assert json.loads(dry.stdout)["request"]["method"] == "DELETE"
    still = _call(location_id, "contacts.get", "--input", json.dumps({"contactId": contact["id"]}))
    assert still.exit_code == 0  # the dry run deleted nothing


def test_call_failures_are_stable_codes(env: dict[str, Any]) -> None:
    location_id = _ready(env)
    bad = _call(location_id, "contacts.create", "--input", '{"emial": "x@y.co"}')
    assert bad.exit_code == 1 and bad.stderr.startswith("validation_error:")
    missing = _call(location_id, "contacts.get", "--input", '{"contactId": "nope123"}')
    assert missing.exit_code == 1 and missing.stderr.startswith("not_found:")
    unknown = _call(location_id, "contacts.nope")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("not_found:")
    foreign = _call("someoneElsesLocation", "contacts.get", "--input", '{"contactId": "abc"}')
    assert foreign.exit_code == 1 and foreign.stderr.startswith("forbidden:")
    not_json = _call(location_id, "contacts.create", "--input", "{nope")
    assert not_json.exit_code == 2 and "not JSON" in not_json.stderr
    unreadable = _call(location_id, "contacts.create", "--input", "@/nonexistent/in.json")
    assert unreadable.exit_code == 2
    huge = _call(location_id, "contacts.create", "--input", "-", stdin="[" + "1," * 600_000 + "1]")
    assert huge.exit_code == 2 and "larger than" in huge.stderr
    assert runner.invoke(app, ["call", "contacts.get", "--location", location_id]).exit_code == 2
