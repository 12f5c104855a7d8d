"""The checks GHL's gateway makes before a handler runs, in GHL's order, with GHL's messages.

Version header → Authorization → scope → token class (authClass / PIT user type) → location.
Messages are the ones recorded in research/ghl-wire-facts.md §3.4-3.7. Scope is checked before
location: with a wrong location id an unheld scope still reports the scope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ghl_bridge.simulator.errors import ApiError, bad_request, forbidden, unauthorized
from ghl_bridge.simulator.spec import AGENCY_SCHEMES, LOCATION_SCHEMES, OpSpec
from ghl_bridge.simulator.state import SimState, Token

__all__ = [
    "SUPPORTED_VERSIONS",
    "authenticate",
    "authorize",
    "bearer_of",
    "check_version",
    "require_company",
    "require_location",
]

# Every one of these works on every route (measured live); the spec's per-op value is advisory.
SUPPORTED_VERSIONS = frozenset({"2021-04-15", "2021-07-28", "2023-02-21", "v3"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AUTH_CLASS_MESSAGE = (
    "This authClass type is not allowed to access this scope. "
    "Please verify your IAM configuration if this is not the case."
)


def check_version(headers: Mapping[str, str]) -> str:
    """401 when missing or an unknown date; 400 when not even a date (reports conflict)."""
    version = headers.get("version")
    if version is None or not version.strip():
        raise unauthorized("version header was not found.")
    version = version.strip()
    if version in SUPPORTED_VERSIONS:
        return version
    if _DATE.match(version):
        raise unauthorized("version header is invalid")
    raise bad_request(f"Invalid API version segment '{version}' at position 0")


def bearer_of(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, credential = value.strip().partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else value.strip()


def authenticate(state: SimState, headers: Mapping[str, str], now: float) -> Token:
    """The token behind the Authorization header; expired OAuth tokens are plain "Invalid JWT"."""
    credential = bearer_of(headers)
    if not credential:
        raise unauthorized("No Authorization header found for authentication!")
    token = state.tokens.get(credential)
    if credential.startswith("pit-"):
        if token is None or token.kind != "pit":
            raise unauthorized("Invalid Private Integration token")
        return token
    if token is None or (token.expires_at is not None and now >= token.expires_at):
        raise unauthorized("Invalid JWT")
    return token


def authorize(token: Token, op: OpSpec) -> None:
    """Scope first, then whether this kind of token may call the operation at all."""
    if op.scopes and not op.scopes & token.scopes:
        raise unauthorized("The token is not authorized for this scope.")
    if not op.security or _class_allowed(token, op.security):
        return
    accepted_types = set()
    if op.security & LOCATION_SCHEMES:
        accepted_types.add("Location")
    if op.security & AGENCY_SCHEMES:
        accepted_types.add("Company")
    if token.kind == "pit" and token.user_type not in accepted_types:
        raise unauthorized("Token's user type mismatch!")
    raise unauthorized(AUTH_CLASS_MESSAGE)


def _class_allowed(token: Token, security: frozenset[str]) -> bool:
    if token.user_type == "Location":
        allowed = {"bearer", "Location-Access"}
        if token.kind == "oauth":
            allowed.add("Location-Access-Only")
    else:
        allowed = {"Agency-Access"}
        if token.kind == "oauth":
            allowed.add("Agency-Access-Only")
    return bool(allowed & security)


def require_location(token: Token, location_id: str | None) -> None:
    """A location token may only touch its own location; an agency token any of its agency's."""
    if token.location_id is not None and token.location_id != location_id:
        raise forbidden("The token does not have access to this location.")


def require_company(state: SimState, token: Token, company_id: str | None) -> None:
    # GHL's wording for a foreign company is not recorded; this mirrors the location message.
    if company_id != token.company_id or company_id != state.agency.company_id:
        raise ApiError(
            403, {"statusCode": 403, "message": "The token does not have access to this company."}
        )
