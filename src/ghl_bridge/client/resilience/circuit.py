"""Circuit breaking per circuit key (a GHL host or a location), in memory, on purgatory.

After ``threshold`` consecutive server-side failures the circuit opens and calls fail fast with
CircuitOpenError; after ``ttl_s`` one trial call is let through (half-open). 4xx answers are the
caller's fault, not GHL's, and never count.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from ghl_bridge.client.errors import CircuitOpenError, GHLAPIError, ServerError


def _not_server_side(exc: BaseException) -> bool:
    return isinstance(exc, GHLAPIError) and not isinstance(exc, ServerError)


def _always(_: BaseException) -> bool:
    return True


class CircuitBreakers:
    """A family of breakers, created on first use per key."""

    def __init__(
        self,
        threshold: int = 5,
        ttl_s: float = 30.0,
        on_state: Callable[[str, str], None] | None = None,
    ) -> None:
        """``on_state(circuit, state)`` hears every change: "opened", "half-opened", "closed"."""
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold,
            default_ttl=ttl_s,
            # An inner circuit refusing is not a failure of the outer one.
            exclude=[(GHLAPIError, _not_server_side), (CircuitOpenError, _always)],
        )
        # The factory's lookup is a coroutine with its own bookkeeping; a breaker, once made,
        # is the same object for its key, so keep it at hand (~8 µs a guard, two per attempt).
        self._made: dict[tuple[str, int | None], Any] = {}
        if on_state is not None:

            def hook(circuit: str, event_name: str, event: Any) -> None:
                if event_name == "state_changed":
                    on_state(circuit, str(event.state))

            self._factory.add_listener(hook)

    @asynccontextmanager
    async def guard(self, key: str, threshold: int | None = None) -> AsyncIterator[None]:
        """Run the block under the breaker for ``key``; raise CircuitOpenError if it is open."""
        breaker = self._made.get((key, threshold))
        if breaker is None:
            breaker = await self._factory.get_breaker(key, threshold=threshold)
            self._made[(key, threshold)] = breaker
        try:
            async with breaker:
                yield
        except OpenedState as exc:
            raise CircuitOpenError(key) from exc
