"""Where the pipeline gets bearer tokens: a Protocol, plus a static provider for PITs and tests.

The service's OAuth layer implements ``TokenProvider`` over sealed tokens in the database; the
client never sees a refresh token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ghl_bridge.client.errors import TokenError


class TokenProvider(Protocol):
    """Hands out access tokens per GHL resource (a location id or a company id)."""

    async def access_token(self, resource_id: str | None) -> str:
        """A token valid for ``resource_id`` now, refreshing first if it is about to expire."""
        ...

    async def on_unauthorized(self, resource_id: str | None, rejected_token: str) -> str | None:
        """GHL answered 401 to ``rejected_token``: return a fresh token to replay once, or None."""
        ...


class StaticTokens:
    """Fixed tokens: Private Integration Tokens, or tokens a caller manages itself.

    ``default`` serves any resource without its own entry. A PIT never refreshes, so a 401 is final.
    """

    def __init__(self, tokens: Mapping[str, str] | None = None, default: str | None = None) -> None:
        self._tokens = dict(tokens or {})
        self._default = default

    def __repr__(self) -> str:
        default = "set" if self._default else None
        return f"StaticTokens(resources={sorted(self._tokens)!r}, default={default})"

    async def access_token(self, resource_id: str | None) -> str:
        token = self._tokens.get(resource_id or "", self._default)
        if token is None:
            raise TokenError(f"no token configured for resource {resource_id!r}")
        return token

    async def on_unauthorized(self, resource_id: str | None, rejected_token: str) -> str | None:
        return None
