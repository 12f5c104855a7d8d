"""Every route, called with another tenant's API key against the first tenant's data, answers
403 or 404 — or answers only with the caller's own data — and leaks nothing of the first
tenant: no location, contact, job, event or connection id of theirs appears in any body.

The walk is exhaustive by construction: the test fails when the app gains a route this table
does not cover, so a new route cannot skip the tenancy check.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import SecretStr
from starlette.routing import Route
from tests.support.polling import eventually
from tests.support.stack import Stack, running_stack

from ghl_bridge.api.app import create_app

ADMIN = "admin-token-for-the-isolation-test-0123456789"


@dataclass
class World:
    stack: Stack
    key_a: str
    key_b: str
    secrets_of_a: list[str]  # ids that must never reach tenant B
    job_a: str
    location_a: str
    connection_a: str


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    overrides = {"admin_token": SecretStr(ADMIN)}
    async with running_stack(sqlite_url, tmp_path, overrides=overrides) as stack:
        key_a = await stack.connected_tenant("tenant-a")
        key_b = await stack.connected_tenant("tenant-b", stack.other_location_id)
        run = f"{stack.api_url}/v1/actions/contacts.create"
        body = {"locationId": stack.location_id, "input": {"email": "only-a@example.com"}}
        made = await stack.http.post(run, headers=stack.auth(key_a), json=body)
        assert made.status_code == 200, made.text
        contact_a = made.json()["output"]["contact"]["id"]
        queued = await stack.http.post(
            run + "?mode=async",
            headers=stack.auth(key_a),
            json={**body, "input": {"email": "queued-a@example.com"}},
        )
        job_a = queued.json()["jobId"]

        async def events_of_a() -> list[dict[str, Any]] | None:
            resp = await stack.http.get(f"{stack.api_url}/v1/events", headers=stack.auth(key_a))
            rows: list[dict[str, Any]] = resp.json()["events"]
            return rows or None

        events = await eventually(events_of_a)
        [conn_a] = [
            c for c in await stack.runtime.connections.list() if c.location_id == stack.location_id
        ]
        secrets = [stack.location_id, contact_a, job_a, conn_a.id, "only-a@example.com"]
        secrets += [e["id"] for e in events] + [e["webhookId"] for e in events]
        yield World(stack, key_a, key_b, secrets, job_a, stack.location_id, conn_a.id)


Call = Callable[[World, httpx.AsyncClient], Awaitable[httpx.Response]]


def _b(world: World) -> dict[str, str]:
    return world.stack.auth(world.key_b)


async def _run_on_a(w: World, http: httpx.AsyncClient, mode: str) -> httpx.Response:
    body = {"locationId": w.location_a, "input": {"email": "b-into-a@example.com"}}
    url = f"{w.stack.api_url}/v1/actions/contacts.create?mode={mode}"
    return await http.post(url, headers=_b(w), json=body)


async def _key_ids_of_a(w: World) -> list[str]:
    tenant_a = await w.stack.runtime.tenants.get_by_name("tenant-a")
    assert tenant_a is not None
    return [k.id for k in await w.stack.runtime.tenants.list_keys(tenant_a.id)]


async def _list_keys_as_b(w: World, http: httpx.AsyncClient) -> httpx.Response:
    resp = await http.get(f"{w.stack.api_url}/v1/keys", headers=_b(w))
    assert not [k for k in await _key_ids_of_a(w) if k in resp.text], "B listed A's keys"
    return resp


async def _revoke_a_key_as_b(w: World, http: httpx.AsyncClient) -> httpx.Response:
    [key_a] = await _key_ids_of_a(w)
    resp = await http.delete(f"{w.stack.api_url}/v1/keys/{key_a}", headers=_b(w))
    assert await w.stack.runtime.tenants.authenticate(w.key_a) is not None, "B revoked A's key"
    return resp


async def _replay_an_event_of_a_as_b(w: World, http: httpx.AsyncClient) -> httpx.Response:
    tenant_a = await w.stack.runtime.tenants.get_by_name("tenant-a")
    assert tenant_a is not None
    [event, *_] = await w.stack.runtime.inbox.list(tenant_id=tenant_a.id)
    resp = await http.post(f"{w.stack.api_url}/v1/events/{event.id}/replay", headers=_b(w))
    after = await w.stack.runtime.inbox.get(event.id)
    assert after is not None and after.replays == event.replays, "B replayed A's event"
    return resp


async def _subscription_of_a(w: World) -> tuple[str, str]:
    """A subscription of A (an action target: no URL to reach) and a delivery routed to it."""
    target = {"kind": "action", "action": "contacts.add_tags", "input": {"contactId": "x"}}
    made = await w.stack.http.post(
        f"{w.stack.api_url}/v1/subscriptions",
        headers=w.stack.auth(w.key_a),
        json={"name": "a", "eventTypes": ["NoteCreate"], "target": target},
    )
    assert made.status_code == 201, made.text
    sub_id = made.json()["subscription"]["id"]
    tenant_a = await w.stack.runtime.tenants.get_by_name("tenant-a")
    assert tenant_a is not None
    [event, *_] = await w.stack.runtime.inbox.list(tenant_id=tenant_a.id)
    routed = await w.stack.runtime.subscriptions.deliveries.route(
        tenant_id=tenant_a.id, event_id=event.id, event_type="NoteCreate", subscription_ids=[sub_id]
    )
    [delivery] = [d for d in routed if d.subscription_id == sub_id]
    return sub_id, delivery.id


async def _on_a_subscription(
    w: World, http: httpx.AsyncClient, method: str, suffix: str = ""
) -> httpx.Response:
    sub_id, _ = await _subscription_of_a(w)
    url = f"{w.stack.api_url}/v1/subscriptions/{sub_id}{suffix}"
    resp = await http.request(method, url, headers=_b(w))
    assert await w.stack.runtime.subscriptions.repo.get(sub_id) is not None, "B deleted A's"
    return resp


async def _change_a_subscription_of_a_as_b(w: World, http: httpx.AsyncClient) -> httpx.Response:
    """A PATCH with a body (an empty one would be 422 before the tenant check could show)."""
    sub_id, _ = await _subscription_of_a(w)
    url = f"{w.stack.api_url}/v1/subscriptions/{sub_id}"
    resp = await http.patch(url, headers=_b(w), json={"name": "b's", "active": False})
    after = await w.stack.runtime.subscriptions.repo.get(sub_id)
    assert after is not None and after.active and after.name == "a", "B changed A's subscription"
    return resp


async def _replay_a_delivery_of_a_as_b(w: World, http: httpx.AsyncClient) -> httpx.Response:
    _, delivery_id = await _subscription_of_a(w)
    url = f"{w.stack.api_url}/v1/deliveries/{delivery_id}/replay"
    resp = await http.post(url, headers=_b(w))
    after = await w.stack.runtime.subscriptions.deliveries.get(delivery_id)
    assert after is not None and after.generation == 1, "B replayed A's delivery"
    return resp


async def _list_subscriptions_as_b(w: World, http: httpx.AsyncClient) -> httpx.Response:
    sub_id, _ = await _subscription_of_a(w)
    resp = await http.get(f"{w.stack.api_url}/v1/subscriptions", headers=_b(w))
    assert sub_id not in resp.text, "B listed A's subscription"
    return resp


# (method, path) → (how tenant B calls it against tenant A's data, the statuses allowed)
CASES: dict[tuple[str, str], tuple[Call, set[int]]] = {
    ("GET", "/healthz"): (lambda w, h: h.get(f"{w.stack.api_url}/healthz"), {200}),
    ("GET", "/readyz"): (lambda w, h: h.get(f"{w.stack.api_url}/readyz"), {200}),
    ("GET", "/metrics"): (
        lambda w, h: h.get(f"{w.stack.api_url}/metrics", headers=_b(w)),
        {401},  # a tenant key is not the admin token; the labels name every location
    ),
    ("GET", "/v1/actions"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/actions", headers=_b(w)),
        {200},  # the catalogue is the same for everyone
    ),
    ("GET", "/v1/actions/{name}"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/actions/contacts.create", headers=_b(w)),
        {200},
    ),
    ("POST", "/v1/actions/{name}"): (
        lambda w, h: _run_on_a(w, h, "sync"),
        {403},
    ),
    ("GET", "/v1/jobs/{job_id}"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/jobs/{w.job_a}", headers=_b(w)),
        {404},
    ),
    ("GET", "/v1/connections"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/connections", headers=_b(w)),
        {200},  # B's own connection only
    ),
    ("POST", "/v1/connections/authorize"): (
        lambda w, h: h.post(f"{w.stack.api_url}/v1/connections/authorize", headers=_b(w)),
        {200},  # a URL whose state is bound to B
    ),
    ("GET", "/v1/connections/{connection_id}/locations"): (
        lambda w, h: h.get(
            f"{w.stack.api_url}/v1/connections/{w.connection_a}/locations", headers=_b(w)
        ),
        {404},  # A's connection is no connection at all to B
    ),
    ("POST", "/v1/connections/private"): (
        # Even holding A's token, B cannot take A's sub-account over.
        lambda w, h: h.post(
            f"{w.stack.api_url}/v1/connections/private",
            headers=_b(w),
            json={"locationId": w.location_a, "token": w.stack.seed["locations"][0]["pit"]},
        ),
        {409},
    ),
    ("GET", "/oauth/callback"): (
        # No key here: the signed state names the tenant, and B cannot forge A's.
        lambda w, h: h.get(
            f"{w.stack.api_url}/oauth/callback", params={"code": "x", "state": "forged.state"}
        ),
        {422},
    ),
    ("GET", "/v1/events"): (
        lambda w, h: h.get(
            f"{w.stack.api_url}/v1/events",
            headers=_b(w),
            params={"locationId": w.location_a},
        ),
        {200},  # filtered to B's events: none
    ),
    ("POST", "/v1/events/{event_id}/replay"): (_replay_an_event_of_a_as_b, {404}),
    ("GET", "/v1/dead-letters"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/dead-letters", headers=_b(w)),
        {200},  # B's own dead letters only
    ),
    ("GET", "/v1/subscriptions"): (_list_subscriptions_as_b, {200}),  # B's own only
    ("POST", "/v1/subscriptions"): (
        lambda w, h: h.post(
            f"{w.stack.api_url}/v1/subscriptions",
            headers=_b(w),
            json={
                "name": "b",
                "eventTypes": ["ContactCreate"],
                "target": {"kind": "action", "action": "contacts.get", "input": {}},
            },
        ),
        {201},  # a subscription of B's, fed by B's events only
    ),
    ("GET", "/v1/subscriptions/{subscription_id}"): (
        lambda w, h: _on_a_subscription(w, h, "GET"),
        {404},
    ),
    ("DELETE", "/v1/subscriptions/{subscription_id}"): (
        lambda w, h: _on_a_subscription(w, h, "DELETE"),
        {404},
    ),
    ("PATCH", "/v1/subscriptions/{subscription_id}"): (_change_a_subscription_of_a_as_b, {404}),
    ("POST", "/v1/subscriptions/{subscription_id}/rotate-secret"): (
        lambda w, h: _on_a_subscription(w, h, "POST", "/rotate-secret"),
        {404},
    ),
    ("GET", "/v1/subscriptions/{subscription_id}/deliveries"): (
        lambda w, h: _on_a_subscription(w, h, "GET", "/deliveries"),
        {404},
    ),
    ("POST", "/v1/deliveries/{delivery_id}/replay"): (_replay_a_delivery_of_a_as_b, {404}),
    ("GET", "/v1/triggers"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/triggers", headers=_b(w)),
        {200},  # the same catalogue for everyone
    ),
    ("GET", "/v1/triggers/{event_type}"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/triggers/ContactCreate", headers=_b(w)),
        {200},
    ),
    ("GET", "/v1/audit"): (
        lambda w, h: h.get(f"{w.stack.api_url}/v1/audit", headers=_b(w)),
        {200},  # B's own connect and calls only: A's location never appears
    ),
    ("GET", "/v1/keys"): (_list_keys_as_b, {200}),  # B's own keys only
    ("POST", "/v1/keys"): (
        lambda w, h: h.post(f"{w.stack.api_url}/v1/keys", headers=_b(w), json={"scopes": ["read"]}),
        {201},  # a key of B's
    ),
    ("DELETE", "/v1/keys/{key_id}"): (_revoke_a_key_as_b, {404}),
    ("POST", "/webhooks/ghl"): (
        lambda w, h: h.post(f"{w.stack.api_url}/webhooks/ghl", headers=_b(w), content=b"{}"),
        {401},  # webhooks authenticate by GHL's signature, never by a tenant key
    ),
    ("POST", "/webhooks/ghl/{location_id}"): (
        lambda w, h: h.post(
            f"{w.stack.api_url}/webhooks/ghl/{w.location_a}", headers=_b(w), content=b"{}"
        ),
        {401},
    ),
}


def _routes() -> set[tuple[str, str]]:
    """Every (method, path) the app serves, the included routers' routes included."""
    found: set[tuple[str, str]] = set()
    pending: list[Any] = list(create_app().routes)
    while pending:
        route = pending.pop()
        original = getattr(route, "original_router", None)  # FastAPI's included router
        if original is not None:  # its routes carry the router's prefix in their paths
            pending += list(original.routes)
            continue
        if isinstance(route, APIRoute | Route) and route.path not in _FRAMEWORK:
            found |= {(m, route.path) for m in (route.methods or ()) if m != "HEAD"}
    return found


_FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_every_route_has_an_isolation_case() -> None:
    assert _routes() == set(CASES)


async def test_another_tenant_sees_nothing_of_the_first(world: World) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        for (method, path), (call, allowed) in sorted(CASES.items()):
            resp = await call(world, http)
            assert resp.status_code in allowed, f"{method} {path}: {resp.status_code} {resp.text}"
            sent = str(resp.request.url) + resp.request.content.decode()
            # An id B itself sent (and so already knew) may be echoed; nothing else of A's.
            leaked = [s for s in world.secrets_of_a if s in resp.text and s not in sent]
            assert leaked == [], f"{method} {path} leaked {leaked}"
        queued = await _run_on_a(world, http, "async")
        assert queued.status_code == 403, queued.text
    # Nothing B tried landed in A's account.
    await asyncio.sleep(0.2)
    found = await world.stack.http.get(
        f"{world.stack.sim_url}/contacts/search/duplicate",
        params={"locationId": world.location_a, "email": "b-into-a@example.com"},
        headers={
            "Authorization": f"Bearer {world.stack.seed['locations'][0]['pit']}",
            "Version": "2021-07-28",
        },
    )
    assert found.json()["contact"] is None
