"""Sealing of secrets at rest: AES-256-GCM with a rotating key ring. Imports nothing of ours."""

from ghl_bridge.vault.errors import VaultError
from ghl_bridge.vault.keyring import KeyRing
from ghl_bridge.vault.sealing import Vault

__all__ = ["KeyRing", "Vault", "VaultError"]
