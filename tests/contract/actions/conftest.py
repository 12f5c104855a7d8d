"""The action contract harness: the real ActionService, on a migrated SQLite store, calling the
bundled GHL simulator over HTTP with the first seeded location's token.

``acts.run(name, input)`` runs an action the way REST and the queue do (policy, validation,
ownership, GHL); ``acts.refused(name, input)`` expects a refusal and returns its error. Every
action module's contract test uses these, so a success and a failure are one line each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.contract.conftest import Sim

from ghl_bridge.actions import ActionService, default_registry
from ghl_bridge.actions.service import KeyPolicy
from ghl_bridge.actions.support import ActionSupport
from ghl_bridge.client import ClientOptions, GHLClient, StaticTokens
from ghl_bridge.failures import Failure, describe
from ghl_bridge.store.action_records import ActionRecordRepo
from ghl_bridge.store.audit import AuditRepo
from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.idempotency import IdempotencyRepo
from ghl_bridge.store.migrate import upgrade
from ghl_bridge.store.tenants import TenantRepo


@dataclass
class Acts:
    service: ActionService
    sim: Sim
    ghl: GHLClient
    tenant_id: str
    location_id: str

    @property
    def seed(self) -> dict[str, Any]:
        return self.sim.seed["locations"][0]  # type: ignore[no-any-return]

    async def run(self, name: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        location_id = kw.pop("location_id", self.location_id)
        return await self.service.run(self.tenant_id, name, location_id, data or {}, **kw)

    async def refused(self, name: str, data: dict[str, Any] | None = None, **kw: Any) -> Failure:
        """Run ``name`` expecting a failure (ours or GHL's); returns it as the API would
        describe it (stable ``code``, status, details)."""
        location_id = kw.pop("location_id", self.location_id)
        with pytest.raises(Exception) as caught:
            await self.service.run(self.tenant_id, name, location_id, data or {}, **kw)
        failure = describe(caught.value)
        assert failure is not None, f"{name} failed with an unmapped {caught.value!r}"
        return failure

    async def invalid(self, name: str, data: dict[str, Any]) -> list[str]:
        """Run ``name`` with input its schema refuses; returns the offending paths."""
        failure = await self.refused(name, data)
        assert failure.code == "validation_error", failure
        details = failure.details
        return [str(d["path"]) for d in details] if isinstance(details, list) else []

    def policy(self, *scopes: str, **kw: Any) -> KeyPolicy:
        return KeyPolicy.of(scopes, **kw)


def _service(sessions: Any, connections: ConnectionRepo, client: GHLClient) -> ActionService:
    """The service as the runtime builds it: ledger, records, audit log, ownership checks."""
    return ActionService(
        default_registry(),
        connections,
        client,
        IdempotencyRepo(sessions),
        support=ActionSupport(ActionRecordRepo(sessions), AuditRepo(sessions), connections),
    )


@pytest.fixture
async def acts(sim: Sim, tmp_path: Path) -> AsyncIterator[Acts]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'acts.db'}"
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    tenant, _ = await TenantRepo(sessions).create("contract")
    connections = ConnectionRepo(sessions)
    location_id = sim.location_id
    await connections.upsert(
        tenant.id,
        user_type="Location",
        company_id=sim.seed["agency"]["companyId"],
        location_id=location_id,
        access_sealed="unused: the client below holds the location's PIT",
        refresh_sealed=None,
        key_id="k1",
        expires_at=None,
        scopes="",
    )
    client = GHLClient(
        tokens=StaticTokens(default=sim.pit), options=ClientOptions(base_url=sim.url)
    )
    async with client:
        service = _service(sessions, connections, client)
        try:
            yield Acts(service, sim, client, tenant.id, location_id)
        finally:
            await engine.dispose()


@dataclass
class AgencyActs(Acts):
    """``Acts`` for a tenant that also holds the agency's (Company) connection and the second
    seeded location's: agency actions run with ``location_id=company_id``. Each resource gets
    its own PIT, as a real token provider would hand out each connection's token."""

    company_id: str = ""
    other_location_id: str = ""
    connections: ConnectionRepo | None = None
    sessions: Any = None  # for a test that adds another tenant


async def connect(
    connections: ConnectionRepo, tenant_id: str, company_id: str, location_id: str | None
) -> None:
    await connections.upsert(
        tenant_id,
        user_type="Location" if location_id else "Company",
        company_id=company_id,
        location_id=location_id,
        access_sealed="unused: the client holds the PITs",
        refresh_sealed=None,
        key_id="k1",
        expires_at=None,
        scopes="",
    )


@pytest.fixture
async def agency_acts(sim: Sim, tmp_path: Path) -> AsyncIterator[AgencyActs]:
    """Opt-in: the tenant owns the agency and both seeded locations (``acts`` is unchanged)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'agency.db'}"
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    tenant, _ = await TenantRepo(sessions).create("agency")
    connections = ConnectionRepo(sessions)
    agency = sim.seed["agency"]
    first, second = sim.seed["locations"][:2]
    await connect(connections, tenant.id, agency["companyId"], None)
    for location in (first, second):
        await connect(connections, tenant.id, agency["companyId"], location["id"])
    pits = {agency["companyId"]: agency["pit"], first["id"]: first["pit"]}
    pits[second["id"]] = second["pit"]
    client = GHLClient(tokens=StaticTokens(pits), options=ClientOptions(base_url=sim.url))
    async with client:
        service = _service(sessions, connections, client)
        try:
            yield AgencyActs(
                service,
                sim,
                client,
                tenant.id,
                first["id"],
                company_id=agency["companyId"],
                other_location_id=second["id"],
                connections=connections,
                sessions=sessions,
            )
        finally:
            await engine.dispose()
