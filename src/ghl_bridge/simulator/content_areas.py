"""Endpoints for the content areas (filled in by issue #3's simulator-breadth work)."""

from __future__ import annotations

from ghl_bridge.simulator.gate import Endpoint

__all__ = ["ENDPOINTS"]

ENDPOINTS: list[Endpoint] = []
