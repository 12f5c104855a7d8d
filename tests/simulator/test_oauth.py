"""OAuth: chooselocation, code exchange, rotation with the grace window, expiry, agency flows."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.simulator.conftest import (
    CALLBACK,
    SCOPES,
    FakeClock,
    SimClient,
    authorize,
    install,
    token_request,
)


async def search_with(sim: SimClient, token: str) -> int:
    resp = await sim.call(
        "POST",
        "/contacts/search",
        token=token,
        json={"locationId": sim.location_id, "pageLimit": 1},
    )
    return resp.status_code


@pytest.mark.parametrize("path", ["/oauth/chooselocation", "/v2/oauth/chooselocation"])
async def test_chooselocation_redirects_with_code_and_state(sim: SimClient, path: str) -> None:
    resp = await sim.http.get(
        path,
        params={
            "response_type": "code",
            "client_id": sim.seed["app"]["clientId"],
            "redirect_uri": f"{CALLBACK}?tenant=7",
            "scope": SCOPES,
            "state": "opaque-123",
        },
    )
    assert resp.status_code == 302
    target = urlsplit(resp.headers["location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    assert query["tenant"] == ["7"] and query["state"] == ["opaque-123"] and query["code"][0]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"response_type": "token"}, "response_type must be code"),
        ({"client_id": "nope"}, "Invalid client_id"),
        ({"scope": "contacts.readonly made.up"}, "Invalid scope: made.up"),
        ({"locationId": "x" * 20}, f"Location {'x' * 20} not found"),
    ],
)
async def test_chooselocation_rejects_bad_requests(
    sim: SimClient, override: dict[str, str], message: str
) -> None:
    params = {
        "response_type": "code",
        "client_id": sim.seed["app"]["clientId"],
        "redirect_uri": CALLBACK,
        "scope": SCOPES,
        **override,
    }
    resp = await sim.http.get("/oauth/chooselocation", params=params)
    assert (resp.status_code, resp.json()["message"]) == (400, message)


async def test_code_exchange_returns_the_spec_shape(sim: SimClient) -> None:
    body = await install(sim, locationId=sim.other_location_id)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86_399
    assert body["userType"] == "Location"
    assert body["locationId"] == sim.other_location_id
    assert body["companyId"] == sim.seed["agency"]["companyId"]
    assert body["scope"] == " ".join(sorted(SCOPES.split()))
    assert body["userId"] and body["refresh_token"] and body["traceId"]
    assert body["access_token"].count(".") == 2  # a JWT, hence GHL's "Invalid JWT"


async def test_code_is_single_use(sim: SimClient) -> None:
    code = await authorize(sim)
    assert (await token_request(sim, grant_type="authorization_code", code=code)).status_code == 200
    again = await token_request(sim, grant_type="authorization_code", code=code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_code_expires_and_redirect_must_match(sim: SimClient, clock: FakeClock) -> None:
    code = await authorize(sim)
    wrong = await token_request(
        sim, grant_type="authorization_code", code=code, redirect_uri="https://evil.test/cb"
    )
    assert wrong.json()["error"] == "invalid_grant"
    clock.advance(601)
    late = await token_request(sim, grant_type="authorization_code", code=code)
    assert late.json()["error_description"] == "Authorization code has expired"


async def test_refresh_rotates_and_grace_window_replays_the_same_pair(
    sim: SimClient, clock: FakeClock
) -> None:
    first = await install(sim)
    clock.advance(100)
    rotated = (
        await token_request(sim, grant_type="refresh_token", refresh_token=first["refresh_token"])
    ).json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]
    clock.advance(29)
    replay = await token_request(
        sim, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert replay.status_code == 200
    assert replay.json()["refresh_token"] == rotated["refresh_token"]
    assert replay.json()["access_token"] == rotated["access_token"]
    clock.advance(2)
    late = await token_request(
        sim, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"
    assert late.json()["error_description"]
    newest = await token_request(
        sim, grant_type="refresh_token", refresh_token=rotated["refresh_token"]
    )
    assert newest.status_code == 200
    assert await search_with(sim, newest.json()["access_token"]) == 200


async def test_concurrent_refreshes_get_one_pair(sim: SimClient) -> None:
    first = await install(sim)
    results = await asyncio.gather(
        *(
            token_request(sim, grant_type="refresh_token", refresh_token=first["refresh_token"])
            for _ in range(5)
        )
    )
    assert {r.json()["refresh_token"] for r in results} == {results[0].json()["refresh_token"]}


async def test_access_token_really_expires(sim: SimClient, clock: FakeClock) -> None:
    tokens = await install(sim)
    assert await search_with(sim, tokens["access_token"]) == 200
    clock.advance(86_398)
    assert await search_with(sim, tokens["access_token"]) == 200
    clock.advance(1)
    resp = await sim.call(
        "POST", "/contacts/search", token=tokens["access_token"],
        json={"locationId": sim.location_id, "pageLimit": 1},
    )  # fmt: skip
    assert (resp.status_code, resp.json()["message"]) == (401, "Invalid JWT")
    fresh = await token_request(
        sim, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert await search_with(sim, fresh.json()["access_token"]) == 200


async def test_configured_ttl(make_sim: Any) -> None:
    async with make_sim(access_token_ttl_s=60) as sim:
        assert (await install(sim))["expires_in"] == 60


@pytest.mark.parametrize(
    ("fields", "messages"),
    [
        ({}, ["grant_type must be a valid enum value", "grant_type should not be empty"]),
        ({"grant_type": "password"}, ["grant_type must be a valid enum value"]),
        ({"grant_type": "refresh_token"}, ["refresh_token should not be empty"]),
        ({"grant_type": "authorization_code"}, ["code should not be empty"]),
    ],
)
async def test_token_validation_is_422(
    sim: SimClient, fields: dict[str, str], messages: list[str]
) -> None:
    resp = await token_request(sim, **fields)
    assert resp.status_code == 422
    body = resp.json()
    assert (body["message"], body["error"]) == (messages, "Unprocessable Entity")


async def test_token_requires_client_credentials(sim: SimClient) -> None:
    resp = await sim.http.post("/oauth/token", data={"grant_type": "refresh_token"})
    assert resp.status_code == 422
    assert "client_id should not be empty" in resp.json()["message"]
    bad = await sim.http.post(
        "/oauth/token",
        data={
            "client_id": sim.seed["app"]["clientId"],
            "client_secret": "wrong",
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    )
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")


async def test_v3_camel_case_fields_are_accepted(sim: SimClient) -> None:
    first = await install(sim)
    app = sim.seed["app"]
    resp = await sim.http.post(
        "/oauth/token",
        json={
            "clientId": app["clientId"],
            "clientSecret": app["clientSecret"],
            "grantType": "refresh_token",
            "refreshToken": first["refresh_token"],
        },
    )
    assert resp.status_code == 200


async def test_agency_install_location_token_and_installed_locations(sim: SimClient) -> None:
    company = await install(sim, userType="Company")
    assert company["userType"] == "Company" and "locationId" not in company
    assert sorted(company["approvedLocations"]) == sorted(
        loc["id"] for loc in sim.seed["locations"]
    )
    token = company["access_token"]
    company_id = sim.seed["agency"]["companyId"]
    minted = await sim.call(
        "POST", "/oauth/locationToken", token=token,
        data={"companyId": company_id, "locationId": sim.location_id},
    )  # fmt: skip
    assert minted.status_code == 200, minted.text
    assert "refresh_token" not in minted.json()
    assert minted.json()["locationId"] == sim.location_id
    assert await search_with(sim, minted.json()["access_token"]) == 200
    listed = await sim.call(
        "GET", "/oauth/installedLocations", token=token,
        params={"companyId": company_id, "appId": sim.seed["app"]["appId"]},
    )  # fmt: skip
    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    assert all(loc["isInstalled"] for loc in listed.json()["locations"])


async def test_location_token_refuses_foreign_company_and_missing_fields(sim: SimClient) -> None:
    token = (await install(sim, userType="Company"))["access_token"]
    foreign = await sim.call(
        "POST", "/oauth/locationToken", token=token,
        data={"companyId": "y" * 20, "locationId": sim.location_id},
    )  # fmt: skip
    assert foreign.status_code == 403
    missing = await sim.call("POST", "/oauth/locationToken", token=token, data={"companyId": "x"})
    assert missing.status_code == 422
    assert "locationId should not be empty" in missing.json()["message"]
    no_query = await sim.call("GET", "/oauth/installedLocations", token=token)
    assert no_query.status_code == 422


async def test_location_install_lists_only_that_location(sim: SimClient) -> None:
    await install(sim, locationId=sim.other_location_id)
    company = await install(sim, userType="Company")
    listed = await sim.call(
        "GET", "/oauth/installedLocations", token=company["access_token"],
        params={"companyId": sim.seed["agency"]["companyId"], "appId": sim.seed["app"]["appId"],
                "locationId": sim.other_location_id},
    )  # fmt: skip
    assert [loc["_id"] for loc in listed.json()["locations"]] == [sim.other_location_id]


async def test_reconnect_issues_an_exchangeable_code(sim: SimClient) -> None:
    await install(sim, locationId=sim.location_id)
    app = sim.seed["app"]
    resp = await sim.http.post(
        "/oauth/reconnect",
        json={
            "clientKey": app["clientId"],
            "clientSecret": app["clientSecret"],
            "locationId": sim.location_id,
        },
    )
    assert resp.status_code == 200
    assert {"authorizationCode", "expiresAt", "traceId"} <= set(resp.json())
    tokens = await token_request(
        sim, grant_type="authorization_code", code=resp.json()["authorizationCode"]
    )
    assert tokens.json()["locationId"] == sim.location_id
    assert await search_with(sim, tokens.json()["access_token"]) == 200


async def test_reconnect_rejects_bad_client_and_uninstalled_location(sim: SimClient) -> None:
    app = sim.seed["app"]
    bad = await sim.http.post(
        "/oauth/reconnect",
        json={"clientKey": app["clientId"], "clientSecret": "nope", "locationId": sim.location_id},
    )
    assert bad.status_code == 401
    absent = await sim.http.post(
        "/oauth/reconnect",
        json={
            "clientKey": app["clientId"],
            "clientSecret": app["clientSecret"],
            "locationId": sim.location_id,
        },
    )
    assert absent.status_code == 400
