"""Private Integration Tokens as static connections: no refresh, replaced in place on rotation.

An agency that will not install a marketplace app can hand us a sub-account's PIT. Before it
is stored, it is tried against GHL (`GET /locations/{id}` with that token): a typo, a token of
another sub-account or one without the scopes fails here, with GHL's reason, instead of at the
first workflow run. Stored sealed like OAuth tokens (same row, same field binding), with no
refresh token and no expiry, so the token provider never tries to refresh it and a 401 is
final. Connecting again with a new token is the PIT's rotation: the row, its id and its tenant
stay, the version moves on.
"""

from __future__ import annotations

from ghl_bridge.client import ClientOptions, GHLClient, StaticTokens
from ghl_bridge.client.errors import GHLAPIError
from ghl_bridge.errors import InvalidInput
from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.store.audit import NO_AUDIT, ConnectionAudit
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.models import Connection
from ghl_bridge.vault import Vault

__all__ = ["PrivateIntegrations"]


class PrivateIntegrations:
    def __init__(
        self,
        repo: ConnectionRepo,
        vault: Vault,
        options: ClientOptions,
        audit: ConnectionAudit = NO_AUDIT,
    ) -> None:
        self._repo = repo
        self._vault = vault
        self._options = options
        self._audit = audit

    async def connect(self, tenant_id: str, location_id: str, token: str) -> Connection:
        """Check ``token`` against GHL for ``location_id``, then store (or replace) it.

        Raises InvalidInput when GHL refuses the token for this location (nothing stored), and
        the store's ResourceOwnedByOtherTenant when another tenant holds the location.
        """
        token = token.strip()
        if not token:
            raise InvalidInput("the private integration token is empty")
        company_id = await self._probe(location_id, token)
        conn = await self._repo.upsert(
            tenant_id,
            user_type="Location",
            company_id=company_id,
            location_id=location_id,
            access_sealed=self._vault.seal(token, context=seal_context(location_id, "access")),
            refresh_sealed=None,
            key_id=self._vault.active_kid,
            expires_at=None,
            scopes="",
        )
        self._audit.connection_changed(
            tenant_id=tenant_id, resource_id=location_id, change="connected", status=conn.status
        )
        return conn

    async def _probe(self, location_id: str, token: str) -> str:
        async with GHLClient(
            tokens=StaticTokens({location_id: token}), options=self._options
        ) as ghl:
            try:
                found = await ghl.locations.get(location_id)
            except GHLAPIError as exc:
                # GHL's message, never the token; 401 bad token, 403 another sub-account's
                raise InvalidInput(
                    f"GHL refused this token for location {location_id}: {exc.message}"
                ) from exc
        location = found.get("location") if isinstance(found, dict) else None
        company_id = location.get("companyId") if isinstance(location, dict) else None
        if not isinstance(company_id, str) or not company_id:
            raise InvalidInput(f"GHL did not describe location {location_id}")
        return company_id
