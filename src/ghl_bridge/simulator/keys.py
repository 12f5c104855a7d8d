"""Webhook signing with the committed TEST-ONLY keypairs in `simulator/keys/`.

GHL signs the raw JSON body and nothing else: Ed25519 → `x-ghl-signature`, RSA-SHA256 PKCS#1 v1.5
→ `x-wh-signature`, both base64 (research/ghl-facts.md §4.2-4.3). RSA-4096 generation is slow,
so the keys are files rather than derived from the seed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

__all__ = ["KEY_DIR", "WebhookSigner", "load_signer"]

KEY_DIR = Path(__file__).resolve().parent / "keys"
ED25519_FILE = "test-only-webhook-ed25519.pem"
RSA_FILE = "test-only-webhook-rsa4096.pem"


@dataclass(frozen=True, slots=True)
class WebhookSigner:
    """Signs delivery bodies; exposes the public halves for `GET /_sim/seed`."""

    ed25519_key: ed25519.Ed25519PrivateKey
    rsa_key: rsa.RSAPrivateKey

    def ghl_signature(self, body: bytes) -> str:
        return base64.b64encode(self.ed25519_key.sign(body)).decode("ascii")

    def wh_signature(self, body: bytes) -> str:
        signature = self.rsa_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def public_pems(self) -> dict[str, str]:
        """PEM SubjectPublicKeyInfo, the form GHL publishes its own keys in."""
        return {
            "ed25519": _spki(self.ed25519_key.public_key()),
            "rsa": _spki(self.rsa_key.public_key()),
        }


def _spki(key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@cache
def load_signer(key_dir: Path = KEY_DIR) -> WebhookSigner:
    """Load both private keys once; raises TypeError if a file holds the wrong key type."""
    ed_key = serialization.load_pem_private_key((key_dir / ED25519_FILE).read_bytes(), None)
    rsa_key = serialization.load_pem_private_key((key_dir / RSA_FILE).read_bytes(), None)
    if not isinstance(ed_key, ed25519.Ed25519PrivateKey):
        raise TypeError(f"{ED25519_FILE} is not an Ed25519 private key")
    if not isinstance(rsa_key, rsa.RSAPrivateKey):
        raise TypeError(f"{RSA_FILE} is not an RSA private key")
    return WebhookSigner(ed_key, rsa_key)
