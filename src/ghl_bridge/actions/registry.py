"""Action definitions and the registry that names them.

An action is data (name, summary, input/output JSON Schema, required scopes) plus one coroutine.
REST, the queue, the CLI and the console all call actions through ``ActionService``, so validation
and tenant checks live in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from ghl_bridge.client import GHLClient, RequestOptions

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What an action runs with: the client, whom it acts for, and the caller's idempotency key."""

    ghl: GHLClient
    tenant_id: str
    location_id: str
    idempotency_key: str | None = None

    def request_options(self) -> RequestOptions:
        return RequestOptions(idempotency_key=self.idempotency_key)


Runner = Callable[[ActionContext, JSON], Awaitable[JSON]]


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    summary: str
    input_schema: JSON
    output_schema: JSON
    run: Runner = field(repr=False)
    scopes: tuple[str, ...] = ()
    idempotent: bool = False
    validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        Draft202012Validator.check_schema(self.input_schema)
        object.__setattr__(self, "validator", Draft202012Validator(self.input_schema))

    def describe(self) -> JSON:
        return {
            "name": self.name,
            "summary": self.summary,
            "scopes": list(self.scopes),
            "idempotent": self.idempotent,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
        }


class Registry:
    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.register(action)

    def register(self, action: Action) -> None:
        if action.name in self._actions:
            raise ValueError(f"action {action.name!r} is already registered")
        self._actions[action.name] = action

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    def all(self) -> list[Action]:
        return [self._actions[name] for name in sorted(self._actions)]


def default_registry() -> Registry:
    """Every built-in action."""
    from ghl_bridge.actions import contacts

    return Registry(contacts.ACTIONS)
