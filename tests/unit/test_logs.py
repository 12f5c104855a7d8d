from __future__ import annotations

from ghl_bridge.logs import scrub


def test_scrub_redacts_secret_keys_and_bearer_tokens() -> None:
    event = {
        "event": "x",
        "access_token": "abc",
        "client_secret": "s",
        "note": "sent Authorization: Bearer eyJhbGciOi.abc-123",
        "location": "loc1",
    }
    out = scrub(None, "info", event)
    assert out["access_token"] == "[redacted]"
    assert out["client_secret"] == "[redacted]"
    assert "eyJhbGciOi" not in out["note"]
    assert out["location"] == "loc1"
