"""Action definitions and the registry that names them.

An action is data (name, summary, input and output pydantic models, required GHL scopes, what
kind of change it makes, whether a retry is safe) plus one coroutine. REST, the queue and the CLI
all call actions through ``ActionService``, so validation, key policy and tenant checks live in
one place. Modules declare their actions with ``ActionSet.define``; the input and output models
are read from the coroutine's annotations, so the schema a workflow builder sees is the type the
code receives.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from ghl_bridge.actions.models import JSON, Input
from ghl_bridge.client import GHLClient, RequestOptions

if typing.TYPE_CHECKING:
    from ghl_bridge.actions.support import ActionSupport


class Kind(StrEnum):
    """What running an action does, which decides what an API key needs to run it.

    read: changes nothing. write: creates or changes records. destructive: deletes or removes
    something that cannot be put back by running another action. outbound: sends a message to a
    person (SMS, email, review reply), which cannot be taken back at all.
    """

    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"
    OUTBOUND = "outbound"


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What an action runs with: the client, whom it acts for, the caller's idempotency key, and
    the service-side helpers (custom-field maps, our own records)."""

    ghl: GHLClient
    tenant_id: str
    location_id: str
    support: ActionSupport
    idempotency_key: str | None = None
    dry_run: bool = False

    @property
    def opts(self) -> RequestOptions:
        return RequestOptions(idempotency_key=self.idempotency_key)

    def keyed(self, suffix: str) -> RequestOptions:
        """Options for one write of a multi-call action: each call gets its own key."""
        key = f"{self.idempotency_key}:{suffix}" if self.idempotency_key else None
        return RequestOptions(idempotency_key=key)

    async def remember(self, kind: str, key: str, data: JSON) -> None:
        """Keep a fact in our records (skipped in a dry run, and without a records store)."""
        records = self.support.records
        if records is not None and not self.dry_run:
            await records.put(self.tenant_id, self.location_id, kind, key, data)


Runner = Callable[[ActionContext, Any], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    summary: str
    input: type[Input]
    output: type[BaseModel]
    run: Runner = field(repr=False)
    scopes: tuple[str, ...] = ()
    kind: Kind = Kind.READ
    retry_safe: bool = True
    notes: str = ""
    # For an action whose kind depends on its input (ghl.request): the kind of this input.
    kind_for: Callable[[Any], Kind] | None = field(default=None, repr=False)

    def kind_of(self, payload: BaseModel) -> Kind:
        return self.kind if self.kind_for is None else self.kind_for(payload)

    def describe(self) -> JSON:
        input_schema, output_schema = _schemas(self.input, self.output)
        return {
            "name": self.name,
            "summary": self.summary,
            "kind": self.kind.value,
            "kindDependsOnInput": self.kind_for is not None,
            "scopes": list(self.scopes),
            "retrySafe": self.retry_safe,
            "notes": self.notes,
            "inputSchema": input_schema,
            "outputSchema": output_schema,
        }

    @property
    def area(self) -> str:
        return self.name.split(".", 1)[0]


_SCHEMA_CACHE: dict[tuple[type[BaseModel], type[BaseModel]], tuple[JSON, JSON]] = {}


def _schemas(inp: type[BaseModel], out: type[BaseModel]) -> tuple[JSON, JSON]:
    cached = _SCHEMA_CACHE.get((inp, out))
    if cached is None:
        cached = (
            inp.model_json_schema(by_alias=True, mode="validation"),
            out.model_json_schema(by_alias=True, mode="serialization"),
        )
        _SCHEMA_CACHE[(inp, out)] = cached
    return cached


class ActionSet:
    """The actions one module declares, in declaration order."""

    def __init__(self) -> None:
        self.actions: list[Action] = []

    def define(
        self,
        name: str,
        summary: str,
        *,
        scopes: Iterable[str],
        kind: Kind = Kind.READ,
        retry_safe: bool | None = None,
        notes: str = "",
        kind_for: Callable[[Any], Kind] | None = None,
    ) -> Callable[[Runner], Runner]:
        """Declare the decorated coroutine as action ``name``.

        ``retry_safe`` defaults to true for reads and must be said for every other kind: whether
        running a change twice is harmless is a decision, not a default.
        """
        if retry_safe is None and kind is not Kind.READ:
            raise TypeError(f"{name}: say whether a {kind.value} action is safe to retry")

        def register(run: Runner) -> Runner:
            hints = typing.get_type_hints(run)
            inp, out = hints.get("data"), hints.get("return")
            if not (isinstance(inp, type) and issubclass(inp, Input)):
                raise TypeError(f"{name}: the 'data' parameter must be annotated with an Input")
            if not (isinstance(out, type) and issubclass(out, BaseModel)):
                raise TypeError(f"{name}: the return annotation must be a pydantic model")
            self.actions.append(
                Action(
                    name=name,
                    summary=summary,
                    input=inp,
                    output=out,
                    run=run,
                    scopes=tuple(scopes),
                    kind=kind,
                    retry_safe=kind is Kind.READ if retry_safe is None else retry_safe,
                    notes=notes,
                    kind_for=kind_for,
                )
            )
            return run

        return register


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
    """Every built-in action, from every area module listed in ``actions.catalogue``."""
    from ghl_bridge.actions.catalogue import AREAS

    return Registry(action for area in AREAS for action in area.actions)
