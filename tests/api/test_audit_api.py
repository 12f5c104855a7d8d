"""GET /v1/audit over the running stack: connects, GHL calls and connection changes, each seen
only by its own tenant, with status, latency and traceId — and never a token or a body."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.support.polling import eventually
from tests.support.signing import event, signer
from tests.support.stack import Stack, running_stack

from ghl_bridge.oauth.tokens import seal_context
from ghl_bridge.simulator import SimConfig
from ghl_bridge.store.models import AuditRecord

CREATE = "/v1/actions/contacts.create"
AUDIT = "/v1/audit"
EMAIL = "audited.person@example.com"


async def _create(stack: Stack, key: str, email: str = EMAIL) -> int:
    resp = await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": {"email": email}},
    )
    return resp.status_code


async def _audit(stack: Stack, key: str, **params: Any) -> dict[str, Any]:
    resp = await stack.http.get(stack.api_url + AUDIT, headers=stack.auth(key), params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _plaintext_tokens(stack: Stack) -> list[str]:
    tokens = []
    for conn in await stack.runtime.connections.list():
        for which, sealed in (
            ("access", conn.access_token_sealed),
            ("refresh", conn.refresh_token_sealed),
        ):
            if sealed:
                context = seal_context(conn.resource_id, which)
                tokens.append(stack.runtime.vault.unseal(sealed, context=context))
    return tokens


async def _stored_rows(stack: Stack) -> str:
    await stack.runtime.audit.flush()
    async with stack.runtime.sessions() as session:
        rows = (await session.execute(select(AuditRecord.__table__))).all()
    return "\n".join(repr(tuple(row)) for row in rows)


async def test_connect_and_call_are_audited_for_their_tenant_only(any_stack: Stack) -> None:
    stack = any_stack
    key = await stack.connected_tenant("acme")
    other = await stack.connected_tenant("globex", stack.other_location_id)
    assert await _create(stack, key) == 200

    body = await _audit(stack, key)
    entries = body["entries"]
    assert body["nextCursor"] is None
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    [call] = [e for e in entries if e["operation"] == "create-contact"]
    assert call["kind"] == "ghl_call" and call["status"] == "201"
    assert call["locationId"] == stack.location_id
    assert call["traceId"] and call["requestId"] and call["attempt"] == 1
    assert call["latencyMs"] is not None and call["latencyMs"] > 0
    assert call["actor"] == f"key:{key[:12]}"
    [connected] = [e for e in entries if e["kind"] == "connection"]
    assert (connected["operation"], connected["status"], connected["actor"]) == (
        "connected",
        "active",
        "oauth",
    )
    assert connected["locationId"] == stack.location_id
    # The code exchange names no location; the signed state tells whose it was.
    [exchange] = [e for e in entries if e["operation"] == "get-access-token"]
    assert (exchange["actor"], exchange["status"]) == ("oauth", "200")

    # Nothing secret and nothing of the bodies, in the answer or in the table.
    stored = await _stored_rows(stack)
    assert stack.location_id in stored  # the dump is real
    secrets = [*await _plaintext_tokens(stack), key, other, EMAIL]
    assert len(secrets) == 7
    for secret in secrets:
        assert (
            secret
            not in (await stack.http.get(stack.api_url + AUDIT, headers=stack.auth(key))).text
        )
        assert secret not in stored

    # The other tenant sees its own connect and none of acme's entries.
    theirs = (await _audit(stack, other))["entries"]
    assert {(e["operation"], e["locationId"]) for e in theirs} == {
        ("get-access-token", None),
        ("connected", stack.other_location_id),
    }
    assert not {e["id"] for e in theirs} & {e["id"] for e in entries}
    assert await _audit(stack, other, locationId=stack.location_id) == {
        "entries": [],
        "nextCursor": None,
    }


async def test_filters_and_paging(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    for n in range(3):
        assert await _create(stack, key, f"c{n}@example.com") == 200  # GHL refuses duplicates
    everything = (await _audit(stack, key))["entries"]
    assert len(everything) == 5  # token exchange, connected, 3 creates

    assert len((await _audit(stack, key, operation="create-contact"))["entries"]) == 3
    assert len((await _audit(stack, key, status="201"))["entries"]) == 3
    assert [e["operation"] for e in (await _audit(stack, key, kind="connection"))["entries"]] == [
        "connected"
    ]
    newest = everything[0]["at"]
    assert [e["id"] for e in (await _audit(stack, key, since=newest))["entries"]] == [
        everything[0]["id"]
    ]
    assert (await _audit(stack, key, until=everything[-1]["at"]))["entries"] == []

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await _audit(stack, key, **params)
        assert len(page["entries"]) <= 2
        seen += [e["id"] for e in page["entries"]]
        if (cursor := page["nextCursor"]) is None:
            break
    assert seen == [e["id"] for e in everything]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "many"},
        {"kind": "everything"},
        {"since": "yesterday"},
        {"since": "2025-01-01T00:00:00"},  # no zone: ambiguous, refused
        {"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
        {"cursor": "not-a-cursor"},
        {"locationId": ""},
        {"status": "x" * 33},
    ],
)
async def test_malformed_parameters_are_422(stack: Stack, params: dict[str, str]) -> None:
    key = await stack.tenant("acme")
    resp = await stack.http.get(stack.api_url + AUDIT, headers=stack.auth(key), params=params)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] in {"validation_error"}


async def test_no_or_bad_key_is_401(stack: Stack) -> None:
    assert (await stack.http.get(stack.api_url + AUDIT)).status_code == 401
    bad = stack.auth("ghlb_" + "x" * 40)
    assert (await stack.http.get(stack.api_url + AUDIT, headers=bad)).status_code == 401


async def test_uninstall_is_audited_as_revoked_by_the_webhook(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    raw = event(stack.location_id, type_="UNINSTALL", appId="app")
    resp = await stack.http.post(
        stack.api_url + "/webhooks/ghl",
        content=raw,
        headers={"Content-Type": "application/json", "x-ghl-signature": signer().ed25519(raw)},
    )
    assert resp.status_code == 200

    async def revoked() -> list[dict[str, Any]]:
        page = await _audit(stack, key, kind="connection", operation="revoked")
        return list(page["entries"])

    [entry] = await eventually(revoked)
    assert (entry["actor"], entry["status"], entry["locationId"]) == (
        "webhook",
        "revoked",
        stack.location_id,
    )
    # ...and the dead tokens are forgotten: nothing of them is left in the row.
    conn = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert conn is not None and conn.refresh_token_sealed is None
    assert await _plaintext_tokens(stack) == [""]  # an empty secret, sealed


@pytest.fixture
async def short_token_stack(sqlite_url: str, tmp_path: Path) -> Any:
    # Tokens live 301 s and we refresh 300 s before expiry: fresh for ~1 s, then due.
    sim = SimConfig(access_token_ttl_s=301, refresh_grace_s=0.0)
    async with running_stack(sqlite_url, tmp_path, sim=sim) as s:
        yield s


async def test_refresh_and_lost_refresh_token_are_audited(short_token_stack: Stack) -> None:
    stack = short_token_stack
    key = await stack.connected_tenant("acme")
    await asyncio.sleep(1.2)
    assert await _create(stack, key) == 200  # refreshes first
    changes = (await _audit(stack, key, kind="connection"))["entries"]
    assert [(e["operation"], e["status"]) for e in changes] == [
        ("refreshed", "active"),
        ("connected", "active"),
    ]
    assert changes[0]["actor"] == f"key:{key[:12]}"  # the caller whose request refreshed
    # The refresh call names no location: it is the caller's tenant's all the same.
    exchanges = (await _audit(stack, key, operation="get-access-token"))["entries"]
    assert len(exchanges) == 2

    # Someone else burns our refresh token: the next refresh fails, the connection is lost.
    stolen = await stack.burn_refresh_token()
    # ...and GHL will not reconnect the install either (else the connection recovers).
    refuse = {"kind": "status", "status": 400, "count": 5,
              "match": {"method": "POST", "pathPrefix": "/oauth/reconnect"}}  # fmt: skip
    (await stack.http.post(stack.sim_url + "/_sim/faults", json=refuse)).raise_for_status()
    await asyncio.sleep(1.2)
    assert await _create(stack, key, "late@example.com") == 409
    [lost] = (await _audit(stack, key, operation="needs_reauth"))["entries"]
    assert (lost["kind"], lost["status"]) == ("connection", "needs_reauth")
    stored = await _stored_rows(stack)
    for secret in [stolen, *await _plaintext_tokens(stack)]:
        assert secret not in stored
