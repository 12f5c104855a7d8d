"""Private Integration Tokens as static connections: checked against GHL, sealed, rotated."""

from __future__ import annotations

from typing import Any

from tests.support.stack import Stack

PRIVATE = "/v1/connections/private"


async def _connect(stack: Stack, key: str, location: str, token: str) -> Any:
    return await stack.http.post(
        stack.api_url + PRIVATE,
        headers=stack.auth(key),
        json={"locationId": location, "token": token},
    )


async def test_a_pit_connects_works_and_rotates_in_place(stack: Stack) -> None:
    key = await stack.tenant("acme")
    pit = stack.seed["locations"][0]["pit"]
    made = await _connect(stack, key, stack.location_id, pit)
    assert made.status_code == 201, made.text
    conn = made.json()["connection"]
    assert conn["kind"] == "private" and conn["expiresAt"] is None
    assert conn["companyId"] == stack.seed["agency"]["companyId"]
    assert pit not in made.text
    run = await stack.http.post(
        stack.api_url + "/v1/actions/contacts.create",
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"email": "pit@example.com"}},
    )
    assert run.status_code == 200, run.text
    again = await _connect(stack, key, stack.location_id, pit)  # rotation: same row
    assert again.status_code == 201
    assert again.json()["connection"]["id"] == conn["id"]
    stored = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert stored is not None and stored.version == 2 and stored.refresh_token_sealed is None
    audit = await stack.http.get(
        stack.api_url + "/v1/audit", headers=stack.auth(key), params={"kind": "connection"}
    )
    entries = audit.json()["entries"]
    assert [e["operation"] for e in entries] == ["connected", "connected"]
    assert pit not in audit.text


async def test_tokens_ghl_refuses_are_not_stored(stack: Stack) -> None:
    key = await stack.tenant("acme")
    wrong = await _connect(stack, key, stack.location_id, "pit-not-a-real-token")
    assert wrong.status_code == 422 and "GHL refused" in wrong.text
    other = stack.seed["locations"][1]["pit"]  # a real PIT, of another sub-account
    mismatched = await _connect(stack, key, stack.location_id, other)
    assert mismatched.status_code == 422, mismatched.text
    assert other not in mismatched.text
    assert await stack.runtime.connections.list() == []


async def test_bad_requests_and_other_tenants_are_refused(stack: Stack) -> None:
    key, other_key = await stack.tenant("acme"), await stack.tenant("rival")
    pit = stack.seed["locations"][0]["pit"]
    for body in ({"locationId": stack.location_id}, {"token": pit},
                 {"locationId": stack.location_id, "token": pit, "extra": 1},
                 {"locationId": "", "token": pit}):  # fmt: skip
        resp = await stack.http.post(stack.api_url + PRIVATE, headers=stack.auth(key), json=body)
        assert resp.status_code == 422, body
        assert pit not in resp.text
    anonymous = await stack.http.post(
        stack.api_url + PRIVATE, json={"locationId": stack.location_id, "token": pit}
    )
    assert anonymous.status_code == 401
    assert (await _connect(stack, key, stack.location_id, pit)).status_code == 201
    taken = await _connect(stack, other_key, stack.location_id, pit)
    assert taken.status_code == 409
