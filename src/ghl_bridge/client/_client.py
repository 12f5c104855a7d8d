"""GHLClient: the composition root. Builds the pipeline once and exposes resource namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from ghl_bridge.client import resources as r
from ghl_bridge.client.auth import TokenProvider
from ghl_bridge.client.catalog import Catalog, load_catalog
from ghl_bridge.client.generic import GenericCaller
from ghl_bridge.client.metrics import ClientMetrics
from ghl_bridge.client.options import ClientOptions, RequestOptions
from ghl_bridge.client.pipeline import AttemptObserver, Operations, Pipeline
from ghl_bridge.client.resilience.circuit import CircuitBreakers
from ghl_bridge.client.resilience.limiter import RateLimiter
from ghl_bridge.client.validation import RequestValidator


class GHLClient:
    """Async client for GHL v2. Use one per process, as an async context manager.

    async with GHLClient(tokens=StaticTokens(default=pit)) as ghl:
        contact = await ghl.contacts.create(location_id, {"email": "a@b.co"})
        slots = await ghl.call("get-slots", path_params={"calendarId": cal}, query={...})

    Every request, typed or generic, is checked against the spec catalogue before it is sent.
    ``observer``, if given, is called with an `AttemptRecord` after every exchange with GHL
    (retries included): the hook for audit logs, which the library itself does not keep.
    """

    def __init__(
        self,
        *,
        tokens: TokenProvider,
        options: ClientOptions | None = None,
        limiter: RateLimiter | None = None,
        breakers: CircuitBreakers | None = None,
        operations: Operations | None = None,
        metrics: ClientMetrics | None = None,
        observer: AttemptObserver | None = None,
    ) -> None:
        self.options = options or ClientOptions()
        table = operations or load_catalog()
        self.pipeline = Pipeline(
            self.options,
            tokens,
            table,
            limiter=limiter,
            breakers=breakers,
            metrics=metrics,
            observer=observer,
        )
        # A custom ``operations`` table still validates against the spec catalogue.
        catalog = table if isinstance(table, Catalog) else load_catalog()
        # Public so callers can vet a request (e.g. an action's input) before queueing it.
        self.validator = validator = RequestValidator(catalog)
        self.catalog = catalog
        p = self.pipeline
        self._generic = GenericCaller(p, validator, catalog)
        self.appointments = r.AppointmentsResource(p, validator)
        self.businesses = r.BusinessesResource(p, validator)
        self.calendars = r.CalendarsResource(p, validator)
        self.campaigns = r.CampaignsResource(p, validator)
        self.contacts = r.ContactsResource(p, validator)
        self.conversations = r.ConversationsResource(p, validator)
        self.custom_fields = r.CustomFieldsResource(p, validator)
        self.custom_values = r.CustomValuesResource(p, validator)
        self.email_templates = r.EmailTemplatesResource(p, validator)
        self.forms = r.FormsResource(p, validator)
        self.funnels = r.FunnelsResource(p, validator)
        self.links = r.LinksResource(p, validator)
        self.locations = r.LocationsResource(p, validator)
        self.oauth = r.OAuthResource(p, validator)
        self.opportunities = r.OpportunitiesResource(p, validator)
        self.pipelines = r.PipelinesResource(p, validator)
        self.snapshots = r.SnapshotsResource(p, validator)
        self.social_posts = r.SocialPostsResource(p, validator)
        self.surveys = r.SurveysResource(p, validator)
        self.tags = r.LocationTagsResource(p, validator)
        self.users = r.UsersResource(p, validator)
        self.workflows = r.WorkflowsResource(p, validator)

    def __repr__(self) -> str:
        return f"GHLClient(base_url={self.options.base_url!r})"

    async def call(
        self,
        operation_id: str,
        *,
        resource_id: str | None = None,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        options: RequestOptions | None = None,
    ) -> dict[str, Any]:
        """Perform any catalogue operation by id; see ``GenericCaller.call``."""
        return await self._generic.call(
            operation_id,
            resource_id=resource_id,
            path_params=path_params,
            query=query,
            body=body,
            options=options,
        )

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
