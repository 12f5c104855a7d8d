"""Connecting a tenant to GHL: the authorize URL and the callback that stores sealed tokens."""

from __future__ import annotations

from ghl_bridge.client.resources.oauth import OAuthResource
from ghl_bridge.oauth.app import OAuthApp
from ghl_bridge.oauth.state import InvalidState, StateSigner
from ghl_bridge.oauth.tokens import ConnectionTokens
from ghl_bridge.store.audit import OAUTH, acting_as
from ghl_bridge.store.idempotency import IdempotencyRepo
from ghl_bridge.store.models import Connection


class ConnectionService:
    def __init__(
        self,
        app: OAuthApp,
        signer: StateSigner,
        oauth: OAuthResource,
        tokens: ConnectionTokens,
        ledger: IdempotencyRepo | None = None,
    ) -> None:
        self._app = app
        self._signer = signer
        self._oauth = oauth
        self._tokens = tokens
        self._ledger = ledger  # where a used state's nonce is claimed (single use)

    def authorize_url(self, tenant_id: str, **extra: str) -> str:
        """Where to send the installing user; the signed state ties the callback to the tenant."""
        return self._app.authorize_url(self._signer.sign(tenant_id), **extra)

    async def complete(self, code: str, state: str) -> Connection:
        """Handle GHL's redirect: verify state, exchange the code once, store sealed tokens.

        Raises InvalidState for a forged, expired or already used state (nothing is
        exchanged), the client's GHLAPIError if GHL refuses the code,
        ResourceOwnedByOtherTenant if the location is already another tenant's.
        """
        tenant_id, nonce = self._signer.open(state)
        if self._ledger is not None:
            claim = await self._ledger.claim(
                tenant_id, f"oauth-state:{nonce}", action="oauth.callback", location_id="",
                fingerprint=nonce,
            )  # fmt: skip
            if claim.state != "new":
                raise InvalidState("this connection link was already used; start again")
        # No API key comes with GHL's redirect: the signed state says whose install this is, so
        # the code exchange (which names no location) and the new connection are audited as
        # the OAuth flow acting for that tenant.
        with acting_as(OAUTH, tenant_id):
            grant = await self._oauth.exchange_code(
                client_id=self._app.client_id,
                client_secret=self._app.client_secret,
                code=code,
                redirect_uri=self._app.redirect_uri,
            )
            return await self._tokens.store_grant(tenant_id, grant)
