"""Key rotation (issue #4): re-seal every stored credential under the key ring's active key.

The operator prepends a new key to ``GHL_BRIDGE_ENCRYPTION_KEYS`` and restarts; new tokens are
then sealed with it, but existing rows stay under the old key until this runs. Only after it
has finished may the old key leave the ring.

How it stays safe while the service runs:
- it only ever selects rows that still hold something not under the active key, in id order
  (keyset paging), so an interrupted run simply starts again and finishes the rest;
- each batch is one short transaction, each row a compare-and-swap on its version and the
  ciphertexts it was computed from, so a refresh that lands in between wins and the row is
  picked up again on the next pass (a re-seal never overwrites fresher tokens);
- passes repeat until nothing is left, at most ``max_passes`` times: rows that keep coming back
  mean some process still seals with an old active key, and that is reported, not looped on;
- a credential it cannot open (its key is not in the ring, or the key material behind that id
  is wrong) stops the run with a `KeyRotationError` naming the key id and the connection,
  before anything of that batch is written. Skipping it would let the operator remove a key
  some credential still needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.store import subscriptions as subs
from ghl_bridge.store.connections import ConnectionRepo, KeyUsage, Reseal
from ghl_bridge.store.models import Connection, Subscription
from ghl_bridge.vault import Vault, VaultError
from ghl_bridge.vault.sealing import VERSION

DEFAULT_BATCH = 500
MAX_PASSES = 3

Progress = Callable[[int, int], None]
"""Called after each batch with (credentials re-sealed so far, total to re-seal)."""


class KeyRotationError(Exception):
    """Rotation cannot finish; the message says which key id and connection, and what to do.

    Never carries key material, plaintext or ciphertext.
    """

    def __init__(
        self, message: str, *, key_id: str | None = None, connection_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.key_id = key_id
        self.connection_id = connection_id


@dataclass(frozen=True)
class RotationReport:
    """The outcome of a finished rotation."""

    active_kid: str
    resealed: int
    """Connections written under the active key by this run."""
    conflicts: int
    """Re-seals that lost their compare-and-swap to a concurrent refresh (and were retried)."""
    passes: int
    subscriptions: int = 0
    """Outbound-webhook subscriptions whose signing secrets this run re-sealed."""


@dataclass(frozen=True)
class KeyStatus:
    """Which key ids the stored credentials use, and how many still need re-sealing."""

    active_kid: str
    ring_kids: tuple[str, ...]
    usage: Sequence[KeyUsage]
    remaining: int

    @property
    def unknown(self) -> list[KeyUsage]:
        """Key ids named by stored connections that the ring does not hold."""
        return [u for u in self.usage if u.key_id not in self.ring_kids]


class KeyRotator:
    """Moves every connection's sealed tokens to the vault's active key."""

    def __init__(
        self,
        repo: ConnectionRepo,
        vault: Vault,
        *,
        max_passes: int = MAX_PASSES,
        subscriptions: subs.SubscriptionRepo | None = None,
    ) -> None:
        if max_passes < 1:
            raise ValueError("max_passes must be at least 1")
        self._repo = repo
        self._subscriptions = subscriptions
        self._vault = vault
        self._max_passes = max_passes
        self._kid = vault.active_kid
        self._prefix = f"{VERSION}.{self._kid}."

    async def remaining(self) -> int:
        """Rows (connections, and subscriptions' signing secrets) holding something not sealed
        under the active key: the old key may leave the ring only when this is 0."""
        left = await self._repo.count_not_sealed_under(self._kid, self._prefix)
        if self._subscriptions is not None:
            left += await self._subscriptions.count_sealed_not_under(self._prefix)
        return left

    async def status(self) -> KeyStatus:
        """The active key id, connections per key id, and how many are left to re-seal."""
        return KeyStatus(
            active_kid=self._kid,
            ring_kids=self._vault.keyring.kids,
            usage=await self._repo.key_usage(),
            remaining=await self.remaining(),
        )

    async def rotate(
        self, *, batch_size: int = DEFAULT_BATCH, progress: Progress | None = None
    ) -> RotationReport:
        """Re-seal everything not under the active key; returns when none is left.

        Raises `KeyRotationError` if a credential cannot be opened with the ring, or if rows
        keep reappearing under another key after ``max_passes`` passes. Work committed before
        an error (or an exception from ``progress``) stays done; running again resumes.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._refuse_unknown_keys(await self._repo.key_usage())
        done = conflicts = secrets = 0
        total = await self.remaining()
        for number in range(1, self._max_passes + 1):
            after: str | None = None
            while rows := await self._repo.not_sealed_under(
                self._kid, self._prefix, after_id=after, limit=batch_size
            ):
                after = rows[-1].id
                written = await self._repo.reseal_tokens([self._reseal(row) for row in rows])
                done += len(written)
                conflicts += len(rows) - len(written)
                total = max(total, done + secrets)
                if progress is not None:
                    progress(done + secrets, total)
            moved, lost = await self._reseal_subscriptions(batch_size)
            secrets += moved
            conflicts += lost
            if progress is not None and moved:
                progress(done + secrets, max(total, done + secrets))
            left = await self.remaining()
            if left == 0:
                return RotationReport(self._kid, done, conflicts, number, secrets)
            total = done + left  # lost CAS races, or someone still sealing under an old key
        raise KeyRotationError(
            f"{left} connection(s) still hold credentials under another key after"
            f" {self._max_passes} passes: some process is still sealing with an old active key."
            " Restart every serve and worker process with the new GHL_BRIDGE_ENCRYPTION_KEYS,"
            " then run `ghl-bridge keys rotate` again."
        )

    async def _reseal_subscriptions(self, batch_size: int) -> tuple[int, int]:
        """One pass over subscriptions' sealed signing secrets; (re-sealed, lost CAS)."""
        repo = self._subscriptions
        moved = lost = 0
        after: str | None = None
        while repo is not None and (
            rows := await repo.sealed_not_under(self._prefix, after_id=after, limit=batch_size)
        ):
            after = rows[-1].id
            for row in rows:
                new = self._reseal_secrets(row)
                if await repo.reseal_secrets(row.id, str(row.secrets_sealed), new):
                    moved += 1
                else:
                    lost += 1
        return moved, lost

    def _reseal_secrets(self, row: Subscription) -> str:
        sealed = str(row.secrets_sealed)
        try:
            return self._vault.reseal(sealed, context=subs.seal_context(row.id))
        except VaultError:
            raise KeyRotationError(
                f"subscription {row.id}: its signing secrets do not open with the key ring (the"
                " key that sealed them is missing or wrong). Add that key back to"
                " GHL_BRIDGE_ENCRYPTION_KEYS (after the active key) and run again.",
            ) from None

    def _refuse_unknown_keys(self, usage: Sequence[KeyUsage]) -> None:
        """Fail before writing anything if stored rows name a key id the ring lacks."""
        for entry in usage:
            if entry.key_id not in self._vault.keyring:
                raise KeyRotationError(
                    f"{entry.connections} connection(s) (e.g. {entry.example_id}) are sealed"
                    f" under key id {entry.key_id!r}, which is not in the key ring. Add that"
                    " key back to GHL_BRIDGE_ENCRYPTION_KEYS (after the active key) and run"
                    " again.",
                    key_id=entry.key_id,
                    connection_id=entry.example_id,
                )

    def _reseal(self, row: Connection) -> Reseal:
        return Reseal(
            connection_id=row.id,
            expected_version=row.version,
            old_access_sealed=row.access_token_sealed,
            old_refresh_sealed=row.refresh_token_sealed,
            access_sealed=self._reseal_one(row, "access", row.access_token_sealed),
            refresh_sealed=None
            if row.refresh_token_sealed is None
            else self._reseal_one(row, "refresh", row.refresh_token_sealed),
            key_id=self._kid,
        )

    def _reseal_one(self, row: Connection, which: str, sealed: str) -> str:
        """Open with whichever key sealed it, seal under the active key; errors name the row."""
        context = seal_context(row.resource_id, which)
        try:
            kid = self._vault.key_id(sealed)
        except VaultError:
            raise KeyRotationError(
                f"connection {row.id}: its {which} token is not a sealed value the vault knows",
                connection_id=row.id,
            ) from None
        if kid not in self._vault.keyring:
            raise KeyRotationError(
                f"connection {row.id}: its {which} token is sealed under key id {kid!r}, which"
                " is not in the key ring. Add that key back to GHL_BRIDGE_ENCRYPTION_KEYS (after"
                " the active key) and run again.",
                key_id=kid,
                connection_id=row.id,
            )
        try:
            return self._vault.reseal(sealed, context=context)
        except VaultError:
            raise KeyRotationError(
                f"connection {row.id}: its {which} token does not open with key id {kid!r}:"
                " the key configured under that id is not the one that sealed it (or the"
                " stored value was altered). Nothing of this batch was written.",
                key_id=kid,
                connection_id=row.id,
            ) from None
