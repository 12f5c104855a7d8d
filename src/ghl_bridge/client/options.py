"""ClientOptions (per client, frozen) and RequestOptions (per call overrides)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from ghl_bridge.client import facts
from ghl_bridge.client.resilience.gate import Lane


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How a GHLClient talks to GHL.

    base_url: GHL's API host, or the simulator's.
    timeout_s: total time for one attempt; connect_timeout_s bounds the TCP/TLS handshake.
    max_attempts: attempts per call including the first (429s and retryable 5xx/transport errors).
    deadline_s: wall-clock budget for a call across all its attempts and rate-limit waits.
    burst_max / burst_window_ms: the client-side per-resource budget, kept under GHL's limit.
    circuit_threshold / circuit_ttl_s: consecutive failures that open a location's circuit, and
    how long it stays open before one trial call is let through; host_circuit_threshold is the
    same for the whole host (a GHL-wide outage), set higher because many locations feed it.
    redis_url: share the rate-limit budget across processes (in memory when None).
    app_id: names this app's budget (GHL counts per app and resource).
    connection_limit: the aiohttp connector's pool size.
    """

    base_url: str = facts.BASE_URL
    timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    max_attempts: int = 5
    deadline_s: float = 60.0
    burst_max: int = facts.BURST_MAX
    burst_window_ms: int = facts.BURST_WINDOW_MS
    circuit_threshold: int = 5
    circuit_ttl_s: float = 30.0
    host_circuit_threshold: int = 25
    redis_url: str | None = None
    app_id: str = "app"
    connection_limit: int = 100
    user_agent: str = "ghl-bridge/0.1"
    extra_headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Per-call overrides. An ``idempotency_key`` makes a POST safe to retry after a 5xx;
    ``lane=Lane.BULK`` lets interactive calls go first and leaves them part of each window."""

    idempotency_key: str | None = None
    lane: Lane = Lane.INTERACTIVE
    max_attempts: int | None = None
    timeout_s: float | None = None
    version: str | None = None


DryRunMode = Literal["writes", "all"]
_DRY_RUN: ContextVar[DryRunMode | None] = ContextVar("ghl_bridge_dry_run", default=None)


@contextmanager
def dry_run(mode: DryRunMode | None) -> Iterator[None]:
    """Within the block, the pipeline sends no request that changes anything ("writes": reads
    still go out) or no request at all ("all"); it raises DryRunIntercepted with the request it
    stopped. A context variable, so paging iterators and nested calls obey it too."""
    token = _DRY_RUN.set(mode)
    try:
        yield
    finally:
        _DRY_RUN.reset(token)


def dry_run_mode() -> DryRunMode | None:
    return _DRY_RUN.get()
