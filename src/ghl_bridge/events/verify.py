"""Webhook signature and freshness checks. Pure: bytes, headers, keys and a clock in; verdict out.

Order follows GHL's SDKs, but fails closed where they fail open:
1. ``x-ghl-signature`` (Ed25519 over the raw body) when present — no RSA fallback if it fails;
2. else ``x-wh-signature`` (RSA PKCS#1 v1.5 SHA-256 over the raw body, the legacy scheme);
3. else reject. Missing keys never mean "skip verification".
Several keys per scheme are accepted so a key rotation needs no downtime.

Ed25519 is checked with libsodium (PyNaCl): ~65 µs a signature here against ~125 µs through
OpenSSL (`cryptography`, which still loads the PEM keys and checks RSA), and its calls release
the GIL. `SignatureChecker` uses that to take verification off the event loop: signatures that
arrive together are checked as one batch on a worker thread while the loop goes on parsing,
storing and answering (docs/benchmarks.md, bench.webhook_ingest).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from ghl_bridge.batching import Batcher
from ghl_bridge.errors import WebhookRejected
from ghl_bridge.ids import HEADER_GHL_SIGNATURE, HEADER_WH_SIGNATURE

Scheme = Literal["ed25519", "rsa"]
TOLERANCE_S = 300.0  # GHL's guide: reject deliveries whose timestamp is over 5 minutes off
_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    """The public keys we accept, loaded once at start-up (loading costs more than verifying)."""

    ed25519: tuple[bytes, ...]  # raw 32-byte public keys, as libsodium takes them
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
        raw = tuple(
            k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            for k in eds
            if isinstance(k, Ed25519PublicKey)
        )
        return cls(ed25519=raw, rsa=tuple(rsas))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"WebhookKeys(ed25519={len(self.ed25519)}, rsa={len(self.rsa)})"


def _load(pem: str) -> object:
    return serialization.load_pem_public_key(pem.encode())


def verify_signature(raw: bytes, headers: Mapping[str, str], keys: WebhookKeys) -> Scheme:
    """Which scheme vouched for ``raw``; raise WebhookRejected(401) if none did."""
    return _verify(raw, headers.get(HEADER_GHL_SIGNATURE), headers.get(HEADER_WH_SIGNATURE), keys)


def _verify(raw: bytes, ghl_sig: str | None, wh_sig: str | None, keys: WebhookKeys) -> Scheme:
    if ghl_sig and keys.ed25519:
        signed = _b64(ghl_sig, 64) + raw  # libsodium's "signed message": signature, then body
        for ed_key in keys.ed25519:
            try:
                crypto_sign_open(signed, ed_key)
                return "ed25519"
            except BadSignatureError:
                continue
        raise WebhookRejected(401, "bad_signature")
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


class SignatureChecker:
    """`verify_signature` on one worker thread, a batch at a time.

    Deliveries that arrive while a batch is being checked form the next batch (`Batcher`), so
    the loop pays one thread hand-off per batch, not per delivery. One thread is enough on the
    two cores this is sized for: the loop needs the other. ``close()`` stops the thread.
    """

    def __init__(self, keys: WebhookKeys, *, max_batch: int = 256) -> None:
        self.keys = keys
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-verify")
        self._batcher: Batcher[tuple[bytes, str | None, str | None], Scheme] = Batcher(
            self._check_batch, max_batch=max_batch, name="webhook-verify"
        )

    def __repr__(self) -> str:
        return f"SignatureChecker({self.keys!r})"

    async def check(self, raw: bytes, headers: Mapping[str, str]) -> Scheme:
        """Which scheme vouched for ``raw``; raises WebhookRejected(401) like
        `verify_signature`."""
        item = (raw, headers.get(HEADER_GHL_SIGNATURE), headers.get(HEADER_WH_SIGNATURE))
        return await self._batcher.submit(item)

    async def _check_batch(
        self, items: Sequence[tuple[bytes, str | None, str | None]]
    ) -> list[Scheme | BaseException]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _check_all, list(items), self.keys)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _check_all(
    items: list[tuple[bytes, str | None, str | None]], keys: WebhookKeys
) -> list[Scheme | BaseException]:
    results: list[Scheme | BaseException] = []
    for raw, ghl_sig, wh_sig in items:
        try:
            results.append(_verify(raw, ghl_sig, wh_sig, keys))
        except WebhookRejected as exc:
            results.append(exc)
    return results


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
