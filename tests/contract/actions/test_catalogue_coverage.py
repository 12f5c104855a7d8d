"""The catalogue's promises: enough actions, every one with a published schema, and every one
exercised by a contract test in this folder that succeeds and one that fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ghl_bridge.actions import Kind, default_registry

HERE = Path(__file__).parent
# acts.run("name", ...)  /  acts.refused("name", ...) / acts.invalid("name", ...)
_CALL = re.compile(r"""acts\.(run|refused|invalid)\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def _calls() -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {"run": set(), "refused": set(), "invalid": set()}
    for path in HERE.glob("test_*.py"):
        for kind, name in _CALL.findall(path.read_text()):
            seen[kind].add(name)
    return seen


def test_at_least_sixty_actions_with_schemas_and_scopes() -> None:
    actions = default_registry().all()
    assert len(actions) >= 60, len(actions)
    for action in actions:
        described = action.describe()
        assert described["inputSchema"]["type"] == "object", action.name
        assert described["outputSchema"]["type"] == "object", action.name
        # Only ghl.request (scopes per operation) and actions that call no GHL endpoint name none.
        assert action.scopes or action.name in ("ghl.request", "locations.usage"), action.name
        assert action.summary.endswith("."), action.name
        if action.kind is not Kind.READ:
            assert isinstance(action.retry_safe, bool)


@pytest.mark.parametrize("action", [a.name for a in default_registry().all()])
def test_every_action_has_a_success_and_a_failure_contract_test(action: str) -> None:
    calls = _calls()
    assert action in calls["run"], f"no contract test runs {action}"
    assert action in calls["refused"] | calls["invalid"], f"no contract test fails {action}"
