"""GHLClient against the simulator over real HTTP: the pipeline's behaviour, not canned replies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from tests.contract.conftest import Sim

from ghl_bridge.client import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ClientOptions,
    GHLClient,
    RequestOptions,
    RequestTimeout,
    ServerError,
    StaticTokens,
    UnprocessableEntityError,
)


def _client(sim: Sim, **options: object) -> GHLClient:
    return GHLClient(
        tokens=StaticTokens(default=sim.pit),
        options=ClientOptions(base_url=sim.url, **options),  # type: ignore[arg-type]
    )


@pytest.fixture
async def ghl(sim: Sim) -> AsyncIterator[GHLClient]:
    async with _client(sim) as client:
        yield client


async def test_contact_lifecycle(ghl: GHLClient, sim: Sim) -> None:
    created = await ghl.contacts.create(
        sim.location_id, {"firstName": "Ada", "email": "ada@example.com"}
    )
    contact_id = created["contact"]["id"]
    fetched = await ghl.contacts.get(sim.location_id, contact_id)
    assert fetched["contact"]["email"] == "ada@example.com"
    await ghl.contacts.update(sim.location_id, contact_id, {"lastName": "Lovelace"})
    assert (await ghl.contacts.get(sim.location_id, contact_id))["contact"][
        "lastName"
    ] == "Lovelace"
    await ghl.contacts.delete(sim.location_id, contact_id)
    # GHL answers a missing contact with 400 "Contact with id … not found", not 404.
    with pytest.raises(BadRequestError, match="not found") as info:
        await ghl.contacts.get(sim.location_id, contact_id)
    assert info.value.trace_id  # GHL's traceId travels with the error


async def test_search_cursor_walk_has_no_gaps_or_overlaps(ghl: GHLClient, sim: Sim) -> None:
    for n in range(23):
        await ghl.contacts.create(
            sim.location_id, {"firstName": f"P{n}", "email": f"p{n}@walk.example"}
        )
    total = (await ghl.contacts.search(sim.location_id, {"pageLimit": 1}))["total"]
    ids = [c["id"] async for c in ghl.contacts.iter_search(sim.location_id, page_limit=7)]
    assert len(ids) == len(set(ids)) == total


async def test_ghl_validation_errors_are_typed(ghl: GHLClient, sim: Sim) -> None:
    with pytest.raises(BadRequestError, match="Invalid field"):
        await ghl.contacts.search(
            sim.location_id, {"filters": [{"field": "nope", "operator": "eq", "value": 1}]}
        )
    with pytest.raises(UnprocessableEntityError) as info:
        await ghl.contacts.search(sim.location_id, {"pageLimit": 5000})
    assert info.value.messages


async def test_wrong_token_is_authentication_error(sim: Sim) -> None:
    async with GHLClient(
        tokens=StaticTokens(default="pit-00000000-0000-0000-0000-000000000000"),
        options=ClientOptions(base_url=sim.url),
    ) as ghl:
        with pytest.raises(AuthenticationError):
            await ghl.contacts.get(sim.location_id, "x")


async def test_429s_are_waited_out_not_surfaced(tight_sim: Sim) -> None:
    """The simulator allows 3/s; eight concurrent calls all succeed, paced by 429s and headers."""
    async with _client(tight_sim, max_attempts=10) as ghl:
        started = time.monotonic()
        results = await asyncio.gather(
            *(ghl.contacts.search(tight_sim.location_id, {"pageLimit": 1}) for _ in range(8))
        )
    assert all("contacts" in r for r in results)
    elapsed = time.monotonic() - started
    # It waited for the simulator's 1 s window (read from GHL's headers), not a 10 s default.
    assert 1.0 <= elapsed < 8.0


async def test_5xx_on_get_is_retried(ghl: GHLClient, sim: Sim) -> None:
    created = await ghl.contacts.create(sim.location_id, {"email": "retry@example.com"})
    await sim.fault("status", status=503, count=2, match={"method": "GET"})
    got = await ghl.contacts.get(sim.location_id, created["contact"]["id"])
    assert got["contact"]["email"] == "retry@example.com"


async def test_5xx_on_keyless_post_is_not_retried(ghl: GHLClient, sim: Sim) -> None:
    await sim.fault(
        "status", status=502, count=1, match={"method": "POST", "pathPrefix": "/contacts/"}
    )
    with pytest.raises(ServerError):
        await ghl.contacts.create(sim.location_id, {"email": "once@example.com"})


async def test_5xx_on_search_post_is_retried_by_default(ghl: GHLClient, sim: Sim) -> None:
    """A POST that only reads is retried by the pipeline itself, through any entry point."""
    await sim.fault(
        "status", status=503, count=2, match={"method": "POST", "pathPrefix": "/contacts/search"}
    )
    body = {"locationId": sim.location_id, "pageLimit": 5}
    found = await ghl.call("search-contacts-advanced", body=body)
    assert found["contacts"]


async def test_5xx_on_keyed_post_is_retried(ghl: GHLClient, sim: Sim) -> None:
    await sim.fault(
        "status", status=502, count=1, match={"method": "POST", "pathPrefix": "/contacts/"}
    )
    created = await ghl.contacts.create(
        sim.location_id,
        {"email": "keyed@example.com"},
        options=RequestOptions(idempotency_key="k-1"),
    )
    assert created["contact"]["id"]


async def test_timeout_is_typed_and_retried_for_reads(sim: Sim) -> None:
    async with _client(sim, timeout_s=0.5) as ghl:
        await sim.fault(
            "timeout",
            delayMs=3000,
            count=1,
            match={"method": "POST", "pathPrefix": "/contacts/search"},
        )
        result = await ghl.contacts.search(sim.location_id, {"pageLimit": 1})  # search is a read
        assert "contacts" in result
        await sim.fault(
            "timeout", delayMs=3000, count=1, match={"method": "POST", "pathPrefix": "/contacts/"}
        )
        with pytest.raises(RequestTimeout):
            await ghl.contacts.create(sim.location_id, {"email": "slow@example.com"})


async def test_circuit_opens_then_recovers(sim: Sim) -> None:
    async with _client(sim, circuit_threshold=3, circuit_ttl_s=1.0) as ghl:
        await sim.fault("status", status=500, count=100, match={"method": "POST"})
        seen: list[type[Exception]] = []
        for _ in range(4):
            try:
                await ghl.contacts.search(sim.location_id, {"pageLimit": 1})
            except (ServerError, CircuitOpenError) as exc:
                seen.append(type(exc))
        # It opens during the retries of the first calls; after that, calls fail fast.
        assert seen[-1] is CircuitOpenError
        fired = await _fired(sim)
        with pytest.raises(CircuitOpenError):
            await ghl.contacts.search(sim.location_id, {"pageLimit": 1})
        assert await _fired(sim) == fired  # open means GHL is not called at all
        circuit = f"resource:app:{sim.location_id}"
        assert _circuit_gauge(circuit) == 1
        await sim.clear_faults()
        await asyncio.sleep(1.5)  # half-open: one trial call goes through and closes it
        assert "contacts" in await ghl.contacts.search(sim.location_id, {"pageLimit": 1})
        assert _circuit_gauge(circuit) == 0


def _circuit_gauge(circuit: str) -> float | None:
    return REGISTRY.get_sample_value("ghl_circuit_open", {"circuit": circuit})


async def _fired(sim: Sim) -> int:
    faults = (await sim.http.get(f"{sim.url}/_sim/faults")).json()["faults"]
    return sum(int(f["fired"]) for f in faults)
