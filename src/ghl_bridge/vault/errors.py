"""The vault's one exception type. Messages never carry key material, plaintext or ciphertext."""

from __future__ import annotations


class VaultError(Exception):
    """A key ring could not be parsed, or a value could not be sealed or unsealed."""
