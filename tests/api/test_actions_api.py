"""REST bad input: every refusal is clear, uses the error envelope, and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.support.polling import eventually
from tests.support.stack import Stack

CREATE = "/v1/actions/contacts.create"


def _error(resp: object) -> dict[str, object]:
    body = resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ghlb_not-a-real-key"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
    ],
)
async def test_wrong_or_missing_api_key_is_401(stack: Stack, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/v1/actions"), ("POST", CREATE), ("GET", "/v1/events")):
        resp = await stack.http.request(
            method, stack.api_url + path, headers=headers, json={"locationId": "x", "input": {}}
        )
        assert resp.status_code == 401, (path, resp.text)
        assert _error(resp)["code"] == "unauthorized"


async def test_another_tenants_location_is_403(stack: Stack) -> None:
    await stack.connected_tenant("owner")
    intruder = await stack.tenant("intruder")
    body = {"locationId": stack.location_id, "input": {"email": "x@example.com"}}
    resp = await stack.http.post(stack.api_url + CREATE, headers=stack.auth(intruder), json=body)
    assert resp.status_code == 403
    assert _error(resp)["code"] == "forbidden"
    unknown = {"locationId": "nonexistentLocation1", "input": {"email": "x@example.com"}}
    resp = await stack.http.post(stack.api_url + CREATE, headers=stack.auth(intruder), json=unknown)
    assert resp.status_code == 403  # same answer: no probing which locations exist


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('{"locationId": "x", "input": ', "json"),
        ("[1, 2]", ""),
        ('{"input": {"email": "a@b.co"}}', "locationId"),
        ('{"locationId": "x", "input": {}, "surprise": 1}', "surprise"),
    ],
)
async def test_invalid_json_or_envelope_is_422(stack: Stack, body: str, needle: str) -> None:
    key = await stack.connected_tenant("acme")
    headers = {**stack.auth(key), "Content-Type": "application/json"}
    resp = await stack.http.post(stack.api_url + CREATE, headers=headers, content=body)
    assert resp.status_code == 422, resp.text
    error = _error(resp)
    assert error["code"] == "validation_error"
    assert needle.lower() in str(error["details"]).lower()


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"firstName": "A", "emial": "typo@example.com"}, "emial"),
        ({"firstName": 42}, "firstName"),
        ({"tags": "vip"}, "tags"),
        ({}, "(root)"),
    ],
)
async def test_input_failing_the_action_schema_is_422(
    stack: Stack, data: dict[str, object], path: str
) -> None:
    key = await stack.connected_tenant("acme")
    resp = await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={"locationId": stack.location_id, "input": data},
    )
    assert resp.status_code == 422, resp.text
    error = _error(resp)
    assert error["code"] == "validation_error"
    assert path in [d["path"] for d in error["details"]]  # type: ignore[union-attr]


async def test_unknown_action_is_404(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    resp = await stack.http.post(
        stack.api_url + "/v1/actions/contacts.explode",
        headers=stack.auth(key),
        json={"locationId": "x"},
    )
    assert resp.status_code == 404
    assert _error(resp)["code"] == "not_found"


async def test_oversized_body_is_413(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    big = {"locationId": stack.location_id, "input": {"firstName": "x" * (1024 * 1024 + 10)}}
    resp = await stack.http.post(stack.api_url + CREATE, headers=stack.auth(key), json=big)
    assert resp.status_code == 413
    assert _error(resp)["code"] == "too_large"


async def test_dry_run_validates_without_calling_ghl(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    resp = await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={
            "locationId": stack.location_id,
            "input": {"email": "dry@example.com"},
            "dryRun": True,
        },
    )
    assert resp.status_code == 200
    dry = resp.json()["output"]
    assert dry["dryRun"] is True and dry["request"]["method"] == "POST"
    assert dry["request"]["body"]["email"] == "dry@example.com"
    assert "authorization" not in str(dry).lower()  # the request shown carries no token
    found = await stack.runtime.ghl.contacts.search(
        stack.location_id,
        {"filters": [{"field": "email", "operator": "eq", "value": "dry@example.com"}]},
    )
    assert found["contacts"] == []


async def test_catalogue_lists_schemas(stack: Stack) -> None:
    key = await stack.tenant("acme")
    resp = await stack.http.get(
        stack.api_url + "/v1/actions/contacts.create", headers=stack.auth(key)
    )
    assert resp.status_code == 200
    email = resp.json()["inputSchema"]["properties"]["email"]
    assert email["anyOf"][0]["type"] == "string" and email["anyOf"][0]["maxLength"] == 255
    assert resp.json()["kind"] == "write" and resp.json()["retrySafe"] is False


async def test_health_and_readiness(stack: Stack) -> None:
    assert (await stack.http.get(stack.api_url + "/healthz")).json() == {"status": "ok"}
    ready = await stack.http.get(stack.api_url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_metrics_count_ghl_calls_per_location(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    body = {"locationId": stack.location_id, "input": {"email": "m@example.com"}}
    assert (
        await stack.http.post(stack.api_url + CREATE, headers=stack.auth(key), json=body)
    ).status_code == 200
    text = (await stack.http.get(stack.api_url + "/metrics")).text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("ghl_requests_total{")
        and stack.location_id in ln
        and "create-contact" in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert "ghl_budget_remaining" in text
    assert key not in text


def _sample(text: str, name: str) -> float:
    return float(next(ln for ln in text.splitlines() if ln.startswith(name + " ")).split()[-1])


async def test_metrics_show_the_backlog_read_from_the_database(stack: Stack) -> None:
    await stack.connected_tenant("acme")

    async def drained() -> str | None:  # the install's INSTALL event, processed
        text = (await stack.http.get(stack.api_url + "/metrics")).text
        return text if _sample(text, 'ghl_webhook_events{status="pending"}') == 0 else None

    assert _sample(await eventually(drained), "ghl_webhook_oldest_waiting_seconds") == 0

    inbox = stack.runtime.inbox
    # Stored but never queued: both wait (the sweeper re-queues only what waited a minute),
    # until one is dead-lettered.
    received = datetime.now(UTC) - timedelta(seconds=20)
    _stuck, dead = [
        (
            await inbox.record(
                webhook_id,
                event_type="ContactCreate",
                location_id=stack.location_id,
                company_id=None,
                tenant_id=None,
                payload="{}",
                signature_scheme="ed25519",
                received_at=received,
            )
        )[0]
        for webhook_id in ("wh-stuck", "wh-dead")
    ]
    await inbox.mark_dead(dead, "gave up")
    text = (await stack.http.get(stack.api_url + "/metrics")).text
    assert _sample(text, 'ghl_webhook_events{status="pending"}') == 1
    assert _sample(text, 'ghl_webhook_events{status="dead"}') == 1
    assert 19 < _sample(text, "ghl_webhook_oldest_waiting_seconds") < 600
    assert _sample(text, 'ghl_outbound_deliveries{status="dead"}') == 0


async def test_metrics_answer_without_the_backlog_when_the_database_fails(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable() -> None:
        raise ConnectionError("database gone")

    monkeypatch.setattr(stack.runtime.inbox, "backlog", unavailable)
    resp = await stack.http.get(stack.api_url + "/metrics")
    assert resp.status_code == 200  # the process's own metrics are still served
    assert "# TYPE ghl_webhooks_received_total counter" in resp.text


async def test_metrics_need_the_admin_token_when_configured(stack: Stack) -> None:
    from pydantic import SecretStr

    stack.runtime.settings = stack.runtime.settings.model_copy(
        update={"admin_token": SecretStr("op-token-123")}
    )
    assert (await stack.http.get(stack.api_url + "/metrics")).status_code == 401
    ok = await stack.http.get(
        stack.api_url + "/metrics", headers={"Authorization": "Bearer op-token-123"}
    )
    assert ok.status_code == 200
