"""/v1/subscriptions, /v1/deliveries and /v1/triggers: validation, scopes, SSRF refusals,
changes (PATCH) and their effect on routing.

The stack here runs with outbound private targets NOT allowed (the production default), so
every refused URL is refused by validation: nothing is ever sent to these addresses. The
routing tests use action targets (never a webhook): an event routed to a subscription leaves a
delivery, whatever then becomes of the action run.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.polling import eventually
from tests.support.signing import event, signer
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


async def _created(stack: Stack, key: str, **over: Any) -> dict[str, Any]:
    status, body = await _post(stack, key, _body(**over))
    assert status == 201, body
    sub: dict[str, Any] = body["subscription"]
    return sub


async def _key_with(stack: Stack, admin: str, scopes: list[str], **lists: Any) -> str:
    made = await stack.http.post(
        f"{stack.api_url}/v1/keys", headers=stack.auth(admin), json={"scopes": scopes, **lists}
    )
    assert made.status_code == 201, made.text
    value: str = made.json()["apiKey"]
    return value


async def _patch(stack: Stack, key: str, sub_id: str, body: Any) -> tuple[int, dict[str, Any]]:
    resp = await stack.http.patch(
        f"{stack.api_url}/v1/subscriptions/{sub_id}", headers=stack.auth(key), json=body
    )
    return resp.status_code, resp.json()


async def _get(stack: Stack, key: str, sub_id: str) -> dict[str, Any]:
    resp = await stack.http.get(
        f"{stack.api_url}/v1/subscriptions/{sub_id}", headers=stack.auth(key)
    )
    assert resp.status_code == 200, resp.text
    got: dict[str, Any] = resp.json()
    return got


async def _emit(stack: Stack, type_: str = "ContactCreate", **fields: Any) -> None:
    """A signed delivery from GHL for the tenant's location, received as any other."""
    raw = event(stack.location_id, type_=type_, **fields)
    resp = await stack.http.post(
        f"{stack.api_url}/webhooks/ghl",
        content=raw,
        headers={"Content-Type": "application/json", "x-ghl-signature": signer().ed25519(raw)},
    )
    assert resp.status_code == 200, resp.text


async def _routed(stack: Stack, key: str, sub_id: str, count: int) -> list[dict[str, Any]]:
    """The subscription's deliveries once there are ``count`` (fails if never so)."""

    async def probe() -> list[dict[str, Any]] | None:
        rows = await stack.deliveries(key, sub_id)
        assert len(rows) <= count, rows
        return rows if len(rows) == count else None

    return await eventually(probe, within=30)


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


async def test_pause_stops_routing_at_once_and_resume_restarts_it(any_stack: Stack) -> None:
    stack = any_stack
    key = await stack.connected_tenant("acme")
    paused = await _created(stack, key, name="paused")
    # Always active: once it has an event's delivery, that event has been routed (one batch
    # reads the tenant's active subscriptions for every rule at once).
    control = await _created(stack, key, name="control")
    await _emit(stack, id="c1", contactId="c1")
    await _routed(stack, key, control["id"], 1)
    await _routed(stack, key, paused["id"], 1)

    status, body = await _patch(stack, key, paused["id"], {"active": False})
    assert status == 200, body
    assert body == {**paused, "active": False}
    await _emit(stack, id="c2", contactId="c2")
    await _routed(stack, key, control["id"], 2)
    kept = await stack.deliveries(key, paused["id"])
    assert len(kept) == 1  # not routed while paused; the history is still there

    status, body = await _patch(stack, key, paused["id"], {"active": True})
    assert status == 200, body
    assert body == paused
    await _emit(stack, id="c3", contactId="c3")
    await _routed(stack, key, control["id"], 3)
    after = await _routed(stack, key, paused["id"], 2)
    assert kept[0]["id"] in {d["id"] for d in after}


async def test_rename_and_new_rule_take_effect(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    hot = [{"path": "tags", "op": "contains", "value": "hot"}]
    sub = await _created(stack, key, predicates=hot)
    control = await _created(stack, key, name="control", eventTypes=["Contact*"])
    vip = [{"path": "tags", "op": "contains", "value": "vip"}]
    change = {"name": "VIP tagged", "eventTypes": ["ContactTagUpdate"], "predicates": vip}
    status, body = await _patch(stack, key, sub["id"], change)
    assert status == 200, body
    assert body == {**sub, **change}  # target, locations, state, secrets: as they were
    assert await _get(stack, key, sub["id"]) == body
    listed = await stack.http.get(f"{stack.api_url}/v1/subscriptions", headers=stack.auth(key))
    assert listed.json()["subscriptions"][0] == body

    await _emit(stack, id="c1", contactId="c1", tags=["hot"])  # the old rule's, not the new
    await _emit(stack, "ContactTagUpdate", id="c2", contactId="c2", tags=["hot"])
    await _emit(stack, "ContactTagUpdate", id="c3", contactId="c3", tags=["vip"])
    await _routed(stack, key, control["id"], 3)
    [routed] = await stack.deliveries(key, sub["id"])
    assert routed["eventType"] == "ContactTagUpdate"

    # Predicates can be dropped altogether; an event type pattern is kept as given.
    status, body = await _patch(stack, key, sub["id"], {"predicates": [], "eventTypes": ["*"]})
    assert status == 200, body
    assert (body["predicates"], body["eventTypes"], body["name"]) == ([], ["*"], "VIP tagged")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"eventTypes": ["ContactCreated"]}, "unknown event types"),
        ({"eventTypes": ["Nothing*"]}, "unknown event types"),
        ({"name": "renamed", "eventTypes": ["Nope"]}, "unknown event types"),
        ({"predicates": [{"path": "tags", "op": "in", "value": "hot"}]}, "malformed predicates"),
        ({"active": False, "predicates": [{"path": "a..b", "op": "eq", "value": 1}]}, "malformed"),
        ({"predicates": [{"path": "tags", "op": "regex", "value": "h.*"}]}, "schema"),
        ({"target": {**ACTION, "action": "contacts.delete"}}, "target cannot be changed"),
        ({"url": "https://93.184.215.14/hook"}, "target cannot be changed"),
        ({"name": "renamed", "action": "contacts.get"}, "target cannot be changed"),
        ({}, "nothing to change"),
        ({"surprise": True}, "schema"),
        ({"active": "sometimes"}, "schema"),
        ({"active": None}, "may not be null"),
        ({"name": None}, "may not be null"),
        ({"name": 5}, "schema"),
        ({"name": ""}, "schema"),
        ({"eventTypes": "ContactCreate"}, "schema"),
        ({"eventTypes": []}, "schema"),
        ({"predicates": None}, "may not be null"),
        ({"predicates": {"path": "tags", "op": "exists"}}, "schema"),
        ({"locations": []}, "schema"),
        ({"locations": ["../etc"]}, "schema"),
        (["name", "renamed"], "schema"),
    ],
)
async def test_malformed_changes_are_422_and_change_nothing(
    stack: Stack, change: Any, fragment: str
) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _created(stack, key, predicates=[{"path": "tags", "op": "exists"}])
    status, body = await _patch(stack, key, sub["id"], change)
    assert status == 422, body
    assert body["error"]["code"] == "validation_error"
    assert fragment in body["error"]["message"] or fragment in str(body["error"]["details"])
    assert await _get(stack, key, sub["id"]) == sub


async def test_non_json_change_is_422(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _created(stack, key)
    resp = await stack.http.patch(
        f"{stack.api_url}/v1/subscriptions/{sub['id']}",
        headers={**stack.auth(key), "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert resp.status_code == 422
    assert await _get(stack, key, sub["id"]) == sub


async def test_change_needs_a_writer_key_of_the_tenant(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")
    sub = await _created(stack, admin)
    url = f"{stack.api_url}/v1/subscriptions/{sub['id']}"

    nobody = await stack.http.patch(url, json={"active": False})
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (401, "unauthorized")
    forged = await stack.http.patch(url, json={"active": False}, headers=stack.auth("ghlb_nope"))
    assert forged.status_code == 401

    reader = await _key_with(stack, admin, ["read"])
    status, body = await _patch(stack, reader, sub["id"], {"active": False})
    assert (status, body["error"]["code"]) == (403, "insufficient_scope")

    # Another tenant's subscription is answered exactly as one that does not exist.
    other = await stack.tenant("globex")
    status, theirs = await _patch(stack, other, sub["id"], {"active": False, "name": "mine"})
    missing_status, missing = await _patch(stack, other, "sub_missing", {"active": False})
    assert (status, missing_status) == (404, 404)
    assert theirs["error"]["code"] == "not_found"
    assert theirs == {
        "error": {
            **missing["error"],
            "message": missing["error"]["message"].replace("sub_missing", sub["id"]),
        }
    }
    assert await _get(stack, admin, sub["id"]) == sub


async def test_change_is_bounded_by_the_creating_key(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")
    here, elsewhere = stack.location_id, stack.other_location_id
    limited = await _key_with(stack, admin, ["read", "write"], locations=[here])
    sub = await _created(stack, limited)
    assert sub["locations"] == [here]

    # Not outside the creator's locations, whoever asks (its runs act as the creator).
    for key in (limited, admin):
        status, body = await _patch(stack, key, sub["id"], {"locations": [here, elsewhere]})
        assert (status, body["error"]["code"]) == (403, "forbidden"), body
        assert body["error"]["details"] == {"locations": [elsewhere]}
    # null is every location the creator may reach: its own list, not all.
    status, body = await _patch(stack, admin, sub["id"], {"locations": None})
    assert (status, body["locations"]) == (200, [here])
    assert await _get(stack, admin, sub["id"]) == sub


async def test_change_is_bounded_by_the_calling_key(stack: Stack) -> None:
    admin = await stack.connected_tenant("acme")
    here, elsewhere = stack.location_id, stack.other_location_id
    everywhere = await _created(stack, admin)  # locations: all
    assert everywhere["locations"] is None
    limited = await _key_with(stack, admin, ["read", "write"], locations=[here])
    for change in ({"locations": [elsewhere]}, {"locations": None}, {"eventTypes": ["*"]}):
        status, body = await _patch(stack, limited, everywhere["id"], change)
        assert (status, body["error"]["code"]) == (403, "forbidden"), (change, body)
    assert await _get(stack, admin, everywhere["id"]) == everywhere

    # A key that could not create this rule may not widen it; pausing only narrows it.
    deleting = {"kind": "action", "action": "contacts.delete", "input": {"contactId": "{{id}}"}}
    risky = await _created(stack, admin, target=deleting)
    writer = await _key_with(stack, admin, ["read", "write"])
    status, body = await _patch(stack, writer, risky["id"], {"eventTypes": ["*"]})
    assert (status, body["error"]["code"]) == (403, "action_not_allowed")
    assert await _get(stack, admin, risky["id"]) == risky
    status, body = await _patch(stack, writer, risky["id"], {"active": False})
    assert (status, body["active"]) == (200, False)

    # Within its own locations, the limited key may narrow the all-locations rule.
    status, body = await _patch(stack, limited, everywhere["id"], {"locations": [here]})
    assert (status, body["locations"]) == (200, [here])


async def test_same_change_twice_answers_the_same(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    sub = await _created(stack, key)
    change = {
        "name": "renamed",
        "active": False,
        "eventTypes": ["ContactCreate", "ContactCreate", "Contact*"],
        "locations": [stack.location_id, stack.location_id],
        "predicates": [{"path": "tags", "op": "contains", "value": "hot"}],
    }
    first_status, first = await _patch(stack, key, sub["id"], change)
    assert first_status == 200, first
    assert first["eventTypes"] == ["ContactCreate", "Contact*"]
    assert first["locations"] == [stack.location_id]
    stored = await stack.runtime.subscriptions.repo.get(sub["id"])
    assert stored is not None and stored.updated_at > stored.created_at

    second_status, second = await _patch(stack, key, sub["id"], change)
    assert (second_status, second) == (200, first)
    again = await stack.runtime.subscriptions.repo.get(sub["id"])
    assert again is not None and again.updated_at == stored.updated_at  # nothing to write
    assert await _get(stack, key, sub["id"]) == first
