"""GHLClient.call against the simulator, refusal before sending, and the Version on the wire."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from tests.contract.conftest import Sim
from tests.support.stack import free_port

from ghl_bridge.client import (
    ClientOptions,
    GHLClient,
    RequestValidationError,
    ServerError,
    StaticTokens,
)


async def test_generic_call_runs_a_contact_lifecycle(ghl: GHLClient, sim: Sim) -> None:
    body = {"locationId": sim.location_id, "firstName": "Grace", "email": "grace@example.com"}
    created = await ghl.call("create-contact", body=body)
    contact_id = created["contact"]["id"]
    path = {"contactId": contact_id}
    await ghl.call(
        "update-contact", resource_id=sim.location_id, path_params=path, body={"lastName": "Hopper"}
    )
    fetched = await ghl.call("get-contact", resource_id=sim.location_id, path_params=path)
    assert fetched["contact"]["lastName"] == "Hopper"
    found = await ghl.call(
        "search-contacts-advanced",
        body={"locationId": sim.location_id, "query": "grace", "pageLimit": 10},
    )
    assert contact_id in [c["id"] for c in found["contacts"]]
    await ghl.call("delete-contact", resource_id=sim.location_id, path_params=path)


async def test_generic_call_reaches_the_other_served_areas(ghl: GHLClient, sim: Sim) -> None:
    location = sim.location_id
    pipelines = await ghl.call("get-pipelines", query={"locationId": location})
    calendars = await ghl.call("get-calendars", query={"locationId": location})
    calendar_id = calendars["calendars"][0]["id"]
    now = int(time.time() * 1000)
    slots = await ghl.call(
        "get-slots",
        resource_id=location,
        path_params={"calendarId": calendar_id},
        query={"startDate": now, "endDate": now + 7 * 86_400_000, "timezone": "UTC"},
    )
    assert any(key[:2] == "20" for key in slots)  # date keys next to traceId
    contact = await ghl.call("create-contact", body={"locationId": location, "email": "g@x.co"})
    contact_id = contact["contact"]["id"]
    pipeline = pipelines["pipelines"][0]
    opportunity = await ghl.call(
        "create-opportunity",
        body={
            "locationId": location,
            "pipelineId": pipeline["id"],
            "name": "Deal",
            "pipelineStageId": pipeline["stages"][0]["id"],
            "status": "open",
            "contactId": contact_id,
        },
    )
    assert opportunity["opportunity"]["contactId"] == contact_id
    sent = await ghl.call(
        "send-a-new-message",
        resource_id=location,
        body={"type": "SMS", "contactId": contact_id, "message": "hello"},  # no subType/status
    )
    message = await ghl.call(
        "get-message", resource_id=location, path_params={"id": sent["messageId"]}
    )
    assert message["message"]["body"] == "hello"


async def test_a_spec_violation_is_refused_before_anything_is_sent(
    ghl: GHLClient, sim: Sim
) -> None:
    # Armed faults fire on the first matching request: if any request got through, one fires.
    await sim.fault("status", status=500, count=1, match={"method": "POST"})
    with pytest.raises(RequestValidationError) as generic:
        await ghl.call("create-contact", body={"locationId": sim.location_id, "tags": "vip"})
    assert [p.where for p in generic.value.problems] == ["body.tags"]
    with pytest.raises(RequestValidationError) as typed:
        await ghl.conversations.send(sim.location_id, {"type": "Fax", "message": "x"})
    assert {p.where for p in typed.value.problems} == {"body", "body.type"}
    assert await _fired(sim) == 0
    # The fault was live all along: a valid request trips it.
    with pytest.raises(ServerError):
        await ghl.call("create-contact", body={"locationId": sim.location_id, "email": "v@x.co"})
    assert await _fired(sim) == 1


async def _fired(sim: Sim) -> int:
    faults = (await sim.http.get(f"{sim.url}/_sim/faults")).json()["faults"]
    return sum(int(f["fired"]) for f in faults)


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A tiny loopback server that records each request's method, path and headers."""
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": await request.text(),
            }
        )
        return web.json_response({"access_token": "a", "expires_in": 60})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("operation", "request_kwargs", "version"),
    [
        ("get-contact", {"path_params": {"contactId": "c1"}}, "2021-07-28"),
        ("get-calendars", {"query": {"locationId": "L"}}, "2021-04-15"),
        ("send-a-new-message", {"body": {"type": "SMS", "contactId": "c"}}, "2021-04-15"),
        ("get-pipelines", {"query": {"locationId": "L"}}, "2021-07-28"),
        ("search-trigger-links", {"query": {"locationId": "L"}}, "2021-04-15"),  # links' odd one
        ("getFunnels", {"query": {"locationId": "L"}}, "2021-07-28"),  # no Version in spec
    ],
)
async def test_version_header_per_family_reaches_the_wire(
    echo: tuple[str, list[dict[str, Any]]], operation: str, request_kwargs: Any, version: str
) -> None:
    url, seen = echo
    async with GHLClient(
        tokens=StaticTokens(default="t"), options=ClientOptions(base_url=url)
    ) as g:
        await g.call(operation, resource_id="L", **request_kwargs)
    (request,) = seen
    assert request["headers"]["Version"] == version


async def test_typed_resources_send_their_family_version(
    echo: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = echo
    async with GHLClient(
        tokens=StaticTokens(default="t"), options=ClientOptions(base_url=url)
    ) as g:
        await g.calendars.list("L")
        await g.conversations.get_message("L", "m1")
        await g.contacts.get("L", "c1")
        await g.opportunities.get("L", "o1")
    versions = [(r["path"], r["headers"]["Version"]) for r in seen]
    assert versions == [
        ("/calendars/", "2021-04-15"),
        ("/conversations/messages/m1", "2021-04-15"),
        ("/contacts/c1", "2021-07-28"),
        ("/opportunities/o1", "2021-07-28"),
    ]


async def test_form_operations_are_form_encoded_on_the_wire(
    echo: tuple[str, list[dict[str, Any]]],
) -> None:
    url, seen = echo
    async with GHLClient(
        tokens=StaticTokens(default="t"), options=ClientOptions(base_url=url)
    ) as g:
        await g.call(
            "get-access-token",
            body={
                "client_id": "c",
                "client_secret": "s",
                "grant_type": "refresh_token",
                "refresh_token": "r",
                "user_type": "Location",
            },
        )
    (request,) = seen
    assert request["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert "grant_type=refresh_token" in request["body"]
    assert "Authorization" not in request["headers"]
