"""Routing events to subscriptions: the matching rules, action input templates, and the sink.

Matching and rendering are pure functions of (rule, event), so they are tested without a
database. The sink is the `EventProcessor` hook: for every event it records one delivery per
matching active subscription of the event's tenant (unique per subscription and event, so
processing an event again routes nothing new) and queues the deliveries' jobs.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import structlog

from ghl_bridge.batching import Batcher
from ghl_bridge.errors import InvalidInput
from ghl_bridge.events.loop_guard import Guard, LoopGuard, subject_of
from ghl_bridge.events.schedule import enqueue_delivery
from ghl_bridge.events.triggers import catalogue, matching_types
from ghl_bridge.jobs.port import Queue
from ghl_bridge.store.deliveries import DeliveryRepo
from ghl_bridge.store.models import Subscription, WebhookEvent
from ghl_bridge.store.subscriptions import SubscriptionRepo

log = structlog.get_logger("ghl_bridge.routing")

OPS = ("eq", "ne", "in", "contains", "exists", "gt", "lt")
MAX_PREDICATES = 20
MAX_PATH_CHARS = 200
MAX_IN_VALUES = 500
_PATH = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Predicate:
    """``path`` (dotted; a number indexes a list) ``op`` ``value``, e.g. tags contains "hot"."""

    path: str
    op: str
    value: Any = None

    def holds(self, payload: Mapping[str, Any]) -> bool:
        actual = lookup(payload, self.path)
        if self.op == "exists":
            return (actual is not _MISSING and actual is not None) == bool(
                True if self.value is None else self.value
            )
        if self.op == "ne":
            return actual is _MISSING or not _equal(actual, self.value)
        if actual is _MISSING:
            return False
        if self.op == "eq":
            return _equal(actual, self.value)
        if self.op == "in":
            return any(_equal(actual, v) for v in self.value)
        if self.op == "contains":
            if isinstance(actual, list):
                return any(_equal(item, self.value) for item in actual)
            return isinstance(actual, str) and isinstance(self.value, str) and self.value in actual
        return _compare(actual, self.value, self.op)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "op": self.op, "value": self.value}


def _equal(a: Any, b: Any) -> bool:
    # JSON has one number type; True must not equal 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _compare(actual: Any, bound: Any, op: str) -> bool:
    """gt / lt on two numbers, or two strings (ISO 8601 instants compare as text)."""
    if (_number(actual) and _number(bound)) or (isinstance(actual, str) and isinstance(bound, str)):
        return bool(actual > bound) if op == "gt" else bool(actual < bound)
    return False


def lookup(payload: Any, path: str) -> Any:
    """The value at a dotted path, or the `_MISSING` sentinel."""
    node = payload
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


@dataclass(frozen=True, slots=True)
class Rule:
    """What a subscription matches: type patterns, optional locations, predicates (all hold)."""

    types: tuple[str, ...]
    locations: frozenset[str] | None = None
    predicates: tuple[Predicate, ...] = ()

    @classmethod
    def of(cls, row: Subscription) -> Rule:
        locations = None if row.location_ids is None else json.loads(row.location_ids)
        return cls(
            tuple(json.loads(row.event_types)),
            None if locations is None else frozenset(locations),
            tuple(Predicate(**p) for p in json.loads(row.predicates or "[]")),
        )

    def matches(self, event_type: str, location_id: str | None, payload: Mapping[str, Any]) -> bool:
        if not any(fnmatchcase(event_type, pattern) for pattern in self.types):
            return False
        if self.locations is not None and location_id not in self.locations:
            return False
        return all(p.holds(payload) for p in self.predicates)


def check_types(patterns: Iterable[str]) -> list[str]:
    """The patterns, each known to match at least one event type (`/v1/triggers`); a typo
    would otherwise make a subscription that silently never fires. Raises InvalidInput."""
    kept = list(dict.fromkeys(patterns))
    unknown = [p for p in kept if not matching_types(p)]
    if unknown:
        raise InvalidInput(
            "unknown event types; GET /v1/triggers lists them",
            details={"unknown": unknown, "known": sorted(catalogue())},
        )
    return kept


def parse_predicates(raw: Iterable[Mapping[str, Any]]) -> list[Predicate]:
    """Validate predicates: a path, a known op, and a value of the shape the op needs."""
    found, problems = [], []
    for index, item in enumerate(raw):
        path, op, value = item.get("path"), item.get("op"), item.get("value")
        problem = _predicate_problem(path, op, value)
        if problem:
            problems.append({"path": f"predicates/{index}", "message": problem})
        else:
            found.append(Predicate(str(path), str(op), value))
    if len(found) + len(problems) > MAX_PREDICATES:
        problems.append({"path": "predicates", "message": f"at most {MAX_PREDICATES}"})
    if problems:
        raise InvalidInput("malformed predicates", details=problems)
    return found


def _predicate_problem(path: Any, op: Any, value: Any) -> str | None:
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS:
        return f"path must be a dotted field path of 1-{MAX_PATH_CHARS} characters"
    if not _PATH.match(path):
        return "path must be dotted field names, e.g. contact.tags or appointment.calendarId"
    if op not in OPS:
        return f"op must be one of {', '.join(OPS)}"
    if op == "exists":
        return None if value is None or isinstance(value, bool) else "exists takes true or false"
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            return f"in takes a list of 1-{MAX_IN_VALUES} values"
        return None
    if op in ("gt", "lt") and not (_number(value) or isinstance(value, str)):
        return f"{op} takes a number or a string"
    if value is None and op in ("eq", "ne", "contains"):
        return f"{op} needs a value"
    return None


class TemplateError(InvalidInput):
    """An action input template names a field the event does not have, or is malformed."""


def placeholders(template: Any) -> list[str]:
    """Every ``{{path}}`` in a template (strings anywhere inside it); checks each path."""
    found: list[str] = []
    if isinstance(template, str):
        for raw in _PLACEHOLDER.findall(template):
            path = _template_path(raw)
            if not _PATH.match(path):
                raise TemplateError(f"malformed placeholder {{{{{raw}}}}}")
            found.append(path)
    elif isinstance(template, Mapping):
        for value in template.values():
            found += placeholders(value)
    elif isinstance(template, list):
        for value in template:
            found += placeholders(value)
    return found


def _template_path(raw: str) -> str:
    # ``{{event.contactId}}`` and ``{{contactId}}`` name the same field of the event.
    return raw[len("event.") :] if raw.startswith("event.") else raw


def render(template: Any, payload: Mapping[str, Any]) -> Any:
    """Fill ``{{path}}`` placeholders from the event. A string that is one placeholder takes
    the field's value as is (a list stays a list); inside longer text the value is spliced
    in (objects and lists as JSON). A missing field raises TemplateError: running an action
    with a hole in its input would do the wrong thing, not nothing."""
    if isinstance(template, Mapping):
        return {key: render(value, payload) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, payload) for value in template]
    if not isinstance(template, str):
        return template
    whole = _PLACEHOLDER.fullmatch(template)
    if whole:
        return _field(payload, whole.group(1))

    def splice(match: re.Match[str]) -> str:
        value = _field(payload, match.group(1))
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return _PLACEHOLDER.sub(splice, template)


def _field(payload: Mapping[str, Any], raw: str) -> Any:
    path = _template_path(raw)
    value = lookup(payload, path)
    if value is _MISSING:
        raise TemplateError(f"the event has no field {path!r}", details={"path": path})
    return value


class RoutingSink:
    """The `EventProcessor` sink that fans an event out to its tenant's subscriptions."""

    def __init__(
        self,
        subscriptions: SubscriptionRepo,
        deliveries: DeliveryRepo,
        queue: Queue,
        *,
        guard: Guard | None = None,
    ) -> None:
        self._subscriptions = subscriptions
        self._deliveries = deliveries
        self._queue = queue
        self._guard = guard or LoopGuard()  # a rule re-triggering itself on one record
        # Events processed together share one look-up of their tenants' subscriptions.
        self._active: Batcher[str, Sequence[Subscription]] = Batcher(
            self._active_for, name="active-subscriptions"
        )

    async def _active_for(self, tenant_ids: Sequence[str]) -> list[Sequence[Subscription]]:
        found = await self._subscriptions.active_for(tenant_ids)
        return [found[tenant] for tenant in tenant_ids]

    async def __call__(self, event: WebhookEvent, body: dict[str, Any]) -> None:
        """Idempotent: deliveries are unique per (subscription, event) and jobs per delivery
        generation, so a second run queues only what the first recorded but never queued."""
        if event.tenant_id is None:
            return  # an event of no tenant of ours (an unknown location) goes nowhere
        matching = self._matching(event, body, await self._active.submit(event.tenant_id))
        if not matching:
            return
        [chosen] = await self._guarded([(event, body, matching)])
        if chosen:
            await self._deliver(event.tenant_id, event, chosen)

    async def route_many(
        self, events: Sequence[tuple[WebhookEvent, dict[str, Any]]]
    ) -> list[Exception | None]:
        """`__call__` for a batch (`processor.BatchSink`): one look-up of the tenants'
        subscriptions, the rules matched in place, one ask of the loop guard, and only the
        events that matched one go on to record deliveries (concurrently). Per event, None or
        the error its routing raised; one event's failure is its own."""
        tenants = sorted({event.tenant_id for event, _ in events if event.tenant_id is not None})
        active = await self._subscriptions.active_for(tenants) if tenants else {}
        outcomes: list[Exception | None] = [None] * len(events)
        matched: list[tuple[int, str, WebhookEvent, dict[str, Any], list[str]]] = []
        for index, (event, body) in enumerate(events):
            tenant = event.tenant_id
            if tenant is None:
                continue
            try:
                matching = self._matching(event, body, active.get(tenant, ()))
            except Exception as exc:
                outcomes[index] = exc
                continue
            if matching:
                matched.append((index, tenant, event, body, matching))
        if not matched:
            return outcomes
        chosen = await self._guarded([(event, body, subs) for _, _, event, body, subs in matched])
        going = [(m, subs) for m, subs in zip(matched, chosen, strict=True) if subs]
        delivered = await asyncio.gather(
            *(self._deliver(tenant, event, subs) for (_, tenant, event, _, _), subs in going),
            return_exceptions=True,
        )
        for ((index, *_), _), result in zip(going, delivered, strict=True):
            if isinstance(result, Exception):
                outcomes[index] = result
            elif isinstance(result, BaseException):
                raise result  # cancelled: not an event's failure
        return outcomes

    def _matching(
        self, event: WebhookEvent, body: dict[str, Any], active: Sequence[Subscription]
    ) -> list[str]:
        """The ids of the tenant's active subscriptions whose rule this event matches."""
        location = event.location_id or _str(body.get("locationId"))
        return [row.id for row in active if Rule.of(row).matches(event.event_type, location, body)]

    async def _guarded(
        self, items: Sequence[tuple[WebhookEvent, dict[str, Any], list[str]]]
    ) -> list[list[str]]:
        """Per event, its matching subscriptions the loop guard lets through (one ask for
        all: one Redis round trip when the counts are shared)."""
        asks = [
            (subscription, subject_of(body), event.id)
            for event, body, matching in items
            for subscription in matching
        ]
        allowed = iter(await self._guard.allow_many(asks))
        return [[s for s in matching if next(allowed)] for _, _, matching in items]

    async def _deliver(self, tenant_id: str, event: WebhookEvent, chosen: list[str]) -> None:
        waiting = await self._deliveries.route(
            tenant_id=tenant_id,
            event_id=event.id,
            event_type=event.event_type,
            subscription_ids=chosen,
        )
        for delivery in waiting:
            await enqueue_delivery(self._queue, delivery.id, delivery.generation)
        log.info("event.routed", event_id=event.id, subscriptions=len(chosen))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
