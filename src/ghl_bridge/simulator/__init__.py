"""A stateful fake of the GoHighLevel v2 API, for tests and local development.

It imports nothing from the rest of ghl_bridge (an import-linter contract enforces it): sharing
models with the client would make it agree with the client's bugs. It reads only the generated
catalogue *data file* for per-operation Version, scopes and request DTOs.
"""

from __future__ import annotations

from ghl_bridge.simulator.app import create_app, drain, implemented_operations
from ghl_bridge.simulator.config import SimConfig, parse_rate_limit
from ghl_bridge.simulator.gate import SimulatedConnectionDrop
from ghl_bridge.simulator.server import serve

__all__ = [
    "SimConfig",
    "SimulatedConnectionDrop",
    "create_app",
    "drain",
    "implemented_operations",
    "parse_rate_limit",
    "serve",
]
