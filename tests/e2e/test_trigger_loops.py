"""A subscription that re-triggers itself, end to end: held after the limit, not forever.

The rule: on ``ContactTagUpdate`` add the tag ``loop-{{webhookId}}``. Each tag it adds changes
the contact, the simulator sends GHL's ``ContactTagUpdate`` for it, and that matches the rule
again, with a new ``webhookId``: a real loop through the service, its action queue, the
simulated GHL API and its webhooks. With the loop guard at three per window the rule fires
three times for that contact and then stops; another contact still triggers it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.polling import eventually
from tests.support.signing import signer
from tests.support.stack import Stack, running_stack

LIMIT = 3
SETTINGS = {
    "outbound_allow_private": True,
    "subscription_loop_limit": LIMIT,
    "subscription_loop_window_s": 600,
}


@pytest.fixture(params=["sqlite", "postgresql", "postgresql+redis"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """Embedded (counts in the worker's memory) and with Redis (BullMQ queues; the counts
    in Redis, shared by every worker process)."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    redis = request.getfixturevalue("redis_url") if request.param.endswith("redis") else None
    keys = (signer().ed_pem, signer().rsa_pem)
    async with running_stack(
        url, tmp_path, redis_url=redis, extra_webhook_keys=keys, overrides=SETTINGS
    ) as s:
        yield s


async def _act(stack: Stack, key: str, action: str, **payload: Any) -> dict[str, Any]:
    resp = await stack.http.post(
        f"{stack.api_url}/v1/actions/{action}",
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": payload},
    )
    assert resp.status_code == 200, resp.text
    output: dict[str, Any] = resp.json()["output"]
    return output


async def _loop_tags(stack: Stack, key: str, contact_id: str) -> list[str]:
    contact = (await _act(stack, key, "contacts.get", contactId=contact_id))["contact"]
    return sorted(t for t in contact["tags"] if t.lower().startswith("loop-"))


async def test_a_rule_that_retriggers_itself_is_held_after_the_limit(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    resp = await stack.http.post(
        f"{stack.api_url}/v1/subscriptions",
        headers=stack.auth(key),
        json={
            "name": "tags itself",
            "eventTypes": ["ContactTagUpdate"],
            "target": {
                "kind": "action",
                "action": "contacts.add_tags",
                "input": {"contactId": "{{id}}", "tags": ["loop-{{webhookId}}"]},
            },
        },
    )
    assert resp.status_code == 201, resp.text
    sub_id = resp.json()["subscription"]["id"]
    looping = (await _act(stack, key, "contacts.create", email="loop@example.com"))["contact"]
    await _act(stack, key, "contacts.add_tags", contactId=looping["id"], tags=["start"])

    async def held() -> list[str] | None:
        tags = await _loop_tags(stack, key, looping["id"])
        return tags if len(tags) >= LIMIT else None

    assert len(await eventually(held, within=30)) == LIMIT
    await asyncio.sleep(2)  # a loop left alone would have added many more by now
    assert len(await _loop_tags(stack, key, looping["id"])) == LIMIT
    routed = [d for d in await stack.deliveries(key, sub_id) if d["status"] == "delivered"]
    assert len(routed) == LIMIT

    # The hold is for that rule on that contact only.
    other = (await _act(stack, key, "contacts.create", email="other@example.com"))["contact"]
    await _act(stack, key, "contacts.add_tags", contactId=other["id"], tags=["start"])

    async def tagged() -> list[str] | None:
        tags = await _loop_tags(stack, key, other["id"])
        return tags or None

    assert await eventually(tagged, within=30)
