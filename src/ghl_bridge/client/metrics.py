"""Prometheus metrics for every GHL call: per location and operation, never a token or a body.

One set per registry (the default is prometheus-client's global one, scraped by ``/metrics``);
tests pass a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ClientMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "ghl_requests",
            "GHL requests sent, by outcome",
            ["location", "operation", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "ghl_request_seconds",
            "GHL request latency (one attempt)",
            ["operation"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.rate_limited = Counter(
            "ghl_rate_limited", "429 answers from GHL", ["location"], registry=registry
        )
        self.retries = Counter(
            "ghl_retries", "Attempts retried, by reason", ["location", "reason"], registry=registry
        )
        self.circuit_rejections = Counter(
            "ghl_circuit_rejections",
            "Calls refused by an open circuit",
            ["circuit"],
            registry=registry,
        )
        self.budget_remaining = Gauge(
            "ghl_budget_remaining",
            "GHL's X-RateLimit remaining, last seen",
            ["location", "window"],
            registry=registry,
        )


@cache
def metrics_for(registry: CollectorRegistry = REGISTRY) -> ClientMetrics:
    """The metrics of ``registry``, created once (registering twice would raise)."""
    return ClientMetrics(registry)
