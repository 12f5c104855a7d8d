"""The shipped trigger catalogue matches GHL's webhook-events.json and covers what arrives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ghl_bridge.events.triggers import catalogue, matching_types

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT.parent / "shared" / "ghl-spec" / "webhook-events.json"


@pytest.mark.skipif(not SPEC.is_file(), reason="the shared GHL spec folder is not here")
def test_catalogue_is_in_sync_with_the_spec() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_triggers.py"), str(SPEC), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_types_are_the_wire_types() -> None:
    types = set(catalogue())
    # what GHL sends, not its documentation page names
    assert {"INSTALL", "UNINSTALL", "PLAN_CHANGE", "ConversationUnreadUpdate"} <= types
    assert not {"AppInstall", "ConversationUnreadWebhook", "ProviderOutboundMessage"} & types
    assert {"ContactTagUpdate", "OpportunityStageUpdate", "InboundMessage"} <= types
    assert "connection.needs_reauth" in types  # raised by the service itself
    assert catalogue()["AppointmentUpdate"].example["type"] == "AppointmentUpdate"  # type: ignore[index]


def test_schemas_are_json_schema() -> None:
    import jsonschema

    for trigger in catalogue().values():
        jsonschema.Draft202012Validator.check_schema(trigger.schema)
        if trigger.example is not None:
            jsonschema.Draft202012Validator(trigger.schema).validate(trigger.example)


def test_patterns() -> None:
    assert "ContactCreate" in matching_types("Contact*")
    assert matching_types("Nope*") == []
    assert len(matching_types("*")) == len(catalogue())
