"""Outbound signatures verify with the standardwebhooks library, during rotation too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from ghl_bridge.events.outbound import sign
from ghl_bridge.events.subscriptions import new_secret

BODY = json.dumps({"type": "ContactCreate", "data": {"id": "c1"}})


def test_signature_verifies() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    headers = sign([secret], "dlv_1", datetime.now(UTC), BODY)
    assert headers["webhook-id"] == "dlv_1"
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_a_tampered_body_or_other_secret_fails() -> None:
    secret = new_secret()
    headers = sign([secret], "dlv_1", datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("c1", "c2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_rotation_signs_with_every_live_secret() -> None:
    old, new = new_secret(), new_secret()
    headers = sign([new, old], "dlv_1", datetime.now(UTC), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)  # a receiver not yet switched
    Webhook(new).verify(BODY, headers)  # a receiver already switched


def test_non_utc_datetimes_sign_the_right_instant() -> None:
    """standardwebhooks replaces the zone instead of converting; we convert first."""
    instant = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    new_york = instant.astimezone(timezone(timedelta(hours=-5)))
    assert sign([new_secret()], "x", new_york, BODY)["webhook-timestamp"] == str(
        int(instant.timestamp())
    )
