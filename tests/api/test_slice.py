"""The thin slice end to end, in every deployment mode: an action creates a contact in the
simulator, the simulator sends a signed ContactCreate webhook, the service verifies, stores and
processes it, and the tenant sees it in /v1/events."""

from __future__ import annotations

from typing import Any

from tests.support.polling import eventually
from tests.support.stack import Stack


async def _events(stack: Stack, key: str, **params: str) -> list[dict[str, Any]]:
    resp = await stack.http.get(
        f"{stack.api_url}/v1/events", params=params, headers=stack.auth(key)
    )
    assert resp.status_code == 200, resp.text
    events: list[dict[str, Any]] = resp.json()["events"]
    return events


async def test_action_to_processed_webhook(any_stack: Stack) -> None:
    stack = any_stack
    key = await stack.connected_tenant("acme")
    resp = await stack.http.post(
        f"{stack.api_url}/v1/actions/contacts.create",
        headers=stack.auth(key),
        json={
            "locationId": stack.location_id,
            "input": {"firstName": "Ada", "email": "ada@example.com"},
        },
    )
    assert resp.status_code == 200, resp.text
    contact = resp.json()["output"]["contact"]
    assert contact["id"]

    async def processed() -> dict[str, Any] | None:
        for event in await _events(stack, key, locationId=stack.location_id):
            if event["type"] == "ContactCreate" and event["status"] == "processed":
                return event
        return None

    event = await eventually(processed)
    stored = await stack.runtime.inbox.get(event["id"])
    assert stored is not None
    assert contact["id"] in stored.payload  # the raw body as GHL sent it


async def test_async_mode_runs_through_the_queue(any_stack: Stack) -> None:
    stack = any_stack
    key = await stack.connected_tenant("acme")
    headers = {**stack.auth(key), "Idempotency-Key": "order-42"}
    body = {
        "locationId": stack.location_id,
        "input": {"firstName": "Grace", "email": "g@example.com"},
    }
    first = await stack.http.post(
        f"{stack.api_url}/v1/actions/contacts.create",
        params={"mode": "async"},
        headers=headers,
        json=body,
    )
    assert first.status_code == 202, first.text
    job_id = first.json()["jobId"]
    again = await stack.http.post(
        f"{stack.api_url}/v1/actions/contacts.create",
        params={"mode": "async"},
        headers=headers,
        json=body,
    )
    assert again.json()["jobId"] == job_id  # same Idempotency-Key, same job: it runs once

    async def done() -> dict[str, Any] | None:
        r = await stack.http.get(f"{stack.api_url}/v1/jobs/{job_id}", headers=stack.auth(key))
        data: dict[str, Any] = r.json()
        return data if data.get("state") in ("completed", "failed") else None

    job = await eventually(done)
    assert job["state"] == "completed", job
    assert job["result"]["contact"]["id"]

    other = await stack.tenant("other")
    r = await stack.http.get(f"{stack.api_url}/v1/jobs/{job_id}", headers=stack.auth(other))
    assert r.status_code == 404  # another tenant's job is invisible
