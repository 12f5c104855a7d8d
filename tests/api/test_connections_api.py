"""OAuth connect, sealed storage, refresh single-flight and the re-authorization path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, select
from tests.support.signing import signer
from tests.support.stack import Stack, running_stack

from ghl_bridge.oauth.refresher import ProactiveRefresher
from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.simulator import SimConfig

CREATE = "/v1/actions/contacts.create"


async def _create(stack: Stack, key: str, n: int) -> int:
    resp = await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"email": f"c{n}@example.com"}},
    )
    return resp.status_code


async def _plaintext_tokens(stack: Stack) -> list[str]:
    tokens = []
    for conn in await stack.runtime.connections.list():
        tokens.append(
            stack.runtime.vault.unseal(
                conn.access_token_sealed, context=seal_context(conn.resource_id, "access")
            )
        )
        if conn.refresh_token_sealed:
            tokens.append(
                stack.runtime.vault.unseal(
                    conn.refresh_token_sealed, context=seal_context(conn.resource_id, "refresh")
                )
            )
    return tokens


async def _dump(stack: Stack) -> str:
    """Every value of every table, as text: what a database dump would contain."""
    meta = MetaData()
    async with stack.runtime.engine.connect() as conn:
        await conn.run_sync(meta.reflect)
        parts = []
        for table in meta.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


async def test_connect_stores_sealed_tokens_and_lists_no_secrets(any_stack: Stack) -> None:
    stack = any_stack
    key = await stack.connected_tenant("acme")
    resp = await stack.http.get(stack.api_url + "/v1/connections", headers=stack.auth(key))
    assert resp.status_code == 200
    [conn] = resp.json()["connections"]
    assert conn["locationId"] == stack.location_id and conn["status"] == "active"
    tokens = await _plaintext_tokens(stack)
    assert len(tokens) == 2
    dump = await _dump(stack)
    assert stack.location_id in dump  # the dump is real
    for token in tokens:
        assert token not in dump
        assert token not in resp.text


@pytest.mark.parametrize(
    "params",
    [
        {"code": "abc", "state": "forged.state"},
        {"state": "x"},
        {"code": "abc"},
    ],
)
async def test_bad_callbacks_are_422_and_store_nothing(
    stack: Stack, params: dict[str, str]
) -> None:
    resp = await stack.http.get(stack.api_url + "/oauth/callback", params=params)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("text/html")
    assert "<h1>Not connected</h1>" in resp.text
    assert await stack.runtime.connections.list() == []


async def test_expired_state_and_denied_consent_are_explained_pages(stack: Stack) -> None:
    key = await stack.tenant("acme")
    auth = await stack.http.post(
        stack.api_url + "/v1/connections/authorize", headers=stack.auth(key)
    )
    state = dict(httpx.URL(auth.json()["url"]).params)["state"]
    denied = await stack.http.get(
        stack.api_url + "/oauth/callback", params={"error": "access_denied", "state": state}
    )
    assert denied.status_code == 400 and "cancelled" in denied.text
    body, _, mac = state.partition(".")
    tampered = await stack.http.get(
        stack.api_url + "/oauth/callback", params={"code": "c", "state": f"{body}x.{mac}"}
    )
    assert tampered.status_code == 422 and "signature" in tampered.text
    assert await stack.runtime.connections.list() == []


async def test_replayed_code_is_refused(stack: Stack) -> None:
    key = await stack.tenant("acme")
    auth = await stack.http.post(
        stack.api_url + "/v1/connections/authorize", headers=stack.auth(key)
    )
    redirect = await stack.http.get(auth.json()["url"] + f"&locationId={stack.location_id}")
    callback = redirect.headers["location"]
    first = await stack.http.get(callback)
    second = await stack.http.get(callback)
    assert first.status_code == 200
    assert second.status_code == 422
    assert "already used" in second.text  # the state is single-use: GHL is not even asked


async def test_location_of_another_tenant_cannot_be_taken_over(stack: Stack) -> None:
    await stack.connected_tenant("first")
    key = await stack.tenant("second")
    auth = await stack.http.post(
        stack.api_url + "/v1/connections/authorize", headers=stack.auth(key)
    )
    redirect = await stack.http.get(auth.json()["url"] + f"&locationId={stack.location_id}")
    resp = await stack.http.get(redirect.headers["location"])
    assert resp.status_code == 409
    [conn] = await stack.runtime.connections.list()
    owner = await stack.runtime.tenants.get_by_name("first")
    assert owner is not None and conn.tenant_id == owner.id


@pytest.fixture
async def short_token_stack(sqlite_url: str, tmp_path: Path) -> Any:
    # Tokens live 301 s and we refresh 300 s before expiry: fresh for ~1 s, then due.
    sim = SimConfig(access_token_ttl_s=301, refresh_grace_s=0.0)
    async with running_stack(
        sqlite_url, tmp_path, sim=sim, extra_webhook_keys=(signer().ed_pem, "")
    ) as s:
        yield s


async def test_concurrent_calls_refresh_exactly_once(short_token_stack: Stack) -> None:
    stack = short_token_stack
    key = await stack.connected_tenant("acme")
    before = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert before is not None
    await asyncio.sleep(1.2)
    statuses = await asyncio.gather(*(_create(stack, key, n) for n in range(10)))
    assert statuses == [200] * 10
    after = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert after is not None
    assert after.version == before.version + 1  # one rotation, persisted
    assert after.refresh_token_sealed != before.refresh_token_sealed


async def _burn_refresh_token(stack: Stack) -> None:
    await stack.burn_refresh_token()
    await asyncio.sleep(1.2)  # our access token is now due, and our refresh token is dead


async def test_burnt_refresh_token_recovers_through_reconnect(short_token_stack: Stack) -> None:
    stack = short_token_stack
    key = await stack.connected_tenant("acme")
    before = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert before is not None
    await _burn_refresh_token(stack)
    resp = await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"email": "late@example.com"}},
    )
    assert resp.status_code == 200, resp.text  # the customer never had to reinstall
    after = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert after is not None and after.status == "active" and after.version == before.version + 1
    audit = await stack.http.get(
        stack.api_url + "/v1/audit", headers=stack.auth(key), params={"kind": "connection"}
    )
    assert "reconnected" in [e["operation"] for e in audit.json()["entries"]]


async def test_burnt_refresh_token_without_reconnect_marks_needs_reauth(
    short_token_stack: Stack,
) -> None:
    stack = short_token_stack
    key = await stack.connected_tenant("acme")
    await _burn_refresh_token(stack)
    refuse = {"kind": "status", "status": 400, "count": 5,
              "match": {"method": "POST", "pathPrefix": "/oauth/reconnect"}}  # fmt: skip
    (await stack.http.post(stack.sim_url + "/_sim/faults", json=refuse)).raise_for_status()
    resp = await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"email": "late@example.com"}},
    )
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "reauthorization_required"
    latest = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert latest is not None and latest.status == "needs_reauth"
    # ...and the tenant's event inbox says so, for a workflow to tell a person.
    events = await stack.http.get(stack.api_url + "/v1/events", headers=stack.auth(key))
    [raised] = [e for e in events.json()["events"] if e["type"] == "connection.needs_reauth"]
    assert raised["locationId"] == stack.location_id
    again = await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"email": "later@example.com"}},
    )
    assert again.status_code == 409  # a clear error; no second event for the same loss
    events = await stack.http.get(stack.api_url + "/v1/events", headers=stack.auth(key))
    assert [e["type"] for e in events.json()["events"]].count("connection.needs_reauth") == 1


async def test_proactive_refresh_renews_only_due_connections(short_token_stack: Stack) -> None:
    stack = short_token_stack
    await stack.connected_tenant("acme")
    before = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert before is not None
    refresher = ProactiveRefresher(stack.runtime.connections, stack.runtime.tokens, interval_s=0)
    assert await refresher.refresh_due() == 0  # 301 s left, the margin is 300 s: not yet
    await asyncio.sleep(1.2)
    assert await refresher.refresh_due() == 1
    after = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert after is not None and after.version == before.version + 1
    assert after.refresh_token_sealed != before.refresh_token_sealed
    assert await refresher.refresh_due() == 0  # renewed: 301 s left again


async def test_a_401_refreshes_exactly_once_and_replays(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    before = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert before is not None
    journal = f"{stack.sim_url}/_sim/journal"
    exchanges = (await stack.http.get(journal)).json()["posts"].get("get-access-token", 0)
    # GHL refuses our (still fresh-looking) access token once, as after a revocation.
    refuse = {"kind": "status", "status": 401, "count": 1,
              "match": {"method": "POST", "pathPrefix": "/contacts/"}}  # fmt: skip
    (await stack.http.post(stack.sim_url + "/_sim/faults", json=refuse)).raise_for_status()
    assert await _create(stack, key, 1) == 200  # refreshed, then the call replayed
    after = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert after is not None and after.version == before.version + 1
    posts = (await stack.http.get(journal)).json()["posts"]
    assert posts["get-access-token"] == exchanges + 1  # exactly one refresh
    assert posts["create-contact"] == 1  # the replay; the refused attempt never reached it
