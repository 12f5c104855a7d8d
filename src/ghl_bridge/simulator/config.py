"""Simulator settings (`SimConfig`) and the "N/10s" rate-limit notation used by `ghl-bridge sim`.

Imports nothing from ghl_bridge: the simulator must not share code with the client it tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SimConfig", "parse_rate_limit"]

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the simulated GHL behaves. Defaults are GHL's documented production values.

    seed: every generated id, token and secret derives from it, so two simulators with the
        same seed fed the same requests answer identically.
    rate_limit_max / rate_limit_window_ms: the moving-window burst limit per (app or PIT,
        location or company); GHL's is 100 per 10 000 ms.
    daily_limit: requests per (app or PIT, resource) per day; each resource has its own reset
        time of day, as GHL's `X-RateLimit-Daily-Reset` shows.
    access_token_ttl_s: lifetime of OAuth access tokens (`expires_in`).
    send_retry_after: GHL is not known to send `Retry-After` on 429; clients must cope without.
    refresh_grace_s: reusing a consumed refresh token within this many seconds returns the same
        new pair (GHL's concurrent-refresh window); later reuse is `invalid_grant`.
    webhook_urls: delivery targets present from the start (more via `POST /_sim/webhooks`).
    webhook_retry_delay_s / webhook_max_retries: GHL redelivers only on 429, 6 times ~10 min apart.
    message_delivery_delay_s: an outbound message is `pending` for this long (real time), then
        `delivered` with an OutboundMessage event, like a carrier's delivery receipt.
    clock: wall-clock seconds; inject a fake one to test expiry, grace windows and rate limits.
    """

    seed: int = 1
    rate_limit_max: int = 100
    rate_limit_window_ms: int = 10_000
    daily_limit: int = 200_000
    access_token_ttl_s: int = 86_399
    send_retry_after: bool = False
    refresh_grace_s: float = 30.0
    webhook_urls: tuple[str, ...] = ()
    webhook_retry_delay_s: float = 600.0
    webhook_max_retries: int = 6
    message_delivery_delay_s: float = 0.2
    # Locations beyond the two profiled ones (load tests across many sub-accounts). They get a
    # PIT and contacts, no CRM seed, and are made last so every other seeded id is unchanged.
    location_count: int = 2
    clock: Callable[[], float] = time.time


def parse_rate_limit(text: str) -> tuple[int, int]:
    """Parse "100/10s", "5/500ms", "60/m" into (max requests, window in milliseconds).

    Raises ValueError for anything else, including a zero count or window.
    """
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"rate limit must look like '100/10s' or '5/500ms', not {text!r}")
    count = int(match.group(1))
    window_ms = round(float(match.group(2) or 1) * _UNIT_MS[match.group(3)])
    if count <= 0 or window_ms <= 0:
        raise ValueError(f"rate limit needs a positive count and window: {text!r}")
    return count, window_ms
