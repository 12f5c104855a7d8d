"""Scripted failures (`/_sim/faults`): latency, status codes, timeouts, dropped connections,
forced 429s and dropped webhooks.

Faults are consulted in the order they were added. A counted fault fires `count` times on the
requests (or webhook deliveries) it matches, then is spent. A fault with a `probability` fires
on that share of the requests it matches (drawn from a generator seeded by the simulator's
seed, so the same requests in the same order see the same faults), `count` times at most if a
count is given, else for ever — the weather of a bad GHL day rather than one scripted outage.

`status` and `drop` faults may strike `"after": true`: the handler runs and its write lands,
then the answer is replaced by the error or lost with the connection — the case that makes a
blind retry of a create write twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = ["REQUEST_KINDS", "Fault", "FaultBook", "FaultMatch"]

REQUEST_KINDS = frozenset({"latency", "status", "timeout", "drop", "rate_limit"})
WEBHOOK_KINDS = frozenset({"drop_webhook"})
_DEFAULT_DELAY_MS = {"latency": 1_000, "timeout": 100_000}  # 100 s: Cloudflare's origin timeout


@dataclass(frozen=True, slots=True)
class FaultMatch:
    method: str | None = None
    path_prefix: str | None = None
    location_id: str | None = None

    def accepts(self, method: str | None, path: str | None, location_id: str | None) -> bool:
        if self.method and method and self.method.upper() != method.upper():
            return False
        if self.path_prefix and not (path or "").startswith(self.path_prefix):
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
            "match": {
                "method": self.match.method,
                "pathPrefix": self.match.path_prefix,
                "locationId": self.match.location_id,
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
        fault = Fault(
            id=f"fault_{self._next_id}",
            kind=kind,
            count=None if count is None else int(count),
            status=int(spec.get("status", 429 if kind == "rate_limit" else 503)),
            delay_ms=int(spec.get("delayMs", _DEFAULT_DELAY_MS.get(kind, 0))),
            match=FaultMatch(match.get("method"), match.get("pathPrefix"), match.get("locationId")),
            probability=None if probability is None else float(probability),
            after=bool(spec.get("after", False)),
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

    def take_webhook(self, location_id: str | None) -> Fault | None:
        """The first armed `drop_webhook` fault for a delivery to this location, counted."""
        return self._take(WEBHOOK_KINDS, None, None, location_id)

    def _take(
        self, kinds: frozenset[str], method: str | None, path: str | None, location_id: str | None
    ) -> Fault | None:
        for fault in self._faults:
            if not (fault.kind in kinds and fault.live):
                continue
            if not fault.match.accepts(method, path, location_id):
                continue
            if fault.probability is not None and self._dice.random() >= fault.probability:
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
    for name in ("count", "status", "delayMs"):
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
    match = spec.get("match")
    if match is not None and not isinstance(match, dict):
        errors.append("match must be an object")
    elif isinstance(match, dict):
        unknown = set(match) - {"method", "pathPrefix", "locationId"}
        errors.extend(f"property match.{name} should not exist" for name in sorted(unknown))
    return errors
