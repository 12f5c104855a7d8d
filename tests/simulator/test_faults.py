"""Scripted faults: latency, status, timeout, forced 429, dropped connections; order, matching."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from ghl_bridge.simulator import SimConfig, SimulatedConnectionDrop, create_app
from tests.simulator.conftest import SimClient, open_sim, serve_app


async def arm(sim: SimClient, **spec: Any) -> str:
    resp = await sim.http.post("/_sim/faults", json=spec)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def search(
    sim: SimClient, location: str | None = None, token: str | None = None
) -> httpx.Response:
    body = {"locationId": location or sim.location_id, "pageLimit": 1}
    return await sim.call("POST", "/contacts/search", token=token, json=body)


async def test_status_fault_fires_count_times_in_order(sim: SimClient) -> None:
    await arm(sim, kind="status", status=503, count=2)
    await arm(sim, kind="status", status=502)
    statuses = [(await search(sim)).status_code for _ in range(4)]
    assert statuses == [503, 503, 502, 200]
    listing = (await sim.http.get("/_sim/faults")).json()["faults"]
    assert [(f["kind"], f["fired"], f["remaining"]) for f in listing] == [
        ("status", 2, 0),
        ("status", 1, 0),
    ]


async def test_status_fault_body(sim: SimClient) -> None:
    await arm(sim, kind="status")
    resp = await search(sim)
    body = resp.json()
    assert (resp.status_code, body["statusCode"], body["message"]) == (
        503,
        503,
        "Service Unavailable",
    )
    assert body["traceId"]


async def test_latency_delays_then_answers(sim: SimClient) -> None:
    await arm(sim, kind="latency", delayMs=200)
    started = time.monotonic()
    resp = await search(sim)
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_timeout_holds_then_504_without_processing(sim: SimClient) -> None:
    await arm(
        sim, kind="timeout", delayMs=100, match={"method": "POST", "pathPrefix": "/contacts/"}
    )
    started = time.monotonic()
    resp = await sim.call(
        "POST", "/contacts/", json={"locationId": sim.location_id, "email": "slow@example.com"}
    )
    assert resp.status_code == 504 and time.monotonic() - started >= 0.1
    retry = await sim.call(
        "POST", "/contacts/", json={"locationId": sim.location_id, "email": "slow@example.com"}
    )
    assert retry.status_code == 201  # the timed-out attempt created nothing


async def test_rate_limit_fault_is_a_429_with_headers(sim: SimClient) -> None:
    await arm(sim, kind="rate_limit", count=1)
    limited = await search(sim)
    assert limited.status_code == 429
    assert limited.json()["message"] == "Too Many Requests"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert (await search(sim)).status_code == 200
    await arm(sim, kind="rate_limit", match={"pathPrefix": "/oauth/token"})
    assert (await sim.http.post("/oauth/token", data={})).status_code == 429


async def test_match_by_method_path_and_location(sim: SimClient) -> None:
    await arm(sim, kind="status", status=500, match={"locationId": sim.other_location_id})
    await arm(sim, kind="status", status=501, match={"method": "GET"})
    assert (await search(sim)).status_code == 200
    other = await search(sim, location=sim.other_location_id, token=sim.pit(1))
    assert other.status_code == 500
    assert (await sim.call("GET", "/contacts/whatever")).status_code == 501


async def test_location_match_uses_the_token_when_the_request_names_none(sim: SimClient) -> None:
    contact = (await search(sim)).json()["contacts"][0]["id"]
    await arm(sim, kind="status", status=500, match={"locationId": sim.location_id})
    assert (await sim.call("GET", f"/contacts/{contact}")).status_code == 500


async def test_drop_without_a_socket_raises(sim: SimClient) -> None:
    await arm(sim, kind="drop")
    with pytest.raises(SimulatedConnectionDrop):
        await search(sim)
    assert (await search(sim)).status_code == 200


async def test_drop_closes_the_real_connection() -> None:
    app = create_app(SimConfig())
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as http:
        seed = (await http.get("/_sim/seed")).json()
        await http.post("/_sim/faults", json={"kind": "drop", "count": 1})
        headers = {
            "Authorization": f"Bearer {seed['locations'][0]['pit']}",
            "Version": "2021-07-28",
        }
        body = {"locationId": seed["locations"][0]["id"], "pageLimit": 1}
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/contacts/search", json=body, headers=headers)
        assert (await http.post("/contacts/search", json=body, headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "explode"}, "kind must be one of the following values"),
        ({"kind": "status", "count": -1}, "count must be a non-negative integer"),
        ({"kind": "status", "status": 700}, "status must be an HTTP status code"),
        ({"kind": "latency", "match": {"host": "x"}}, "property match.host should not exist"),
    ],
)
async def test_fault_validation(sim: SimClient, spec: dict[str, Any], message: str) -> None:
    resp = await sim.http.post("/_sim/faults", json=spec)
    assert resp.status_code == 422
    assert any(m.startswith(message) for m in resp.json()["message"])


async def test_faults_can_be_cleared_and_skip_control_routes(sim: SimClient) -> None:
    await arm(sim, kind="status", count=5)
    assert (await sim.http.get("/_sim/seed")).status_code == 200  # /_sim is never faulted
    assert (await sim.http.delete("/_sim/faults")).json() == {"cleared": 1}
    assert (await search(sim)).status_code == 200
    assert (await sim.http.get("/_sim/faults")).json() == {"faults": []}


async def test_probabilistic_fault_strikes_its_share_reproducibly(sim: SimClient) -> None:
    await arm(sim, kind="status", status=502, probability=0.25)
    statuses = [(await search(sim)).status_code for _ in range(80)]
    share = statuses.count(502) / len(statuses)
    assert 0.1 < share < 0.45 and set(statuses) == {200, 502}
    listing = (await sim.http.get("/_sim/faults")).json()["faults"]
    assert listing[0]["remaining"] is None and listing[0]["fired"] == statuses.count(502)

    async with open_sim() as again:  # the same seed and requests: the same faults
        await arm(again, kind="status", status=502, probability=0.25)
        assert [(await search(again)).status_code for _ in range(80)] == statuses


async def test_probabilistic_fault_with_a_count_stops(sim: SimClient) -> None:
    await arm(sim, kind="status", status=502, probability=1.0, count=3)
    assert [(await search(sim)).status_code for _ in range(5)] == [502, 502, 502, 200, 200]


async def test_after_fault_lands_the_write_then_fails(sim: SimClient) -> None:
    await arm(sim, kind="status", status=502, after=True, match={"method": "POST"})
    body = {"locationId": sim.location_id, "email": "landed@example.com"}
    resp = await sim.call("POST", "/contacts/", json=body)
    assert resp.status_code == 502
    found = await sim.call(
        "GET",
        "/contacts/search/duplicate",
        params={"locationId": sim.location_id, "email": "landed@example.com"},
    )
    assert found.json()["contact"]["email"] == "landed@example.com"


async def test_journal_counts_repeated_post_bodies(sim: SimClient) -> None:
    body = {"locationId": sim.location_id, "email": "twice@example.com"}
    await sim.call("POST", "/contacts/", json=body)
    await sim.call("POST", "/contacts/", json=body)  # a blind retry: same bytes again
    await sim.call("POST", "/contacts/", json={**body, "email": "other@example.com"})
    await arm(sim, kind="rate_limit")
    refused = {**body, "email": "refused@example.com"}
    assert (await sim.call("POST", "/contacts/", json=refused)).status_code == 429
    await sim.call("POST", "/contacts/", json=refused)  # after a 429: GHL did no work before
    journal = (await sim.http.get("/_sim/journal")).json()
    assert journal["posts"]["create-contact"] == 4
    assert journal["repeatedPosts"] == {"create-contact": 1}


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "status", "probability": 0},
        {"kind": "status", "probability": 1.5},
        {"kind": "status", "probability": "often"},
        {"kind": "latency", "after": True},
        {"kind": "drop", "after": "yes"},
    ],
)
async def test_bad_probability_or_after_is_refused(sim: SimClient, spec: dict[str, Any]) -> None:
    resp = await sim.http.post("/_sim/faults", json=spec)
    assert resp.status_code == 422
    assert (await sim.http.get("/_sim/faults")).json()["faults"] == []
