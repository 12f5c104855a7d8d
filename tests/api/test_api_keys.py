"""API key scopes and key management: each route needs its scope (403 insufficient_scope
otherwise, nothing done), revoked keys are unknown keys, and /v1/keys never shows a key twice."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.stack import Stack

CREATE = "/v1/actions/contacts.create"


async def _key(stack: Stack, admin_key: str, *scopes: str) -> tuple[str, str]:
    """A new key of the admin's tenant with these scopes: ``(id, plaintext)``."""
    resp = await stack.http.post(
        f"{stack.api_url}/v1/keys", headers=stack.auth(admin_key), json={"scopes": list(scopes)}
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["key"]["scopes"] == list(scopes)
    return body["key"]["id"], body["apiKey"]


async def _contact_in_sim(stack: Stack, email: str) -> Any:
    found = await stack.http.get(
        f"{stack.sim_url}/contacts/search/duplicate",
        params={"locationId": stack.location_id, "email": email},
        headers={
            "Authorization": f"Bearer {stack.seed['locations'][0]['pit']}",
            "Version": "2021-07-28",
        },
    )
    return found.json()["contact"]


async def test_read_only_key_reads_but_cannot_run_or_manage(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")
    _, reader = await _key(stack, admin, "read")
    api, auth = stack.api_url, stack.auth(reader)

    for path in ("/v1/actions", "/v1/actions/contacts.create", "/v1/connections", "/v1/events",
                 "/v1/audit"):  # fmt: skip
        resp = await stack.http.get(api + path, headers=auth)
        assert resp.status_code == 200, f"{path}: {resp.text}"

    body = {"locationId": stack.location_id, "input": {"email": "reader@example.com"}}
    for mode in ("sync", "async"):
        resp = await stack.http.post(f"{api}{CREATE}?mode={mode}", headers=auth, json=body)
        assert resp.status_code == 403, resp.text
        error = resp.json()["error"]
        assert error["code"] == "action_not_allowed"
        assert "'write'" in error["message"]
        assert error["details"]["missing"] == ["write"]
    dry = await stack.http.post(api + CREATE, headers=auth, json={**body, "dryRun": True})
    assert dry.status_code == 403
    assert await _contact_in_sim(stack, "reader@example.com") is None

    for method, path in [("GET", "/v1/keys"), ("POST", "/v1/connections/authorize")]:
        resp = await stack.http.request(method, api + path, headers=auth)
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["details"]["required"] == "admin"


async def test_write_key_runs_actions_but_cannot_read_or_make_keys(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")
    _, writer = await _key(stack, admin, "write")
    auth = stack.auth(writer)
    body = {"locationId": stack.location_id, "input": {"email": "writer@example.com"}}

    ran = await stack.http.post(stack.api_url + CREATE, headers=auth, json=body)
    assert ran.status_code == 200, ran.text
    assert await _contact_in_sim(stack, "writer@example.com") is not None

    made = await stack.http.post(
        f"{stack.api_url}/v1/keys", headers=auth, json={"scopes": ["admin"]}
    )
    assert made.status_code == 403
    assert made.json()["error"]["code"] == "insufficient_scope"
    listed = await stack.http.get(f"{stack.api_url}/v1/actions", headers=auth)
    assert listed.status_code == 403
    assert listed.json()["error"]["details"]["required"] == "read"
    private = await stack.http.post(
        f"{stack.api_url}/v1/connections/private",
        headers=auth,
        json={"locationId": stack.location_id, "token": "pit-x"},
    )
    assert private.status_code == 403


async def test_admin_creates_lists_and_revokes_keys(stack: Stack) -> None:
    admin = await stack.tenant("acme")
    key_id, reader = await _key(stack, admin, "read", "write")
    keys_url = f"{stack.api_url}/v1/keys"

    listed = await stack.http.get(keys_url, headers=stack.auth(admin))
    assert listed.status_code == 200
    rows = listed.json()["keys"]
    assert [r["scopes"] for r in rows] == [
        ["read", "write", "admin", "destructive", "outbound"],
        ["read", "write"],
    ]
    assert set(rows[1]) == {
        "id",
        "prefix",
        "scopes",
        "actions",
        "locations",
        "createdAt",
        "lastUsedAt",
        "revokedAt",
    }
    assert rows[1]["id"] == key_id and reader.startswith(rows[1]["prefix"])
    assert rows[1]["revokedAt"] is None
    # Neither key nor hash is ever listed.
    assert reader not in listed.text and admin not in listed.text
    assert "Hash" not in listed.text and "hash" not in listed.text

    assert (
        await stack.http.get(f"{stack.api_url}/v1/events", headers=stack.auth(reader))
    ).is_success
    revoked = await stack.http.delete(f"{keys_url}/{key_id}", headers=stack.auth(admin))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revokedAt"] is not None

    after = await stack.http.get(f"{stack.api_url}/v1/events", headers=stack.auth(reader))
    assert after.status_code == 401
    assert after.json()["error"] == {
        "code": "unauthorized", "message": "the API key is not valid", "details": None
    }  # fmt: skip
    again = await stack.http.delete(f"{keys_url}/{key_id}", headers=stack.auth(admin))
    assert again.status_code == 200  # idempotent
    assert again.json()["revokedAt"] == revoked.json()["revokedAt"]


async def test_another_tenants_key_id_is_not_found(stack: Stack) -> None:
    admin_a = await stack.tenant("a")
    admin_b = await stack.tenant("b")
    key_a, plain_a = await _key(stack, admin_a, "read")
    resp = await stack.http.delete(f"{stack.api_url}/v1/keys/{key_a}", headers=stack.auth(admin_b))
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    assert (
        await stack.http.get(f"{stack.api_url}/v1/events", headers=stack.auth(plain_a))
    ).is_success
    missing = await stack.http.delete(
        f"{stack.api_url}/v1/keys/key_nothing", headers=stack.auth(admin_b)
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": ["read", "root"]},
        {"scopes": []},
        {"scopes": ["read"], "tenantId": "tnt_x"},
        {"scopes": "read"},
        {},
    ],
)
async def test_malformed_key_requests_are_422(stack: Stack, body: dict[str, Any]) -> None:
    admin = await stack.tenant("acme")
    resp = await stack.http.post(f"{stack.api_url}/v1/keys", headers=stack.auth(admin), json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert len(await stack.runtime.tenants.list_keys(await _tenant_id(stack, "acme"))) == 1


async def _tenant_id(stack: Stack, name: str) -> str:
    tenant = await stack.runtime.tenants.get_by_name(name)
    assert tenant is not None
    return tenant.id


async def test_last_admin_key_cannot_revoke_itself(stack: Stack) -> None:
    admin = await stack.tenant("acme")
    tenant_id = await _tenant_id(stack, "acme")
    [own] = await stack.runtime.tenants.list_keys(tenant_id)
    url = f"{stack.api_url}/v1/keys/{own.id}"

    refused = await stack.http.delete(url, headers=stack.auth(admin))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "conflict"
    assert (await stack.http.get(f"{stack.api_url}/v1/keys", headers=stack.auth(admin))).is_success

    # With a second admin key the first may go; then the second is the last and must stay.
    second_id, second = await _key(stack, admin, "admin")
    assert (await stack.http.delete(url, headers=stack.auth(admin))).status_code == 200
    assert (
        await stack.http.get(f"{stack.api_url}/v1/keys", headers=stack.auth(admin))
    ).status_code == 401
    last = await stack.http.delete(
        f"{stack.api_url}/v1/keys/{second_id}", headers=stack.auth(second)
    )
    assert last.status_code == 409


async def test_missing_or_revoked_keys_are_401_before_scope_checks(stack: Stack) -> None:
    admin = await stack.tenant("acme")
    key_id, reader = await _key(stack, admin, "read")
    await stack.runtime.tenants.revoke_key(key_id)
    for key in (reader, "ghlb_" + "A" * 40):
        resp = await stack.http.post(
            f"{stack.api_url}/v1/keys", headers=stack.auth(key), json={"scopes": ["admin"]}
        )
        assert resp.status_code == 401, resp.text
