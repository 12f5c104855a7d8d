"""Seed records for the admin areas, made after the CRM seed (ids of earlier records stay put)."""

from __future__ import annotations

from ghl_bridge.simulator.state import SimState

__all__ = ["seed_admin"]


def seed_admin(state: SimState) -> None:
    """Seed records for these areas in every location (none yet)."""
