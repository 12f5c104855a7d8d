"""What an API key may run: reads with ``read``; changes with ``write``; deletes and messages to
people only with the ``destructive`` / ``outbound`` opt-in; and only the actions and locations
its allowlists name. Refusals come before anything reaches GHL; errors carry stable codes."""

from __future__ import annotations

from typing import Any

from tests.support.stack import Stack


async def _key(stack: Stack, owner_key: str, *scopes: str, **allow: Any) -> str:
    found = await stack.runtime.tenants.resolve(owner_key)
    assert found is not None
    _, key = await stack.runtime.tenants.create_key(found[0].id, scopes, **allow)
    return key


async def _run(stack: Stack, key: str, action: str, data: dict[str, Any], **extra: Any) -> Any:
    body = {"locationId": extra.pop("location", stack.location_id), "input": data, **extra}
    return await stack.http.post(
        f"{stack.api_url}/v1/actions/{action}", headers=stack.auth(key), json=body
    )


async def _contact(stack: Stack, key: str) -> str:
    made = await _run(stack, key, "contacts.create", {"firstName": "Pol"})
    assert made.status_code == 200, made.text
    return str(made.json()["output"]["contact"]["id"])


async def test_read_only_key_reads_but_does_not_write(stack: Stack) -> None:
    owner = await stack.connected_tenant("acme")
    contact_id = await _contact(stack, owner)
    reader = await _key(stack, owner, "read")
    got = await _run(stack, reader, "contacts.get", {"contactId": contact_id})
    assert got.status_code == 200
    refused = await _run(stack, reader, "contacts.create", {"firstName": "No"})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "action_not_allowed" and error["details"]["missing"] == ["write"]


async def test_deletes_and_messages_need_their_opt_in(stack: Stack) -> None:
    owner = await stack.connected_tenant("acme")
    contact_id = await _contact(stack, owner)
    writer = await _key(stack, owner, "read", "write")
    refused = await _run(stack, writer, "contacts.delete", {"contactId": contact_id})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["missing"] == ["destructive"]
    # The refusal came first: the contact is still there.
    assert (await _run(stack, writer, "contacts.get", {"contactId": contact_id})).status_code == 200
    deleter = await _key(stack, owner, "write", "destructive")
    gone = await _run(stack, deleter, "contacts.delete", {"contactId": contact_id})
    assert gone.status_code == 200 and gone.json()["output"]["deleted"] is True
    sms = {"contactId": contact_id, "message": "hi"}
    no_outbound = await _run(stack, deleter, "messages.send_sms", sms)
    assert no_outbound.json()["error"]["details"]["missing"] == ["outbound"]
    # The owner's first key has every scope, the opt-ins included.
    assert (await _run(stack, owner, "contacts.get", {"contactId": contact_id})).status_code == 404


async def test_action_and_location_allowlists(stack: Stack) -> None:
    owner = await stack.connected_tenant("acme")
    contact_id = await _contact(stack, owner)
    narrow = await _key(
        stack,
        owner,
        "read",
        "write",
        actions=["contacts.get", "tags.*"],
        locations=[stack.location_id],
    )
    assert (await _run(stack, narrow, "contacts.get", {"contactId": contact_id})).status_code == 200
    assert (await _run(stack, narrow, "tags.list", {})).status_code == 200
    other = await _run(stack, narrow, "contacts.update", {"contactId": contact_id, "city": "X"})
    assert other.status_code == 403 and other.json()["error"]["code"] == "action_not_allowed"
    elsewhere = await _run(
        stack, narrow, "contacts.get", {"contactId": contact_id}, location=stack.other_location_id
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["details"] == {"locationId": stack.other_location_id}
    # Queued runs are checked before they are queued.
    queued = await stack.http.post(
        f"{stack.api_url}/v1/actions/contacts.update?mode=async",
        headers=stack.auth(narrow),
        json={"locationId": stack.location_id, "input": {"contactId": contact_id, "city": "Y"}},
    )
    assert queued.status_code == 403


async def test_ghl_failures_have_stable_codes(stack: Stack) -> None:
    owner = await stack.connected_tenant("acme")
    missing = await _run(stack, owner, "contacts.get", {"contactId": "nope123"})
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "not_found" and error["details"]["traceId"]
    bad = await _run(
        stack,
        owner,
        "contacts.search",
        {"filters": [{"field": "nope", "operator": "eq", "value": 1}]},
    )
    assert bad.json()["error"]["code"] == "ghl_error"
    assert bad.json()["error"]["details"]["ghlMessage"]


async def test_catalogue_is_listed_with_kinds_and_filters(stack: Stack) -> None:
    key = await stack.tenant("acme")
    listed = (await stack.http.get(f"{stack.api_url}/v1/actions", headers=stack.auth(key))).json()
    assert listed["count"] >= 60 and len(listed["actions"]) == listed["count"]
    kinds = {a["kind"] for a in listed["actions"]}
    assert kinds == {"read", "write", "destructive", "outbound"}
    only = await stack.http.get(
        f"{stack.api_url}/v1/actions",
        headers=stack.auth(key),
        params={"area": "contacts", "kind": "destructive"},
    )
    assert [a["name"] for a in only.json()["actions"]] == ["contacts.delete"]


async def test_keys_are_created_with_allowlists_over_rest(stack: Stack) -> None:
    owner = await stack.connected_tenant("acme")
    url, auth = f"{stack.api_url}/v1/keys", stack.auth(owner)
    made = await stack.http.post(
        url,
        headers=auth,
        json={"scopes": ["read"], "actions": ["contacts.*"], "locations": [stack.location_id]},
    )
    assert made.status_code == 201, made.text
    info = made.json()["key"]
    assert info["actions"] == ["contacts.*"] and info["locations"] == [stack.location_id]
    narrow = made.json()["apiKey"]
    assert (await _run(stack, narrow, "tags.list", {})).json()["error"]["code"] == (
        "action_not_allowed"
    )
    for bad in (
        {"scopes": ["read"], "actions": ["contacts.explode"]},
        {"scopes": ["read"], "actions": []},
        {"scopes": ["read"], "locations": ["a/../b"]},
        {"scopes": ["read"], "actions": ["contacts.*"] * 201},
    ):
        refused = await stack.http.post(url, headers=auth, json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["code"] == "validation_error"
    listed = (await stack.http.get(url, headers=auth)).json()["keys"]
    assert [k["actions"] for k in listed] == [None, ["contacts.*"]]
