"""Prometheus metrics for every GHL call: per location and operation, never a token or a body.

One set per registry (the default is prometheus-client's global one, scraped by ``/metrics``);
tests pass a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

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
        self.circuit_open = Gauge(
            "ghl_circuit_open",
            "1 while a circuit (host:… or resource:…) is open or half-open, 0 once closed",
            ["circuit"],
            registry=registry,
        )
        self._requests: dict[tuple[str, str, str], Any] = {}
        self._latency: dict[str, Any] = {}
        self._budget: dict[tuple[str, str], Any] = {}

    # Children by labels, cached: prometheus_client's ``labels()`` validates and locks on every
    # call (~6 µs each, four per request). Label sets are bounded (locations × operations).
    def request_done(self, location: str, operation: str, status: str, elapsed_s: float) -> None:
        key = (location, operation, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(location, operation, status)
        counter.inc()
        timer = self._latency.get(operation)
        if timer is None:
            timer = self._latency[operation] = self.latency.labels(operation)
        timer.observe(elapsed_s)

    def circuit_state(self, circuit: str, state: str) -> None:
        self.circuit_open.labels(circuit).set(0 if state == "closed" else 1)

    def budget_seen(self, location: str, window: str, remaining: int) -> None:
        key = (location, window)
        gauge = self._budget.get(key)
        if gauge is None:
            gauge = self._budget[key] = self.budget_remaining.labels(location, window)
        gauge.set(remaining)


@cache
def metrics_for(registry: CollectorRegistry = REGISTRY) -> ClientMetrics:
    """The metrics of ``registry``, created once (registering twice would raise)."""
    return ClientMetrics(registry)
