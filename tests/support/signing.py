"""Test-side webhook signing with keys generated per test session (never the simulator's code)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa


@dataclass(frozen=True)
class Signer:
    ed_key: ed25519.Ed25519PrivateKey
    rsa_key: rsa.RSAPrivateKey

    @property
    def ed_pem(self) -> str:
        return _pem(self.ed_key.public_key())

    @property
    def rsa_pem(self) -> str:
        return _pem(self.rsa_key.public_key())

    def ed25519(self, raw: bytes) -> str:
        return base64.b64encode(self.ed_key.sign(raw)).decode()

    def rsa(self, raw: bytes) -> str:
        sig = self.rsa_key.sign(raw, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(sig).decode()


def _pem(key: Any) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@cache
def signer() -> Signer:
    return Signer(ed25519.Ed25519PrivateKey.generate(), rsa.generate_private_key(65537, 2048))


def event(
    location_id: str,
    *,
    type_: str = "ContactCreate",
    when: datetime | None = None,
    webhook_id: str | None = None,
    **fields: Any,
) -> bytes:
    body = {
        "type": type_,
        "locationId": location_id,
        "id": fields.pop("id", uuid.uuid4().hex[:20]),
        "timestamp": (when or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "webhookId": webhook_id or str(uuid.uuid4()),
        **fields,
    }
    return json.dumps(body).encode()
