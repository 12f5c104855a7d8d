"""Scripted failures (`/_sim/faults`): latency, status codes, timeouts, dropped connections,
forced 429s, and webhook deliveries dropped, duplicated, delayed or reordered.

Faults are consulted in the order they were added. A counted fault fires `count` times on the
requests (or webhook deliveries) it matches, then is spent. A fault with a `probability` fires
on that share of the requests it matches (drawn from a generator seeded by the simulator's
seed, so the same requests in the same order see the same faults), `count` times at most if a
count is given, else for ever — the weather of a bad GHL day rather than one scripted outage.

`status` and `drop` faults may strike `"after": true`: the handler runs and its write lands,
then the answer is replaced by the error or lost with the connection — the case that makes a
blind retry of a create write twice.

Webhook faults act on one delivery (one event to one target URL) and may match on
`eventType` and `locationId`. `drop_webhook` loses it (GHL's lost events, which only
reconciliation recovers); `duplicate_webhook` sends the same signed bytes twice, `delayMs`
apart; `delay_webhook` holds it `delayMs` first; `reorder_webhook` holds matching deliveries
until `window` of them are waiting, then sends them one after another in a shuffled order
(never the original one); a flush releases a part-filled window. A fault given its own
`seed` draws its probability from its own generator, so a test's share of dropped events does
not depend on what else was armed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["REQUEST_KINDS", "Fault", "FaultBook", "FaultMatch"]

T = TypeVar("T")
REQUEST_KINDS = frozenset({"latency", "status", "timeout", "drop", "rate_limit"})
WEBHOOK_KINDS = frozenset({"drop_webhook", "duplicate_webhook", "delay_webhook", "reorder_webhook"})
# timeout: 100 s, Cloudflare's origin timeout
_DEFAULT_DELAY_MS = {"latency": 1_000, "timeout": 100_000, "delay_webhook": 1_000}


@dataclass(frozen=True, slots=True)
class FaultMatch:
    method: str | None = None
    path_prefix: str | None = None
    location_id: str | None = None
    event_type: str | None = None

    def accepts(
        self,
        method: str | None,
        path: str | None,
        location_id: str | None,
        event_type: str | None = None,
    ) -> bool:
        if self.method and method and self.method.upper() != method.upper():
            return False
        if self.path_prefix and not (path or "").startswith(self.path_prefix):
            return False
        if self.event_type and self.event_type != event_type:
            return False
        return not (self.location_id and self.location_id != location_id)


@dataclass(slots=True)
class Fault:
    id: str
    kind: str
    count: int | None  # None: no limit (probabilistic faults only)
    status: int
    delay_ms: int
    match: FaultMatch
    probability: float | None = None
    after: bool = False
    window: int = 2  # reorder_webhook: deliveries held before they are released shuffled
    seed: int | None = None
    dice: random.Random | None = None  # its own generator when it has its own seed
    fired: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else self.count - self.fired

    @property
    def live(self) -> bool:
        return self.count is None or self.fired < self.count

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "count": self.count,
            "fired": self.fired,
            "remaining": self.remaining,
            "status": self.status,
            "delayMs": self.delay_ms,
            "probability": self.probability,
            "after": self.after,
            "window": self.window,
            "seed": self.seed,
            "match": {
                "method": self.match.method,
                "pathPrefix": self.match.path_prefix,
                "locationId": self.match.location_id,
                "eventType": self.match.event_type,
            },
        }


class FaultBook:
    """The ordered list of armed faults."""

    def __init__(self, seed: int = 1) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self._dice = random.Random(f"{seed}:faults")  # noqa: S311 - reproducible, not secret

    def add(self, spec: dict[str, Any]) -> Fault:
        """Arm a fault from a `POST /_sim/faults` body; raises ValueError listing what is wrong."""
        errors = _spec_errors(spec)
        if errors:
            raise ValueError(errors)
        kind = spec["kind"]
        match = spec.get("match") or {}
        probability = spec.get("probability")
        count = spec.get("count", None if probability is not None else 1)
        seed = spec.get("seed")
        fault = Fault(
            id=f"fault_{self._next_id}",
            kind=kind,
            count=None if count is None else int(count),
            status=int(spec.get("status", 429 if kind == "rate_limit" else 503)),
            delay_ms=int(spec.get("delayMs", _DEFAULT_DELAY_MS.get(kind, 0))),
            match=FaultMatch(
                match.get("method"),
                match.get("pathPrefix"),
                match.get("locationId"),
                match.get("eventType"),
            ),
            probability=None if probability is None else float(probability),
            after=bool(spec.get("after", False)),
            window=int(spec.get("window", 2)),
            seed=seed,
            dice=None if seed is None else random.Random(f"{seed}:fault"),  # noqa: S311
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def listing(self) -> list[dict[str, Any]]:
        return [fault.describe() for fault in self._faults]

    def clear(self) -> int:
        cleared = len(self._faults)
        self._faults.clear()
        return cleared

    def take_request(self, method: str, path: str, location_id: str | None) -> Fault | None:
        """The first armed request fault matching this request, counted as fired."""
        return self._take(REQUEST_KINDS, method, path, location_id)

    def take_webhook(self, location_id: str | None, event_type: str | None = None) -> Fault | None:
        """The first armed webhook fault that fires for one delivery of this event, counted."""
        return self._take(WEBHOOK_KINDS, None, None, location_id, event_type)

    def shuffled(self, fault: Fault, items: list[T]) -> list[T]:
        """`items` in an order drawn from the fault's (or the book's) generator, never the
        original order when there are two or more distinct positions to swap."""
        order = list(items)
        (fault.dice or self._dice).shuffle(order)
        if len(order) > 1 and all(a is b for a, b in zip(order, items, strict=True)):
            order.reverse()
        return order

    def _take(
        self,
        kinds: frozenset[str],
        method: str | None,
        path: str | None,
        location_id: str | None,
        event_type: str | None = None,
    ) -> Fault | None:
        for fault in self._faults:
            if not (fault.kind in kinds and fault.live):
                continue
            if not fault.match.accepts(method, path, location_id, event_type):
                continue
            dice = fault.dice or self._dice
            if fault.probability is not None and dice.random() >= fault.probability:
                continue
            fault.fired += 1
            return fault
        return None


def _spec_errors(spec: Any) -> list[str]:
    if not isinstance(spec, dict):
        return ["body must be an object"]
    errors = []
    if spec.get("kind") not in REQUEST_KINDS | WEBHOOK_KINDS:
        kinds = ", ".join(sorted(REQUEST_KINDS | WEBHOOK_KINDS))
        errors.append(f"kind must be one of the following values: {kinds}")
    for name in ("count", "status", "delayMs", "seed"):
        value = spec.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            errors.append(f"{name} must be a non-negative integer")
    status = spec.get("status")
    if isinstance(status, int) and not 100 <= status <= 599:
        errors.append("status must be an HTTP status code")
    probability = spec.get("probability")
    if probability is not None and (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not 0 < probability <= 1
    ):
        errors.append("probability must be a number in (0, 1]")
    after = spec.get("after")
    if after is not None and not isinstance(after, bool):
        errors.append("after must be a boolean value")
    elif after and spec.get("kind") not in ("status", "drop"):
        errors.append("after applies to status and drop faults only")
    window = spec.get("window")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int)
                               or not 2 <= window <= 1000):  # fmt: skip
        errors.append("window must be an integer from 2 to 1000")
    elif window is not None and spec.get("kind") != "reorder_webhook":
        errors.append("window applies to reorder_webhook faults only")
    errors.extend(_match_errors(spec.get("match"), spec.get("kind") in WEBHOOK_KINDS))
    return errors


def _match_errors(match: Any, webhook: bool) -> list[str]:
    if match is None:
        return []
    if not isinstance(match, dict):
        return ["match must be an object"]
    allowed = {"locationId", "eventType"} if webhook else {"method", "pathPrefix", "locationId"}
    errors = [f"property match.{name} should not exist" for name in sorted(set(match) - allowed)]
    for name in sorted(set(match) & allowed):
        if not isinstance(match[name], str) or not match[name]:
            errors.append(f"match.{name} must be a non-empty string")
    return errors
