"""`ghl-bridge keys …`: the vault's key ring (filled in by issue #4's key-rotation work)."""

from __future__ import annotations

import typer

keys_app = typer.Typer(no_args_is_help=True, help="The vault's encryption keys.")
