from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.support.signing import event, signer

from ghl_bridge.errors import WebhookRejected
from ghl_bridge.events.keys import GHL_ED25519_PUBLIC_KEY, GHL_RSA_PUBLIC_KEY
from ghl_bridge.events.verify import WebhookKeys, check_freshness, verify_signature

RAW = event("loc1")


@pytest.fixture(scope="module")
def keys() -> WebhookKeys:
    s = signer()
    return WebhookKeys.parse(s.ed_pem, s.rsa_pem)


def test_ghl_published_keys_parse() -> None:
    keys = WebhookKeys.parse(GHL_ED25519_PUBLIC_KEY, GHL_RSA_PUBLIC_KEY)
    assert len(keys.ed25519) == 1
    assert len(keys.rsa) == 1
    assert keys.rsa[0].key_size == 4096


def test_ed25519_accepted(keys: WebhookKeys) -> None:
    assert verify_signature(RAW, {"x-ghl-signature": signer().ed25519(RAW)}, keys) == "ed25519"


def test_rsa_accepted_when_no_ed25519_header(keys: WebhookKeys) -> None:
    assert verify_signature(RAW, {"x-wh-signature": signer().rsa(RAW)}, keys) == "rsa"


def test_bad_ed25519_never_falls_back_to_rsa(keys: WebhookKeys) -> None:
    headers = {"x-ghl-signature": signer().ed25519(b"other"), "x-wh-signature": signer().rsa(RAW)}
    with pytest.raises(WebhookRejected) as info:
        verify_signature(RAW, headers, keys)
    assert (info.value.status, info.value.reason) == (401, "bad_signature")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ghl-signature": ""},
        {"x-ghl-signature": "not base64!!"},
        {"x-ghl-signature": base64.b64encode(b"short").decode()},
        {"x-wh-signature": base64.b64encode(b"x" * 256).decode()},
    ],
)
def test_missing_or_malformed_signatures_rejected(
    keys: WebhookKeys, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookRejected) as info:
        verify_signature(RAW, headers, keys)
    assert info.value.status == 401


def test_signature_over_reserialised_body_rejected(keys: WebhookKeys) -> None:
    """We verify the bytes as received; re-serialising (as GHL's Node SDK does) would differ."""
    reserialised = json.dumps(json.loads(RAW), indent=2).encode()
    with pytest.raises(WebhookRejected):
        verify_signature(reserialised, {"x-ghl-signature": signer().ed25519(RAW)}, keys)


def test_no_keys_configured_fails_closed() -> None:
    empty = WebhookKeys.parse("", "")
    with pytest.raises(WebhookRejected):
        verify_signature(RAW, {"x-ghl-signature": signer().ed25519(RAW)}, empty)


def test_key_rotation_accepts_any_listed_key() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from tests.support.signing import Signer

    other = Signer(ed25519.Ed25519PrivateKey.generate(), signer().rsa_key)
    keys = WebhookKeys.parse(other.ed_pem + "\n" + signer().ed_pem, "")
    assert verify_signature(RAW, {"x-ghl-signature": signer().ed25519(RAW)}, keys) == "ed25519"


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        (None, "missing_timestamp"),
        ("yesterday", "bad_timestamp"),
        ("2026-11-29T12:00:00", "bad_timestamp"),  # no timezone: ambiguous, refuse
        ((NOW - timedelta(minutes=6)).isoformat(), "stale_timestamp"),
        ((NOW + timedelta(minutes=6)).isoformat(), "stale_timestamp"),
    ],
)
def test_freshness_rejections(timestamp: str | None, reason: str) -> None:
    body = {} if timestamp is None else {"timestamp": timestamp}
    with pytest.raises(WebhookRejected) as info:
        check_freshness(body, NOW.timestamp())
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-11-29T11:56:00Z",
        "2026-11-29T12:04:00.123+00:00",
        int(NOW.timestamp() * 1000),
        str(int(NOW.timestamp())),
    ],
)
def test_freshness_accepts_within_window(timestamp: object) -> None:
    check_freshness({"timestamp": timestamp}, NOW.timestamp())
