"""The GHL client library: one pipeline, typed errors, resources per area.

Imports nothing else of ghl_bridge, so it can be lifted out as a standalone library.
"""

from ghl_bridge.client._client import GHLClient
from ghl_bridge.client.auth import StaticTokens, TokenProvider
from ghl_bridge.client.errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ConnectError,
    DryRunIntercepted,
    GHLAPIError,
    GHLError,
    InvalidGrantError,
    NotFoundError,
    PermissionDeniedError,
    RateBudgetExhausted,
    RateLimitedError,
    ReauthorizationRequired,
    RequestTimeout,
    ServerError,
    TokenError,
    TokenRefreshError,
    TransportError,
    UnprocessableEntityError,
)
from ghl_bridge.client.generic import UnknownOperationError
from ghl_bridge.client.options import ClientOptions, DryRunMode, RequestOptions, dry_run
from ghl_bridge.client.pagination import PaginationError
from ghl_bridge.client.pipeline import AttemptObserver, AttemptRecord
from ghl_bridge.client.resources.oauth import TokenGrant
from ghl_bridge.client.validation import Problem, RequestValidationError

__all__ = [
    "AttemptObserver",
    "AttemptRecord",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ClientOptions",
    "ConnectError",
    "DryRunIntercepted",
    "DryRunMode",
    "GHLAPIError",
    "GHLClient",
    "GHLError",
    "InvalidGrantError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "Problem",
    "RateBudgetExhausted",
    "RateLimitedError",
    "ReauthorizationRequired",
    "RequestOptions",
    "RequestTimeout",
    "RequestValidationError",
    "ServerError",
    "StaticTokens",
    "TokenError",
    "TokenGrant",
    "TokenProvider",
    "TokenRefreshError",
    "TransportError",
    "UnknownOperationError",
    "UnprocessableEntityError",
    "dry_run",
]
