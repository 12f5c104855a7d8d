"""Webhook signature and freshness checks. Pure: bytes, headers, keys and a clock in; verdict out.

Order follows GHL's SDKs, but fails closed where they fail open:
1. ``x-ghl-signature`` (Ed25519 over the raw body) when present — no RSA fallback if it fails;
2. else ``x-wh-signature`` (RSA PKCS#1 v1.5 SHA-256 over the raw body, the legacy scheme);
3. else reject. Missing keys never mean "skip verification".
Several keys per scheme are accepted so a key rotation needs no downtime.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ghl_bridge.errors import WebhookRejected
from ghl_bridge.ids import HEADER_GHL_SIGNATURE, HEADER_WH_SIGNATURE

Scheme = Literal["ed25519", "rsa"]
TOLERANCE_S = 300.0  # GHL's guide: reject deliveries whose timestamp is over 5 minutes off
_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    """The public keys we accept, loaded once at start-up (loading costs more than verifying)."""

    ed25519: tuple[Ed25519PublicKey, ...]
    rsa: tuple[RSAPublicKey, ...]

    @classmethod
    def parse(cls, ed25519: str, rsa: str) -> WebhookKeys:
        """Keys as PEM blocks (any number, concatenated or comma-separated)."""
        eds = [_load(pem) for pem in _PEM_BLOCK.findall(ed25519)]
        rsas = [_load(pem) for pem in _PEM_BLOCK.findall(rsa)]
        if not all(isinstance(k, Ed25519PublicKey) for k in eds):
            raise ValueError("an Ed25519 webhook key is not an Ed25519 public key")
        if not all(isinstance(k, RSAPublicKey) for k in rsas):
            raise ValueError("an RSA webhook key is not an RSA public key")
        return cls(ed25519=tuple(eds), rsa=tuple(rsas))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"WebhookKeys(ed25519={len(self.ed25519)}, rsa={len(self.rsa)})"


def _load(pem: str) -> object:
    return serialization.load_pem_public_key(pem.encode())


def verify_signature(raw: bytes, headers: Mapping[str, str], keys: WebhookKeys) -> Scheme:
    """Which scheme vouched for ``raw``; raise WebhookRejected(401) if none did."""
    ghl_sig = headers.get(HEADER_GHL_SIGNATURE)
    if ghl_sig and keys.ed25519:
        signature = _b64(ghl_sig, 64)
        for ed_key in keys.ed25519:
            try:
                ed_key.verify(signature, raw)
                return "ed25519"
            except InvalidSignature:
                continue
        raise WebhookRejected(401, "bad_signature")
    wh_sig = headers.get(HEADER_WH_SIGNATURE)
    if wh_sig and keys.rsa:
        signature = _b64(wh_sig, None)
        for rsa_key in keys.rsa:
            try:
                rsa_key.verify(signature, raw, padding.PKCS1v15(), hashes.SHA256())
                return "rsa"
            except InvalidSignature:
                continue
        raise WebhookRejected(401, "bad_signature")
    raise WebhookRejected(401, "missing_signature")


def _b64(value: str, length: int | None) -> bytes:
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected(401, "bad_signature") from None
    if length is not None and len(decoded) != length:
        raise WebhookRejected(401, "bad_signature")
    return decoded


def check_freshness(body: Mapping[str, Any], now: float, tolerance_s: float = TOLERANCE_S) -> None:
    """Reject a delivery without a parseable ``timestamp`` or one outside ±tolerance (replays)."""
    raw = body.get("timestamp")
    if not isinstance(raw, str | int | float):
        raise WebhookRejected(400, "missing_timestamp")
    try:
        sent = _epoch(raw)
    except ValueError:
        raise WebhookRejected(400, "bad_timestamp") from None
    if abs(now - sent) > tolerance_s:
        raise WebhookRejected(400, "stale_timestamp")


def _epoch(raw: str | int | float) -> float:
    if isinstance(raw, int | float):
        return raw / 1000 if raw > 1e11 else float(raw)
    if raw.isdigit():
        return _epoch(int(raw))
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp without a timezone")
    return parsed.timestamp()
