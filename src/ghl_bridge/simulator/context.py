"""`Simulator` (the parts of one simulated GHL) and `Call` (one request as a handler sees it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ghl_bridge.simulator.auth import require_location
from ghl_bridge.simulator.config import SimConfig
from ghl_bridge.simulator.errors import GhlJSONResponse, bad_request, unprocessable
from ghl_bridge.simulator.faults import FaultBook
from ghl_bridge.simulator.journal import Journal
from ghl_bridge.simulator.keys import WebhookSigner, load_signer
from ghl_bridge.simulator.ratelimit import RateLimiter
from ghl_bridge.simulator.seed import build_state
from ghl_bridge.simulator.spec import OpSpec, SpecTable, load_spec
from ghl_bridge.simulator.state import SimState, Token
from ghl_bridge.simulator.validation import dto_errors
from ghl_bridge.simulator.webhooks import WebhookDispatcher

__all__ = ["Call", "Simulator"]


@dataclass(slots=True)
class Simulator:
    """Everything one running simulator owns; built once per app by `create_app`."""

    config: SimConfig
    spec: SpecTable
    state: SimState
    limiter: RateLimiter
    faults: FaultBook
    signer: WebhookSigner
    webhooks: WebhookDispatcher
    journal: Journal = field(default_factory=Journal)

    @classmethod
    def build(cls, config: SimConfig) -> Simulator:
        spec = load_spec()
        state = build_state(config.seed, spec, location_count=config.location_count)
        faults = FaultBook(config.seed)
        signer = load_signer()
        webhooks = WebhookDispatcher(config, signer, faults, state.ids.trace_id)
        return cls(config, spec, state, RateLimiter(config), faults, signer, webhooks)

    def now(self) -> float:
        return self.config.clock()

    async def aclose(self) -> None:
        await self.webhooks.aclose()


@dataclass(slots=True)
class Call:
    """One API request after the gate's checks: what a handler works with."""

    sim: Simulator
    request: Request
    op: OpSpec
    trace_id: str
    body: Any
    token: Token | None

    @property
    def state(self) -> SimState:
        return self.sim.state

    @property
    def principal(self) -> Token:
        """The authenticated token; only public routes (the OAuth endpoints) have none."""
        if self.token is None:
            raise RuntimeError(f"{self.op.op_id} is public; it has no token")
        return self.token

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def require_location(self, location_id: str | None) -> None:
        require_location(self.principal, location_id)

    def validated_body(
        self, optional: frozenset[str] = frozenset(), extra: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The JSON body, checked against the operation's request DTO from the spec (422).

        `optional` names fields the spec marks required but GHL's live DTO does not (recorded
        clients omit them and succeed); `extra` names fields GHL accepts that the spec lacks."""
        if not isinstance(self.body, dict):
            raise bad_request("Request body must be a JSON object")
        schema = self.sim.spec.resolve(self.op.request_schema)
        if optional:
            required = [name for name in schema.get("required", ()) if name not in optional]
            schema = {**schema, "required": required}
        checked = {key: value for key, value in self.body.items() if key not in extra}
        errors = dto_errors(schema, checked)
        if errors:
            raise unprocessable(errors)
        return self.body

    def respond(self, payload: dict[str, Any], status: int | None = None) -> Response:
        """JSON success body with the `traceId` GHL adds; status defaults to the spec's 2xx."""
        return GhlJSONResponse(
            {**payload, "traceId": self.trace_id}, status_code=status or self.op.status
        )

    def emit(self, event_type: str, location_id: str | None, fields: dict[str, Any]) -> str:
        return self.sim.webhooks.emit(event_type, location_id, fields)
