"""The gateway checks, in GHL's order, with GHL's bodies (research/ghl-wire-facts.md §3)."""

from __future__ import annotations

import uuid

import pytest

from tests.simulator.conftest import VERSION, SimClient, install


def _trace(body: dict[str, object]) -> None:
    assert uuid.UUID(str(body.pop("traceId")))


async def _company_token(sim: SimClient) -> str:
    """An agency OAuth token (with contact scopes) from an agency install."""
    return str((await install(sim, userType="Company"))["access_token"])


async def test_missing_version_is_checked_before_auth(sim: SimClient) -> None:
    resp = await sim.http.get(f"/contacts/{'x' * 20}")
    body = resp.json()
    _trace(body)
    assert resp.status_code == 401
    assert body == {"statusCode": 401, "message": "version header was not found."}


@pytest.mark.parametrize("version", ["2021-04-15", "2021-07-28", "2023-02-21", "v3"])
async def test_every_supported_version_works_everywhere(sim: SimClient, version: str) -> None:
    resp = await sim.http.post(
        "/contacts/search",
        json={"locationId": sim.location_id, "pageLimit": 1},
        headers=sim.headers(version=version),
    )
    assert resp.status_code == 200


async def test_unknown_date_version_is_401_and_garbage_is_400(sim: SimClient) -> None:
    resp = await sim.call("GET", "/contacts/abc", headers={"Version": "2020-01-01"})
    assert resp.status_code == 401
    assert resp.json()["message"] == "version header is invalid"
    resp = await sim.call("GET", "/contacts/abc", headers={"Version": "latest"})
    assert resp.status_code == 400
    assert resp.json()["message"] == "Invalid API version segment 'latest' at position 0"


async def test_missing_authorization(sim: SimClient) -> None:
    resp = await sim.http.get("/contacts/abc", headers={"Version": VERSION})
    body = resp.json()
    _trace(body)
    assert (resp.status_code, body) == (
        401,
        {"statusCode": 401, "message": "No Authorization header found for authentication!"},
    )


async def test_unknown_oauth_token_and_pit(sim: SimClient) -> None:
    resp = await sim.call("GET", "/contacts/abc", token="eyJhbGciOi.garbage.token")
    assert (resp.status_code, resp.json()["message"]) == (401, "Invalid JWT")
    resp = await sim.call("GET", "/contacts/abc", token=f"pit-{uuid.uuid4()}")
    assert (resp.status_code, resp.json()["message"]) == (401, "Invalid Private Integration token")


async def test_scope_is_checked_before_location(sim: SimClient) -> None:
    # A location token granted without the contacts scopes.
    token = (await install(sim, scope="locations.readonly"))["access_token"]
    resp = await sim.call(
        "POST",
        "/contacts/search",
        token=token,
        json={"locationId": sim.other_location_id, "pageLimit": 1},
    )
    body = resp.json()
    _trace(body)
    assert (resp.status_code, body) == (
        401,
        {"statusCode": 401, "message": "The token is not authorized for this scope."},
    )


async def test_wrong_location_is_403(sim: SimClient) -> None:
    resp = await sim.call(
        "POST", "/contacts/search", json={"locationId": sim.other_location_id, "pageLimit": 1}
    )
    body = resp.json()
    _trace(body)
    assert (resp.status_code, body) == (
        403,
        {"statusCode": 403, "message": "The token does not have access to this location."},
    )


async def test_contact_of_another_location_is_403(sim: SimClient) -> None:
    found = await sim.call(
        "POST", "/contacts/search", token=sim.pit(1),
        json={"locationId": sim.other_location_id, "pageLimit": 1},
    )  # fmt: skip
    other_contact = found.json()["contacts"][0]["id"]
    resp = await sim.call("GET", f"/contacts/{other_contact}")
    assert resp.status_code == 403


async def test_company_token_on_location_only_operation(sim: SimClient) -> None:
    token = await _company_token(sim)
    resp = await sim.call(
        "POST",
        "/contacts/search",
        token=token,
        json={"locationId": sim.location_id, "pageLimit": 1},
    )
    assert resp.status_code == 401
    assert resp.json()["message"] == (
        "This authClass type is not allowed to access this scope. "
        "Please verify your IAM configuration if this is not the case."
    )


async def test_agency_pit_on_location_endpoint(sim: SimClient) -> None:
    resp = await sim.call(
        "POST",
        "/contacts/search",
        token=sim.seed["agency"]["pit"],
        json={"locationId": sim.location_id, "pageLimit": 1},
    )
    assert (resp.status_code, resp.json()["message"]) == (401, "Token's user type mismatch!")


async def test_location_pit_on_agency_only_operation(sim: SimClient) -> None:
    resp = await sim.call(
        "POST",
        "/oauth/locationToken",
        data={"companyId": sim.seed["agency"]["companyId"], "locationId": sim.location_id},
    )
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope"), ("PUT", "/contacts/search/duplicate"), ("PATCH", "/contacts/")],
)
async def test_unknown_route_is_express_404(sim: SimClient, method: str, path: str) -> None:
    resp = await sim.http.request(method, path)
    body = resp.json()
    _trace(body)
    assert (resp.status_code, body) == (
        404,
        {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"},
    )


async def test_path_without_trailing_slash_is_the_same_route(sim: SimClient) -> None:
    body = {"locationId": sim.location_id, "firstName": "Slash", "email": "slash@example.com"}
    assert (await sim.call("POST", "/contacts", json=body)).status_code == 201


async def test_422_messages_are_an_array(sim: SimClient) -> None:
    resp = await sim.call("POST", "/contacts/", json={"firstName": 7, "bogus": True})
    body = resp.json()
    _trace(body)
    assert resp.status_code == 422
    assert body["error"] == "Unprocessable Entity"
    assert body["message"] == [
        "property bogus should not exist",
        "firstName must be a string",
        "locationId must be a string",
        "locationId should not be empty",
    ]


async def test_malformed_json_is_400(sim: SimClient) -> None:
    resp = await sim.call(
        "POST", "/contacts/", content=b'{"a":', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "Bad Request"


async def test_every_body_has_its_own_trace_id(sim: SimClient) -> None:
    ids = set()
    for _ in range(3):
        resp = await sim.call(
            "POST", "/contacts/search", json={"locationId": sim.location_id, "pageLimit": 1}
        )
        ids.add(resp.json()["traceId"])
    ids.add((await sim.http.get("/nope")).json()["traceId"])
    assert len(ids) == 4


async def test_extra_locations_leave_the_default_seed_unchanged() -> None:
    import httpx

    from ghl_bridge.simulator import SimConfig, create_app

    async def seed(config: SimConfig) -> dict[str, object]:
        app = create_app(config)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sim"
        ) as c:
            return (await c.get("/_sim/seed")).json()  # type: ignore[no-any-return]

    default, many = await seed(SimConfig()), await seed(SimConfig(location_count=10))
    assert len(many["locations"]) == 10  # type: ignore[arg-type]
    assert many["locations"][:2] == default["locations"]  # type: ignore[index]
    assert many["app"] == default["app"] and many["agency"] == default["agency"]
