"""AES-256-GCM sealing of short secrets (OAuth tokens) with a key ring. Imports nothing of ours.

Sealed form: ``v1.<kid>.<base64url(nonce | ciphertext+tag)>`` (unpadded). The caller's
``context`` (e.g. ``connection:<id>:refresh``) is the associated data, so a sealed value copied
to another row or field no longer opens.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ghl_bridge.vault.errors import VaultError
from ghl_bridge.vault.keyring import KeyRing

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


def _context_bytes(context: str) -> bytes:
    if not isinstance(context, str) or not context:
        raise VaultError("a non-empty context is required to seal or unseal")
    return context.encode("utf-8")


def _split(sealed: str) -> tuple[str, str]:
    """Return ``(kid, data)`` of a sealed value; `VaultError` without echoing it if malformed."""
    if not isinstance(sealed, str):
        raise VaultError("cannot unseal: the sealed value is not a string")
    parts = sealed.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not parts[1] or not parts[2]:
        raise VaultError("cannot unseal: not a v1 sealed value")
    return parts[1], parts[2]


class Vault:
    """Seals and unseals strings with the active key of a `KeyRing`; opens any key in it.

    One `AESGCM` object is built per key at construction. ``repr`` shows key ids only.
    """

    __slots__ = ("_aead", "_ring")

    def __init__(self, keyring: KeyRing) -> None:
        self._ring = keyring
        self._aead = {kid: AESGCM(keyring.key(kid)) for kid in keyring.kids}

    @property
    def keyring(self) -> KeyRing:
        """The ring this vault uses."""
        return self._ring

    @property
    def active_kid(self) -> str:
        """The id new values are sealed with."""
        return self._ring.active_kid

    def seal(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext`` under the active key with a fresh 96-bit nonce.

        ``context`` is bound as associated data; the same context is needed to unseal.
        """
        aad = _context_bytes(context)
        if not isinstance(plaintext, str):
            raise VaultError("only text can be sealed")
        try:
            data = plaintext.encode("utf-8")
        except UnicodeEncodeError:
            raise VaultError("the plaintext is not encodable as UTF-8") from None
        kid = self._ring.active_kid
        nonce = secrets.token_bytes(NONCE_BYTES)
        blob = nonce + self._aead[kid].encrypt(nonce, data, aad)
        encoded = base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")
        return f"{VERSION}.{kid}.{encoded}"

    def unseal(self, sealed: str, *, context: str) -> str:
        """Decrypt a sealed value; raises `VaultError("cannot unseal ...")` on any failure.

        Wrong context, wrong or unknown key, truncation and tampering all fail closed.
        """
        aad = _context_bytes(context)
        kid, encoded = _split(sealed)
        aead = self._aead.get(kid)
        if aead is None:
            raise VaultError(f"cannot unseal: key id {kid!r} is not in the key ring")
        try:
            blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise VaultError("cannot unseal: the sealed data is not valid base64url") from None
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise VaultError("cannot unseal: the sealed data is truncated")
        try:
            data = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise VaultError(
                "cannot unseal: wrong key or context, or the value was tampered with"
            ) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - authenticated data we sealed ourselves
            raise VaultError("cannot unseal: the plaintext is not UTF-8") from None

    def key_id(self, sealed: str) -> str:
        """The key id a sealed value was sealed with (no decryption)."""
        return _split(sealed)[0]

    def needs_reseal(self, sealed: str) -> bool:
        """True when the value was sealed with a key other than the active one."""
        return self.key_id(sealed) != self._ring.active_kid

    def reseal(self, sealed: str, *, context: str) -> str:
        """Open a value with whichever key sealed it and seal it again under the active key.

        Always returns a fresh ciphertext (new nonce); used by key rotation.
        """
        return self.seal(self.unseal(sealed, context=context), context=context)

    def __repr__(self) -> str:
        return f"Vault(active={self._ring.active_kid!r}, kids={self._ring.kids!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Vault cannot be pickled")
