"""Objects that hold secrets never show them in repr/str (and so never in logs or tracebacks)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ghl_bridge.client import StaticTokens, TokenGrant
from ghl_bridge.client.errors import ReauthorizationRequired
from ghl_bridge.config import Settings
from ghl_bridge.oauth.app import OAuthApp
from ghl_bridge.vault import KeyRing

SECRET = "sekrit-token-value-0123456789"


def _texts(obj: object) -> str:
    return repr(obj) + str(obj)


def test_token_grant_and_static_tokens_hide_tokens() -> None:
    grant = TokenGrant.from_response(
        {
            "access_token": SECRET,
            "refresh_token": SECRET + "r",
            "expires_in": 86399,
            "scope": "contacts.write",
            "userType": "Location",
            "locationId": "loc1",
        }
    )
    assert SECRET not in _texts(grant)
    assert SECRET not in _texts(StaticTokens({"loc1": SECRET}, default=SECRET))


def test_oauth_app_and_settings_hide_secrets() -> None:
    app = OAuthApp("client", SECRET, "http://x/cb", ("contacts.write",), "http://auth")
    assert SECRET not in _texts(app)
    keys = KeyRing.generate("k1")
    settings = Settings(ghl_client_secret=SecretStr(SECRET), encryption_keys=SecretStr(keys))
    assert SECRET not in _texts(settings)
    assert keys.split(":", 1)[1] not in _texts(settings)


def test_prod_config_error_names_variables_not_values() -> None:
    with pytest.raises(ValueError, match="refusing to start") as info:  # pydantic wraps ConfigError
        Settings(env="prod", ghl_client_secret=SecretStr("changeme"))
    assert "GHL_BRIDGE_GHL_CLIENT_SECRET" in str(info.value)
    assert "changeme" not in str(info.value)


def test_reauthorization_error_carries_no_token() -> None:
    assert SECRET not in str(ReauthorizationRequired("loc1", "GHL rejected the refresh token"))
