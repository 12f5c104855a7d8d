"""Any failure → one stable code, an HTTP status, a message and details.

REST answers with it, the queue writes it as a job's ``failedReason``, the CLI prints it: a
workflow branches on ``code`` wherever it called from. The codes are a public contract
(README "Errors"); new ones may be added, existing ones never change meaning.

GHL's own 401/403 concern *our* token, not the caller's API key, so they become ``ghl_error``
502s: telling a workflow "unauthorized" when its key is fine would send its operator hunting the
wrong problem. GHL answers a missing record with a 400 "... not found" as often as with a 404;
both are ``not_found``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ghl_bridge.client.errors import (
    CircuitOpenError,
    GHLAPIError,
    RateBudgetExhausted,
    RateLimitedError,
    ReauthorizationRequired,
    TokenError,
    TransportError,
)
from ghl_bridge.client.generic import UnknownOperationError
from ghl_bridge.client.validation import RequestValidationError
from ghl_bridge.errors import BridgeError

_NOT_FOUND = re.compile(r"\bnot found\b|\bdoes not exist\b|\bno such\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    code: str
    message: str
    details: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later without anyone changing anything."""
        return self.code in ("rate_limited", "circuit_open", "ghl_unavailable")

    def reason(self) -> str:
        """One line for a job's failedReason: the code first, so a consumer can split it."""
        return f"{self.code}: {self.message}"


def _ghl(exc: GHLAPIError) -> Failure:
    details = {
        "ghlStatus": exc.status,
        "ghlMessage": exc.message,
        "traceId": exc.trace_id,
        "requestId": exc.request_id,
    }
    if isinstance(exc, RateLimitedError):
        wait = str(int(exc.retry_after or 10))
        return Failure(429, "rate_limited", exc.message, details, {"Retry-After": wait})
    if exc.status == 404 or (exc.status in (400, 422) and _NOT_FOUND.search(exc.message)):
        return Failure(404, "not_found", exc.message, details)
    if exc.status >= 500:
        return Failure(502, "ghl_unavailable", exc.message, details)
    if exc.status in (401, 403):
        return Failure(502, "ghl_error", exc.message, details)
    return Failure(exc.status, "ghl_error", exc.message, details)


def describe(exc: BaseException) -> Failure | None:
    """The failure ``exc`` stands for, or None if it is not one of ours or GHL's."""
    if isinstance(exc, BridgeError):
        return Failure(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, GHLAPIError):
        return _ghl(exc)
    if isinstance(exc, RequestValidationError):  # refused against the spec: nothing was sent
        problems = [{"path": p.where, "message": p.message} for p in exc.problems[:20]]
        return Failure(422, "validation_error", str(exc), problems)
    if isinstance(exc, UnknownOperationError):
        return Failure(422, "validation_error", str(exc), {"suggestions": exc.suggestions})
    if isinstance(exc, ReauthorizationRequired):
        details = {"resource": exc.resource_id}
        return Failure(409, "reauthorization_required", str(exc), details)
    if isinstance(exc, RateBudgetExhausted):
        return Failure(429, "rate_limited", str(exc), None, {"Retry-After": "10"})
    if isinstance(exc, CircuitOpenError):
        return Failure(
            503, "circuit_open", str(exc), {"circuit": exc.circuit}, {"Retry-After": "30"}
        )
    if isinstance(exc, TransportError):
        return Failure(502, "ghl_unavailable", str(exc))
    if isinstance(exc, TokenError):
        return Failure(502, "token_error", str(exc))
    return None
