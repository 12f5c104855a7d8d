"""`ghl-bridge keys …`: the vault's key ring — make a key, see which keys the stored credentials
use, and re-seal them under the active key. The work lives in `ghl_bridge.oauth.key_rotation`.

Exit codes: 0 done, 1 the rotation could not finish (the message says why), 2 configuration
(settings or the key ring) is unusable. Key material is never printed, except by ``generate``,
whose whole purpose is to print one new key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from ghl_bridge.config import ConfigError
from ghl_bridge.vault import KeyRing, VaultError

if TYPE_CHECKING:
    from ghl_bridge.config import Settings
    from ghl_bridge.oauth.key_rotation import KeyRotator, KeyStatus

# The same as key_rotation.DEFAULT_BATCH (a test checks), which is not imported at module level:
# that pulls in oauth and the client, and every `ghl-bridge` command would pay for it at start.
DEFAULT_BATCH = 500

T = TypeVar("T")

keys_app = typer.Typer(no_args_is_help=True, help="The vault's encryption keys.")
# soft_wrap: messages stay on one line (greppable), however narrow the terminal.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    # Imported here: cli.main imports this module to register the group.
    from ghl_bridge.cli.main import load_settings

    return load_settings()


@asynccontextmanager
async def _rotator(settings: Settings) -> AsyncIterator[KeyRotator]:
    """The key ring (resolved before the database is touched) and a migrated database."""
    from ghl_bridge.oauth.key_rotation import KeyRotator
    from ghl_bridge.runtime import resolve_keyring
    from ghl_bridge.store.connections import ConnectionRepo
    from ghl_bridge.store.db import make_engine, make_sessionmaker
    from ghl_bridge.store.migrate import upgrade
    from ghl_bridge.store.subscriptions import SubscriptionRepo
    from ghl_bridge.vault import Vault

    vault = Vault(resolve_keyring(settings))
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_sessionmaker(engine)
        yield KeyRotator(ConnectionRepo(sessions), vault, subscriptions=SubscriptionRepo(sessions))
    finally:
        await engine.dispose()


def _run(settings: Settings, work: Callable[[KeyRotator], Awaitable[T]]) -> T:
    """Run ``work`` with a rotator; map each failure to a message and its exit code."""
    from ghl_bridge.oauth.key_rotation import KeyRotationError

    async def main() -> T:
        async with _rotator(settings) as rotator:
            return await work(rotator)

    try:
        return asyncio.run(main())
    except (VaultError, ConfigError) as exc:  # messages name key ids, never key material
        err.print(f"[red]encryption keys:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except KeyRotationError as exc:
        err.print(f"[red]key rotation stopped:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except (SQLAlchemyError, OSError) as exc:  # engines hide bound parameters (sealed tokens)
        first = escape(str(exc).splitlines()[0]) if str(exc) else ""
        err.print(f"[red]database error:[/red] {type(exc).__name__}: {first}", highlight=False)
        raise typer.Exit(1) from None


@keys_app.command("generate")
def keys_generate(
    kid: Annotated[
        str | None, typer.Option("--kid", help="Key id (1-32 of A-Z a-z 0-9 _ -); random if unset.")
    ] = None,
) -> None:
    """Print a new key entry `kid:base64key` to prepend to GHL_BRIDGE_ENCRYPTION_KEYS."""
    try:
        entry = KeyRing.generate(kid)
    except VaultError as exc:
        err.print(f"[red]--kid:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    typer.echo(entry)  # alone on stdout, so `$(ghl-bridge keys generate)` captures just it
    err.print(
        "Prepend it to GHL_BRIDGE_ENCRYPTION_KEYS (followed by a comma) to make it the active"
        " key, restart every process, then run `ghl-bridge keys rotate`.",
        highlight=False,
    )


@keys_app.command("status")
def keys_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The active key id and how many connections are sealed under each key id."""

    async def work(rotator: KeyRotator) -> KeyStatus:
        return await rotator.status()

    status = _run(_settings(), work)
    if as_json:
        out.print_json(json.dumps(_status_json(status)))
        return
    out.print(f"active key: {status.active_kid}", highlight=False)
    table = Table("key id", "connections", "in ring")
    for usage in status.usage:
        in_ring = "yes" if usage.key_id in status.ring_kids else "[red]NO[/red]"
        active = " (active)" if usage.key_id == status.active_kid else ""
        table.add_row(usage.key_id, str(usage.connections), in_ring + active)
    out.print(table)
    if status.remaining:
        out.print(
            f"{status.remaining} credential(s) to re-seal under {status.active_kid!r}:"
            " run `ghl-bridge keys rotate`",
            highlight=False,
        )
    else:
        out.print(f"every credential is sealed under {status.active_kid!r}", highlight=False)
    for usage in status.unknown:
        err.print(
            f"[red]{usage.connections} connection(s) name key id {usage.key_id!r}, which is not"
            " in the key ring: they cannot be opened[/red]",
            highlight=False,
        )


@keys_app.command("rotate")
def keys_rotate(
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=10_000, help="Connections per transaction.")
    ] = DEFAULT_BATCH,
) -> None:
    """Re-seal every credential not under the active key (safe to interrupt and run again)."""

    def progress(done: int, total: int) -> None:
        out.print(f"re-sealed {done}/{total}", highlight=False)

    async def work(rotator: KeyRotator) -> None:
        before = await rotator.status()
        out.print(
            f"active key {before.active_kid!r}: {before.remaining} credential(s) to re-seal",
            highlight=False,
        )
        report = await rotator.rotate(batch_size=batch, progress=progress)
        retried = (
            f", {report.conflicts} retried after a concurrent refresh" if report.conflicts else ""
        )
        out.print(
            f"done: {report.resealed} connection(s) and {report.subscriptions} subscription(s)"
            f" re-sealed under {report.active_kid!r}{retried}; none left under another key.",
            highlight=False,
        )
        old = [kid for kid in before.ring_kids if kid != before.active_kid]
        if old:
            out.print(
                f"Once every process runs with this key ring, {', '.join(map(repr, old))} can be"
                " removed from GHL_BRIDGE_ENCRYPTION_KEYS.",
                highlight=False,
            )

    _run(_settings(), work)


def _status_json(status: KeyStatus) -> dict[str, object]:
    return {
        "activeKeyId": status.active_kid,
        "ringKeyIds": list(status.ring_kids),
        "keys": [
            {
                "keyId": u.key_id,
                "connections": u.connections,
                "inRing": u.key_id in status.ring_kids,
            }
            for u in status.usage
        ],
        "remaining": status.remaining,
    }
