"""GHLClient: the composition root. Builds the pipeline once and exposes resource namespaces."""

from __future__ import annotations

from types import TracebackType

from ghl_bridge.client.auth import TokenProvider
from ghl_bridge.client.catalog import load_catalog
from ghl_bridge.client.options import ClientOptions
from ghl_bridge.client.pipeline import Operations, Pipeline
from ghl_bridge.client.resilience.circuit import CircuitBreakers
from ghl_bridge.client.resilience.limiter import RateLimiter
from ghl_bridge.client.resources import ContactsResource, OAuthResource


class GHLClient:
    """Async client for GHL v2. Use one per process, as an async context manager.

    async with GHLClient(tokens=StaticTokens(default=pit)) as ghl:
        contact = await ghl.contacts.create(location_id, {"email": "a@b.co"})
    """

    def __init__(
        self,
        *,
        tokens: TokenProvider,
        options: ClientOptions | None = None,
        limiter: RateLimiter | None = None,
        breakers: CircuitBreakers | None = None,
        operations: Operations | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        self.pipeline = Pipeline(
            self.options,
            tokens,
            operations or load_catalog(),
            limiter=limiter,
            breakers=breakers,
        )
        self.contacts = ContactsResource(self.pipeline)
        self.oauth = OAuthResource(self.pipeline)

    def __repr__(self) -> str:
        return f"GHLClient(base_url={self.options.base_url!r})"

    async def __aenter__(self) -> GHLClient:
        await self.pipeline.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.pipeline.close()
