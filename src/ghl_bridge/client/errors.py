"""The client's exception tree. Imports nothing else of ours, so the client stays extractable.

    GHLError
    ├── TransportError                 the request never got an HTTP answer
    │   ├── RequestTimeout
    │   └── ConnectError
    ├── GHLAPIError                    GHL answered with a non-2xx status
    │   ├── BadRequestError            400
    │   │   └── InvalidGrantError      400 invalid_grant on /oauth/token (refresh token burnt)
    │   ├── AuthenticationError        401 (bad/expired token, missing Version, wrong scope)
    │   ├── PermissionDeniedError      403 (token has no access to this location)
    │   ├── NotFoundError              404
    │   ├── ConflictError              409
    │   ├── UnprocessableEntityError   422 (GHL's ``message`` is a list here)
    │   ├── RateLimitedError           429, carries ``retry_after``
    │   └── ServerError                5xx
    ├── CircuitOpenError               we refuse to call a failing host/location for a while
    ├── RateBudgetExhausted            waiting for a rate-limit slot would exceed the deadline
    └── TokenError
        ├── TokenRefreshError          refreshing failed for a transient reason
        └── ReauthorizationRequired    the connection needs a human to reconnect it

Messages carry GHL's own ``message`` text and ids (``trace_id``, ``request_id``); never a token,
never a request body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class GHLError(Exception):
    """Root of every error the client raises."""


class TransportError(GHLError):
    """No HTTP response: connection refused or dropped, DNS, TLS, or a timeout."""


class RequestTimeout(TransportError):
    """The attempt exceeded its timeout."""


class ConnectError(TransportError):
    """The connection could not be opened, or was dropped before a response."""


class GHLAPIError(GHLError):
    """GHL answered with an error status.

    ``message`` is GHL's own text (a 422's list is joined with "; "), ``trace_id`` is GHL's
    ``traceId`` for its support, ``request_id`` ours for our logs.
    """

    status: int = 0

    def __init__(
        self,
        message: str,
        *,
        status: int,
        operation: str | None = None,
        trace_id: str | None = None,
        request_id: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.operation = operation
        self.trace_id = trace_id
        self.request_id = request_id
        self.body = dict(body or {})
        where = f" ({operation})" if operation else ""
        super().__init__(f"GHL {status}{where}: {message}")


class BadRequestError(GHLAPIError):
    """400."""


class InvalidGrantError(BadRequestError):
    """400 ``invalid_grant``: the authorization code or refresh token is no longer valid."""


class AuthenticationError(GHLAPIError):
    """401. GHL also uses 401 for a missing Version header and for a scope the token lacks."""


class PermissionDeniedError(GHLAPIError):
    """403: the token has no access to this location."""


class NotFoundError(GHLAPIError):
    """404."""


class ConflictError(GHLAPIError):
    """409."""


class UnprocessableEntityError(GHLAPIError):
    """422: GHL's validation failed; ``messages`` keeps the individual lines."""

    @property
    def messages(self) -> list[str]:
        raw = self.body.get("message")
        return [str(m) for m in raw] if isinstance(raw, list) else [self.message]


class DryRunIntercepted(Exception):
    """Not an error: a dry run reached the request it must not send. Carries that request as
    it would have gone out (method, path, query, body, Version header), never a token."""

    def __init__(
        self, operation: str, method: str, path: str, query: Any, body: Any, version: str
    ) -> None:
        super().__init__(f"dry run: {method} {path}")
        self.request = {
            "operation": operation,
            "method": method,
            "path": path,
            "query": dict(query) if query else {},
            "body": body,
            "version": version,
        }


class RateLimitedError(GHLAPIError):
    """429: ``retry_after`` is the wait in seconds we derived from the response headers."""

    def __init__(self, message: str, *, retry_after: float | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(GHLAPIError):
    """5xx."""


class CircuitOpenError(GHLError):
    """Calls to this circuit failed repeatedly; we fail fast until it half-opens."""

    def __init__(self, circuit: str) -> None:
        self.circuit = circuit
        super().__init__(f"circuit {circuit!r} is open: GHL failed repeatedly, not calling it")


class RateBudgetExhausted(GHLError):
    """No rate-limit slot frees up before the caller's deadline."""


class TokenError(GHLError):
    """Getting a usable access token failed."""


class TokenRefreshError(TokenError):
    """A refresh failed for a reason that may pass (network, 5xx); the old tokens are intact."""


class ReauthorizationRequired(TokenError):
    """The refresh token is burnt or revoked: a person must reconnect this GHL resource."""

    def __init__(self, resource_id: str, reason: str) -> None:
        self.resource_id = resource_id
        self.reason = reason
        super().__init__(f"connection for {resource_id} needs re-authorization: {reason}")


_BY_STATUS: dict[int, type[GHLAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
}


def error_class_for(status: int) -> type[GHLAPIError]:
    """The exception class for an HTTP error status (429 is built separately: it needs a wait)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, GHLAPIError)
