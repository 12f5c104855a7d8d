"""/v1/subscriptions, /v1/deliveries and /v1/triggers: validation, scopes, SSRF refusals.

The stack here runs with outbound private targets NOT allowed (the production default), so
every refused URL is refused by validation: nothing is ever sent to these addresses.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.stack import Stack

ACTION = {
    "kind": "action",
    "action": "contacts.add_tags",
    "input": {"contactId": "{{contactId}}", "tags": ["x"]},
}


async def _post(stack: Stack, key: str, body: Any) -> tuple[int, dict[str, Any]]:
    resp = await stack.http.post(
        f"{stack.api_url}/v1/subscriptions", headers=stack.auth(key), json=body
    )
    return resp.status_code, resp.json()


def _body(**over: Any) -> dict[str, Any]:
    return {"name": "n", "eventTypes": ["ContactCreate"], "target": ACTION, **over}


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://93.184.215.14/hook",  # plain http
        "https://user:pw@93.184.215.14/hook",
    ],
)
async def test_unsafe_urls_are_refused(stack: Stack, url: str) -> None:
    key = await stack.connected_tenant("acme")
    status, body = await _post(stack, key, _body(target={"kind": "webhook", "url": url}))
    assert status == 422, body
    assert body["error"]["code"] == "validation_error"
    assert (
        await stack.http.get(f"{stack.api_url}/v1/subscriptions", headers=stack.auth(key))
    ).json() == {"subscriptions": []}


@pytest.mark.parametrize(
    ("over", "fragment"),
    [
        ({"eventTypes": ["ContactCreated"]}, "unknown event types"),
        ({"eventTypes": ["Nothing*"]}, "unknown event types"),
        ({"eventTypes": []}, "schema"),
        ({"target": {**ACTION, "action": "contacts.explode"}}, "no action named"),
        ({"target": {"kind": "carrier-pigeon"}}, "schema"),
        ({"target": {"kind": "webhook"}}, "schema"),
        ({"predicates": [{"path": "tags", "op": "regex", "value": "h.*"}]}, "schema"),
        ({"predicates": [{"path": "tags", "op": "in", "value": "hot"}]}, "malformed predicates"),
        ({"predicates": [{"path": "a..b", "op": "eq", "value": 1}]}, "malformed predicates"),
        ({"target": {**ACTION, "input": {"contactId": "{{ contact id }}"}}}, "placeholder"),
        ({"target": {**ACTION, "input": {"pad": "x" * 17_000}}}, "template"),
        ({"name": ""}, "schema"),
        ({"name": "x" * 201}, "schema"),
        ({"locations": ["../etc"]}, "schema"),
        ({"surprise": True}, "schema"),
    ],
)
async def test_malformed_subscriptions_are_422(
    stack: Stack, over: dict[str, Any], fragment: str
) -> None:
    key = await stack.connected_tenant("acme")
    status, body = await _post(stack, key, _body(**over))
    assert status == 422, body
    assert fragment in body["error"]["message"] or fragment in str(body["error"]["details"])


async def test_malformed_json_and_oversized_bodies(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    url = f"{stack.api_url}/v1/subscriptions"
    bad = await stack.http.post(
        url, headers={**stack.auth(key), "Content-Type": "application/json"}, content=b"{nope"
    )
    assert bad.status_code == 422
    huge = await stack.http.post(
        url,
        headers={**stack.auth(key), "Content-Type": "application/json"},
        content=b'{"name":"' + b"x" * (1024 * 1024 + 10) + b'"}',
    )
    assert huge.status_code == 413


async def test_scopes(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")

    async def key_with(scopes: list[str], **lists: Any) -> str:
        made = await stack.http.post(
            f"{stack.api_url}/v1/keys", headers=stack.auth(admin), json={"scopes": scopes, **lists}
        )
        assert made.status_code == 201, made.text
        value: str = made.json()["apiKey"]
        return value

    reader = await key_with(["read"])
    status, body = await _post(stack, reader, _body())
    assert (status, body["error"]["code"]) == (403, "insufficient_scope")
    listed = await stack.http.get(f"{stack.api_url}/v1/subscriptions", headers=stack.auth(reader))
    assert listed.status_code == 200

    # write, but not destructive: a subscription must not delete contacts for it
    writer = await key_with(["read", "write"])
    delete = {"kind": "action", "action": "contacts.delete", "input": {"contactId": "{{id}}"}}
    status, body = await _post(stack, writer, _body(target=delete))
    assert (status, body["error"]["code"]) == (403, "action_not_allowed")

    # an action allowlist binds the subscription too
    getter = await key_with(["read", "write"], actions=["contacts.get"])
    status, body = await _post(stack, getter, _body())
    assert (status, body["error"]["code"]) == (403, "action_not_allowed")

    # a webhook exports events: write alone is not enough
    write_only = await key_with(["write"])
    hook = {"kind": "webhook", "url": "https://93.184.215.14/hook"}
    status, body = await _post(stack, write_only, _body(target=hook))
    assert (status, body["error"]["code"]) == (403, "insufficient_scope")


async def test_location_limited_key_subscribes_within_its_locations(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")
    made = await stack.http.post(
        f"{stack.api_url}/v1/keys",
        headers=stack.auth(admin),
        json={"scopes": ["read", "write"], "locations": [stack.location_id]},
    )
    limited = made.json()["apiKey"]
    status, body = await _post(stack, limited, _body())
    assert status == 201, body
    assert body["subscription"]["locations"] == [stack.location_id]  # narrowed, not "all"
    elsewhere = [stack.other_location_id]
    status, body = await _post(stack, limited, _body(locations=elsewhere))
    assert (status, body["error"]["code"]) == (403, "action_not_allowed")
    hook = {"kind": "webhook", "url": "https://93.184.215.14/hook"}  # never called
    status, body = await _post(stack, limited, _body(locations=elsewhere, target=hook))
    assert (status, body["error"]["code"]) == (403, "forbidden")


async def test_create_get_list_delete(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    predicates = [{"path": "tags", "op": "contains", "value": "hot"}]
    status, first = await _post(stack, key, _body(eventTypes=["Contact*"], predicates=predicates))
    assert status == 201 and first["secret"] is None
    sub = first["subscription"]
    assert sub["eventTypes"] == ["Contact*"] and sub["predicates"] == predicates
    assert sub["target"]["input"] == ACTION["input"]
    # The same input twice makes two subscriptions (names are labels, not keys).
    status, second = await _post(stack, key, _body(eventTypes=["Contact*"], predicates=predicates))
    assert status == 201 and second["subscription"]["id"] != sub["id"]

    api, auth = stack.api_url, stack.auth(key)
    got = await stack.http.get(f"{api}/v1/subscriptions/{sub['id']}", headers=auth)
    assert got.json()["id"] == sub["id"]
    listed = await stack.http.get(f"{api}/v1/subscriptions", headers=auth)
    assert [s["id"] for s in listed.json()["subscriptions"]] == [
        sub["id"],
        second["subscription"]["id"],
    ]
    rotate = await stack.http.post(
        f"{api}/v1/subscriptions/{sub['id']}/rotate-secret", headers=auth
    )
    assert rotate.status_code == 422  # an action target has no secret
    gone = await stack.http.delete(f"{api}/v1/subscriptions/{sub['id']}", headers=auth)
    assert gone.json() == {"id": sub["id"], "deleted": True}
    again = await stack.http.delete(f"{api}/v1/subscriptions/{sub['id']}", headers=auth)
    assert again.status_code == 404
    missing = await stack.http.get(f"{api}/v1/subscriptions/{sub['id']}/deliveries", headers=auth)
    assert missing.status_code == 404
    replay = await stack.http.post(f"{api}/v1/deliveries/dlv_nope/replay", headers=auth)
    assert replay.status_code == 404
    long_id = await stack.http.get(f"{api}/v1/subscriptions/{'x' * 65}", headers=auth)
    assert long_id.status_code == 422


async def test_no_key_is_401(stack: Stack) -> None:
    for path in ("/v1/subscriptions", "/v1/triggers"):
        resp = await stack.http.get(stack.api_url + path)
        assert resp.status_code == 401


async def test_triggers(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    listed = await stack.http.get(f"{stack.api_url}/v1/triggers", headers=stack.auth(key))
    types = {t["type"]: t for t in listed.json()["triggers"]}
    assert "OpportunityStageUpdate" in types and "INSTALL" in types
    assert types["ContactTagUpdate"]["schema"]["properties"]["tags"]["type"] == "array"
    one = await stack.http.get(
        f"{stack.api_url}/v1/triggers/InboundMessage", headers=stack.auth(key)
    )
    assert one.status_code == 200 and one.json()["example"]["type"] == "InboundMessage"
    nope = await stack.http.get(f"{stack.api_url}/v1/triggers/Nope", headers=stack.auth(key))
    assert (nope.status_code, nope.json()["error"]["code"]) == (404, "not_found")
