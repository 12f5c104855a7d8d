"""OAuth token operations (spec: oauth.json). Pure request/response; storage is the caller's."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ghl_bridge.client.errors import TokenError
from ghl_bridge.client.resources._base import JSON, Resource


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What /oauth/token (or /oauth/locationToken) returned. Tokens are hidden from repr."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...]
    user_type: str
    company_id: str | None
    location_id: str | None
    user_id: str | None

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, now: float | None = None) -> TokenGrant:
        issued = now if now is not None else time.time()
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=issued + float(data.get("expires_in") or 0),
            scopes=tuple(str(data.get("scope") or "").split()),
            user_type=str(
                data.get("userType") or ("Location" if data.get("locationId") else "Company")
            ),
            company_id=data.get("companyId"),
            location_id=data.get("locationId"),
            user_id=data.get("userId"),
        )


class OAuthResource(Resource):
    """``client.oauth``: token grants (no bearer), location-token minting, installed locations."""

    async def exchange_code(
        self,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str | None = None,
        user_type: str | None = None,
    ) -> TokenGrant:
        """Trade an authorization code for tokens. Codes are single-use: never retried."""
        form = {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "authorization_code",
            "code": code,
        }
        if redirect_uri:
            form["redirect_uri"] = redirect_uri
        if user_type:
            form["user_type"] = user_type
        data = await self._call(
            "get-access-token", None, form=form, authenticated=False, idempotent=False
        )
        return TokenGrant.from_response(data)

    async def refresh(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        user_type: str,
    ) -> TokenGrant:
        """Rotate a refresh token.

        Retrying is safe: GHL answers the same refresh token, sent again within 30 s, with the
        same new pair, so a retry after a lost response does not burn the token.
        """
        form = {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "user_type": user_type,
        }
        data = await self._call(
            "get-access-token", None, form=form, authenticated=False, idempotent=True
        )
        return TokenGrant.from_response(data)

    async def reconnect(
        self,
        *,
        client_id: str,
        client_secret: str,
        location_id: str | None = None,
        company_id: str | None = None,
    ) -> str:
        """A fresh authorization code for an app still installed on ``location_id`` (or, for an
        agency install, ``company_id``): how a connection whose refresh token is lost or burnt
        recovers without the customer reinstalling. Exchange it with ``exchange_code``."""
        body: dict[str, str] = {"clientKey": client_id, "clientSecret": client_secret}
        if location_id:
            body["locationId"] = location_id
        elif company_id:
            body["companyId"] = company_id
        data = await self._call(
            "oauth-reconnect", None, json=body, authenticated=False, idempotent=True
        )
        code = data.get("authorizationCode") if isinstance(data, dict) else None
        if not isinstance(code, str) or not code:
            raise TokenError("GHL's reconnect answer carried no authorization code")
        return code

    async def location_token(self, company_id: str, location_id: str) -> TokenGrant:
        """Mint a location token from the agency (company) token."""
        data = await self._call(
            "get-location-access-token",
            company_id,
            form={"companyId": company_id, "locationId": location_id},
        )
        return TokenGrant.from_response(data)

    async def installed_locations(
        self, company_id: str, app_id: str, *, limit: int = 100, skip: int = 0
    ) -> JSON:
        """One page of the agency's sub-accounts where the app is installed."""
        return await self._call(
            "get-installed-location",
            company_id,
            query={"companyId": company_id, "appId": app_id, "limit": limit, "skip": skip,
                   "isInstalled": True},
        )  # fmt: skip
