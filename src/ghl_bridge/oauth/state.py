"""The OAuth ``state`` parameter: signed, expiring, bound to the tenant that started the flow.

Stateless (HMAC-SHA256), so any ``serve`` process can finish a flow another one started, and a
callback cannot be replayed into another tenant's account by swapping the state. Single use is
the callback's job: it claims the state's nonce in the database before exchanging the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable


class InvalidState(ValueError):
    """The state is malformed, forged or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StateSigner:
    def __init__(
        self, secret: bytes, *, ttl_s: float = 900, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the state secret must be at least 32 bytes")
        self._secret = secret
        self._ttl_s = ttl_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"StateSigner(ttl_s={self._ttl_s})"

    def sign(self, tenant_id: str) -> str:
        payload = {"t": tenant_id, "e": int(self._clock() + self._ttl_s), "n": secrets.token_hex(8)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def verify(self, state: str) -> str:
        """The tenant id the state was issued to; InvalidState otherwise."""
        return self.open(state)[0]

    def open(self, state: str) -> tuple[str, str]:
        """(tenant id, nonce) of a genuine, unexpired state; InvalidState otherwise. The nonce
        lets the caller make the state single-use."""
        body, _, mac = state.partition(".")
        if not body or not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidState("state signature does not match")
        try:
            payload = json.loads(_unb64(body))
            tenant_id, expires = str(payload["t"]), float(payload["e"])
            nonce = str(payload["n"])
        except (ValueError, KeyError, TypeError):
            raise InvalidState("state is malformed") from None
        if self._clock() > expires:
            raise InvalidState("state has expired; start the connection again")
        return tenant_id, nonce

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())


def derive_secret(master: bytes, purpose: str) -> bytes:
    """A purpose-bound key from the master secret, so one key is never used for two things."""
    return hmac.new(master, f"ghl-bridge:{purpose}".encode(), hashlib.sha256).digest()
