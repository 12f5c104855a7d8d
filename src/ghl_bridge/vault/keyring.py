"""Key ring: named 256-bit AES keys, the first one active. Imports nothing else of ours.

The spec format is ``kid:base64key,kid2:base64key`` (what ``GHL_BRIDGE_ENCRYPTION_KEYS`` holds).
Error messages name the key id or the entry's position, never the key text itself.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence

from ghl_bridge.vault.errors import VaultError

KEY_BYTES = 32
# A kid appears inside sealed values (`v1.<kid>.<data>`) and in the spec, so it may not contain
# `.`, `:` or `,`.
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_B64_RE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


def _decode_key(kid: str, text: str) -> bytes:
    """Decode standard or urlsafe base64, padded or not, into exactly 32 bytes."""
    text = text.strip()
    if not _B64_RE.fullmatch(text):
        raise VaultError(f"encryption key {kid!r} is not valid base64")
    normalised = text.rstrip("=").replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        key = base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(f"encryption key {kid!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise VaultError(
            f"encryption key {kid!r} must decode to {KEY_BYTES} bytes (got {len(key)})"
        )
    return key


def _check_kid(kid: str, position: int) -> str:
    if not _KID_RE.fullmatch(kid):
        raise VaultError(
            f"key ring entry #{position}: the key id must be 1-32 characters of"
            " letters, digits, '_' or '-'"
        )
    return kid


class KeyRing:
    """An ordered set of AES-256 keys by id; the first is the active (sealing) key.

    Older keys stay in the ring so values sealed with them can still be opened and resealed.
    ``repr`` shows key ids only.
    """

    __slots__ = ("_keys", "_order")

    def __init__(self, entries: Sequence[tuple[str, bytes]]) -> None:
        """Build a ring from ``(kid, 32-byte key)`` pairs; raises `VaultError` if invalid."""
        if not entries:
            raise VaultError("the key ring is empty: configure at least one encryption key")
        keys: dict[str, bytes] = {}
        for position, (kid, key) in enumerate(entries, start=1):
            _check_kid(kid, position)
            if kid in keys:
                raise VaultError(f"key ring entry #{position}: duplicate key id {kid!r}")
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise VaultError(f"encryption key {kid!r} must be {KEY_BYTES} bytes")
            keys[kid] = key
        self._keys = keys
        self._order = tuple(keys)

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Parse ``kid:base64key[,kid2:base64key...]``; standard or urlsafe base64 both work."""
        if not isinstance(spec, str) or not spec.strip():
            raise VaultError("the key ring spec is empty: expected 'kid:base64key[,...]'")
        entries: list[tuple[str, bytes]] = []
        for position, raw in enumerate(spec.split(","), start=1):
            entry = raw.strip()
            kid, sep, encoded = entry.partition(":")
            if not sep or not encoded.strip():
                raise VaultError(f"key ring entry #{position} is not in the form 'kid:base64key'")
            kid = _check_kid(kid.strip(), position)
            entries.append((kid, _decode_key(kid, encoded)))
        return cls(entries)

    @staticmethod
    def generate(kid: str | None = None) -> str:
        """Return a new spec entry ``kid:base64key`` with a fresh random 256-bit key.

        Prepend it to the configured spec to make it the active key (rotation).
        """
        kid = _check_kid(kid if kid is not None else f"k{secrets.token_hex(4)}", 1)
        encoded = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
        return f"{kid}:{encoded}"

    @property
    def active_kid(self) -> str:
        """The id of the key new values are sealed with."""
        return self._order[0]

    @property
    def kids(self) -> tuple[str, ...]:
        """Every key id, active first."""
        return self._order

    def key(self, kid: str) -> bytes:
        """The raw key for ``kid``; raises `VaultError` naming only the id if it is unknown."""
        try:
            return self._keys[kid]
        except KeyError:
            raise VaultError(f"unknown key id {kid!r}") from None

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __repr__(self) -> str:
        return f"KeyRing(active={self.active_kid!r}, kids={self._order!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # Refuse pickling: a pickled ring would write raw keys wherever it lands.
        raise TypeError("KeyRing cannot be pickled")
