"""Issuing and rotating OAuth tokens, with GHL's refresh-token rules.

Refresh tokens are single use. GHL added a 30-second window in which concurrent requests that
present the same client id, secret and refresh token all get the same new pair
(research/ghl-facts.md §3.3); after the window the consumed token is `invalid_grant`.
Access tokens look like GHL's (JWTs, hence "Invalid JWT"), signed with a seed-derived key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from ghl_bridge.simulator.errors import oauth_error
from ghl_bridge.simulator.state import Grant, RefreshGrant, SimState, Token, UserType

__all__ = ["exchange_code", "mint_location_token", "refresh", "token_response"]

REFRESH_TOKEN_TTL_S = 365 * 86_400  # "a refresh token lives one year unless used"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(state: SimState, claims: dict[str, Any]) -> str:
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    key = hashlib.sha256(f"ghl-sim:{state.app.client_secret}".encode()).digest()
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _claims(state: SimState, user_type: UserType, resource: str, now: float) -> dict[str, Any]:
    return {
        "authClass": user_type,
        "authClassId": resource,
        "source": "INTEGRATION",
        "sourceId": state.app.client_id,
        "channel": "OAUTH",
        "primaryAuthClassId": resource,
        "oauthMeta": {"client": state.app.app_id, "clientKey": state.app.client_id},
        "iat": int(now),
        "jti": state.ids.secret(16),
    }


def _access_token(state: SimState, grant: Grant, ttl: int, now: float) -> Token:
    resource = grant.location_id or grant.company_id
    claims = {**_claims(state, grant.user_type, resource, now), "exp": int(now + ttl)}
    return state.add_token(
        Token(
            value=_jwt(state, claims),
            kind="oauth",
            user_type=grant.user_type,
            company_id=grant.company_id,
            location_id=grant.location_id,
            scopes=grant.scopes,
            user_id=grant.user_id,
            client_id=grant.client_id,
            expires_at=now + ttl,
        )
    )


def _new_grant(state: SimState, source: Grant, now: float) -> RefreshGrant:
    resource = source.location_id or source.company_id
    claims = {
        **_claims(state, source.user_type, resource, now),
        "exp": int(now) + REFRESH_TOKEN_TTL_S,
    }
    grant = RefreshGrant(
        **source.grant_fields(),
        token=_jwt(state, {**claims, "refresh": True}),
        expires_at=now + REFRESH_TOKEN_TTL_S,
    )
    state.refresh_grants[grant.token] = grant
    return grant


def token_response(state: SimState, source: Grant, ttl: int, now: float) -> dict[str, Any]:
    """Issue a new access + refresh pair; the body is `GetAccessCodeSuccessfulResponseDto`."""
    access = _access_token(state, source, ttl, now)
    grant = _new_grant(state, source, now)
    body: dict[str, Any] = {
        "access_token": access.value,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": grant.token,
        "scope": " ".join(sorted(source.scopes)),
        "userType": source.user_type,
        "companyId": source.company_id,
        "userId": source.user_id,
        "isBulkInstallation": False,
    }
    if source.location_id:
        body["locationId"] = source.location_id
    else:
        body["approvedLocations"] = sorted(state.locations)
        body["installToFutureLocations"] = True
        body["approveAllLocations"] = True
    return body


def exchange_code(
    state: SimState, code: str, client_id: str, redirect_uri: str | None, ttl: int, now: float
) -> dict[str, Any]:
    """authorization_code grant: each code works once, for the client and redirect it was for."""
    grant = state.codes.get(code)
    if grant is None or grant.client_id != client_id:
        raise oauth_error(400, "invalid_grant", "Invalid authorization code")
    if grant.used:
        raise oauth_error(400, "invalid_grant", "Authorization code has already been used")
    if now > grant.expires_at:
        raise oauth_error(400, "invalid_grant", "Authorization code has expired")
    if redirect_uri and grant.redirect_uri and redirect_uri != grant.redirect_uri:
        raise oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization")
    grant.used = True
    return token_response(state, grant, ttl, now)


def refresh(
    state: SimState, token: str, client_id: str, ttl: int, grace_s: float, now: float
) -> dict[str, Any]:
    """refresh_token grant with rotation and the concurrent-refresh grace window."""
    grant = state.refresh_grants.get(token)
    if grant is None or grant.client_id != client_id:
        raise oauth_error(400, "invalid_grant", "Invalid refresh token")
    if grant.rotated_at is not None:
        if grant.successor is not None and now - grant.rotated_at <= grace_s:
            return grant.successor
        raise oauth_error(400, "invalid_grant", "Refresh token has already been used")
    if now > grant.expires_at:
        raise oauth_error(400, "invalid_grant", "Refresh token has expired")
    body = token_response(state, grant, ttl, now)
    grant.rotated_at = now
    grant.successor = body
    return body


def mint_location_token(
    state: SimState, company: Token, location_id: str, ttl: int, now: float
) -> dict[str, Any]:
    """Agency token -> location access token (`/oauth/locationToken`); v2 has no refresh token."""
    source = Grant(
        client_id=company.client_id or "",
        user_type="Location",
        company_id=company.company_id,
        location_id=location_id,
        scopes=company.scopes,
        user_id=company.user_id,
    )
    access = _access_token(state, source, ttl, now)
    return {
        "access_token": access.value,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": " ".join(sorted(company.scopes)),
        "locationId": location_id,
        "userId": company.user_id,
        "appId": state.app.app_id,
        "versionId": state.app.app_id,
    }
