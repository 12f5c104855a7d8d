"""The marketplace app's OAuth identity (client id/secret, redirect, scopes, where to authorize)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass(frozen=True, slots=True)
class OAuthApp:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...]
    auth_url: str

    def authorize_url(self, state: str, **extra: str) -> str:
        """GHL's chooselocation URL; ``extra`` passes e.g. ``loginWindowOpenMode=self``."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": state,
            **extra,
        }
        return f"{self.auth_url}?{urlencode(query)}"
