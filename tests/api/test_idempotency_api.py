"""The same Idempotency-Key never writes twice: the first outcome is returned."""

from __future__ import annotations

import asyncio

from tests.support.stack import Stack

CREATE = "/v1/actions/contacts.create"


async def _contacts(stack: Stack, email: str) -> int:
    found = await stack.runtime.ghl.contacts.search(
        stack.location_id, {"filters": [{"field": "email", "operator": "eq", "value": email}]}
    )
    return len(found["contacts"])


async def test_repeated_key_returns_the_first_result_and_writes_once(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    headers = {**stack.auth(key), "Idempotency-Key": "signup-7"}
    body = {"locationId": stack.location_id, "input": {"email": "once@example.com"}}
    first = await stack.http.post(stack.api_url + CREATE, headers=headers, json=body)
    again = await stack.http.post(stack.api_url + CREATE, headers=headers, json=body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert await _contacts(stack, "once@example.com") == 1


async def test_key_reused_for_other_input_is_refused(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    headers = {**stack.auth(key), "Idempotency-Key": "k-1"}
    ok = await stack.http.post(
        stack.api_url + CREATE,
        headers=headers,
        json={"locationId": stack.location_id, "input": {"email": "a@example.com"}},
    )
    assert ok.status_code == 200
    other = await stack.http.post(
        stack.api_url + CREATE,
        headers=headers,
        json={"locationId": stack.location_id, "input": {"email": "b@example.com"}},
    )
    assert other.status_code == 422
    assert "different request" in other.json()["error"]["message"]


async def test_concurrent_duplicates_write_once(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    headers = {**stack.auth(key), "Idempotency-Key": "burst-1"}
    body = {"locationId": stack.location_id, "input": {"email": "burst@example.com"}}
    results = await asyncio.gather(
        *(stack.http.post(stack.api_url + CREATE, headers=headers, json=body) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
    assert await _contacts(stack, "burst@example.com") == 1


async def test_keys_are_per_tenant(stack: Stack) -> None:
    a = await stack.connected_tenant("a")
    b = await stack.connected_tenant("b", stack.other_location_id)
    for api_key, location in ((a, stack.location_id), (b, stack.other_location_id)):
        resp = await stack.http.post(
            stack.api_url + CREATE,
            headers={**stack.auth(api_key), "Idempotency-Key": "shared-name"},
            json={"locationId": location, "input": {"email": "t@example.com"}},
        )
        assert resp.status_code == 200, resp.text


async def test_ghl_refusal_is_replayed_not_retried(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    body = {"locationId": stack.location_id, "input": {"email": "dup@example.com"}}
    assert (
        await stack.http.post(stack.api_url + CREATE, headers=stack.auth(key), json=body)
    ).status_code == 200
    headers = {**stack.auth(key), "Idempotency-Key": "dup-1"}
    first = await stack.http.post(
        stack.api_url + CREATE, headers=headers, json=body
    )  # GHL: duplicate
    again = await stack.http.post(stack.api_url + CREATE, headers=headers, json=body)
    assert first.status_code == 400, first.text
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "ghl_error"
