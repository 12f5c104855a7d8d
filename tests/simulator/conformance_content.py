"""Conformance walk for the content areas: every implemented operation hit at least once."""

from __future__ import annotations

from tests.simulator.conformance_areas import Hitter
from tests.simulator.conftest import SimClient

AREAS: tuple[str, ...] = ()
WIRE_EXCEPTIONS: dict[str, str] = {}


async def exercise(rec: Hitter, sim: SimClient) -> None:
    """Hit each operation these areas implement (none yet)."""
