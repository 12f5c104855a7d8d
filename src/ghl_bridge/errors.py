"""The service's exception tree. The client's own tree (``ghl_bridge.client.errors``) sits under
``GHLError`` and is re-exported here so callers import errors from one place.

    BridgeError                      service-level failures, mapped to our REST error envelope
    ├── Unauthorized                 401: no or wrong API key
    ├── Forbidden                    403: the tenant does not own this location
    │   └── ActionNotAllowed         403: the API key's policy does not allow this action
    ├── NotFound                     404: no such action, job or event
    ├── InvalidInput                 422: input fails the action's JSON Schema
    ├── Conflict                     409: e.g. the GHL resource belongs to another tenant
    └── NotConnected                 409: no active connection for the location
    GHLError (client)                see ghl_bridge.client.errors
    WebhookRejected                  the receiver's reasons to refuse a delivery
"""

from __future__ import annotations

from typing import Any

from ghl_bridge.client.errors import (
    GHLAPIError,
    GHLError,
    RateLimitedError,
    ReauthorizationRequired,
    TokenError,
)


class BridgeError(Exception):
    """Root of the service's own errors. ``code`` is stable; ``status`` is the HTTP status."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthorized(BridgeError):
    status, code = 401, "unauthorized"


class Forbidden(BridgeError):
    status, code = 403, "forbidden"


class ActionNotAllowed(Forbidden):
    code = "action_not_allowed"


class NotFound(BridgeError):
    status, code = 404, "not_found"


class InvalidInput(BridgeError):
    status, code = 422, "validation_error"


class Conflict(BridgeError):
    status, code = 409, "conflict"


class NotConnected(BridgeError):
    status, code = 409, "not_connected"


class WebhookRejected(Exception):
    """A webhook delivery we refuse. ``status`` is what we answer; ``reason`` a stable code."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


__all__ = [
    "ActionNotAllowed",
    "BridgeError",
    "Conflict",
    "Forbidden",
    "GHLAPIError",
    "GHLError",
    "InvalidInput",
    "NotConnected",
    "NotFound",
    "RateLimitedError",
    "ReauthorizationRequired",
    "TokenError",
    "Unauthorized",
    "WebhookRejected",
]
