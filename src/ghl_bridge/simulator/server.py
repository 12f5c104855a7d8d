"""`serve`: run the simulator under uvicorn (what `ghl-bridge sim` calls)."""

from __future__ import annotations

from collections.abc import Sequence

import uvicorn

from ghl_bridge.simulator.app import create_app
from ghl_bridge.simulator.config import SimConfig, parse_rate_limit

__all__ = ["serve"]


def serve(
    host: str = "127.0.0.1",
    port: int = 8700,
    seed: int = 1,
    rate_limit: str = "100/10s",
    webhook_urls: Sequence[str] = (),
    locations: int = 2,
    refresh_grace_s: float = 30.0,
) -> None:
    """Serve a simulator until interrupted. `rate_limit` is "N/10s" or "N/500ms" style.

    Raises ValueError for a malformed `rate_limit`. Shutdown waits at most 5 s for requests held
    by latency or timeout faults.
    """
    maximum, window_ms = parse_rate_limit(rate_limit)
    config = SimConfig(
        seed=seed,
        rate_limit_max=maximum,
        rate_limit_window_ms=window_ms,
        webhook_urls=tuple(webhook_urls),
        location_count=locations,
        refresh_grace_s=refresh_grace_s,
    )
    uvicorn.run(create_app(config), host=host, port=port, timeout_graceful_shutdown=5)
