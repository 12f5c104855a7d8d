"""POST /webhooks/ghl: signature, freshness, dedupe, size — and nothing stored on refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from tests.support.polling import eventually
from tests.support.signing import event, signer
from tests.support.stack import Stack


async def _count(stack: Stack) -> int:
    return len(await stack.runtime.inbox.list(limit=500))


async def _post(
    stack: Stack, raw: bytes, headers: dict[str, str], path: str = "/webhooks/ghl"
) -> tuple[int, dict]:  # type: ignore[type-arg]
    resp = await stack.http.post(
        stack.api_url + path, content=raw, headers={"Content-Type": "application/json", **headers}
    )
    return resp.status_code, resp.json()


def _signed(raw: bytes) -> dict[str, str]:
    return {"x-ghl-signature": signer().ed25519(raw)}


@pytest.fixture(autouse=True)
async def _location_connected(stack: Stack) -> None:
    """Events are stored only for locations a tenant holds (unknown ones answer 404)."""
    await stack.connected_tenant("acme")


async def test_valid_delivery_is_stored_and_processed(stack: Stack) -> None:
    raw = event(stack.location_id)
    status, body = await _post(stack, raw, _signed(raw))
    assert (status, body["status"]) == (200, "accepted")

    async def processed() -> bool:
        stored = await stack.runtime.inbox.get(body["eventId"])
        return stored is not None and stored.status == "processed"

    await eventually(processed)
    stored = await stack.runtime.inbox.get(body["eventId"])
    assert stored is not None and stored.payload.encode() == raw  # byte-exact


async def test_legacy_rsa_signature_accepted(stack: Stack) -> None:
    raw = event(stack.location_id)
    status, _ = await _post(stack, raw, {"x-wh-signature": signer().rsa(raw)})
    assert status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ghl-signature": "AAAA"},
        {"x-ghl-signature": signer().ed25519(b"a different body")},
        {"x-wh-signature": signer().rsa(b"a different body")},
    ],
)
async def test_bad_or_missing_signature_is_401_and_nothing_stored(
    stack: Stack, headers: dict[str, str]
) -> None:
    before = await _count(stack)
    status, body = await _post(stack, event(stack.location_id), headers)
    assert status == 401
    assert body["error"]["code"] in ("missing_signature", "bad_signature")
    assert await _count(stack) == before


async def test_duplicate_webhook_id_is_200_and_stored_once(stack: Stack) -> None:
    raw = event(stack.location_id, webhook_id="dup-0001")
    first = await _post(stack, raw, _signed(raw))
    second = await _post(stack, raw, _signed(raw))
    assert first[0] == second[0] == 200
    assert (first[1]["status"], second[1]["status"]) == ("accepted", "duplicate")
    assert first[1]["eventId"] == second[1]["eventId"]
    rows = [e for e in await stack.runtime.inbox.list(limit=500) if e.webhook_id == "dup-0001"]
    assert len(rows) == 1


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-2)])
async def test_stale_timestamp_rejected_and_nothing_stored(stack: Stack, skew: timedelta) -> None:
    before = await _count(stack)
    raw = event(stack.location_id, when=datetime.now(UTC) + skew)
    status, body = await _post(stack, raw, _signed(raw))
    assert status == 400
    assert body["error"]["code"] == "stale_timestamp"
    assert await _count(stack) == before


def _without_webhook_id() -> bytes:
    return json.dumps(
        {"type": "ContactCreate", "timestamp": datetime.now(UTC).isoformat()}
    ).encode()


# Bodies are made when the test runs: a timestamp taken at collection goes stale in a long run.
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (lambda: b"{not json", "invalid_json"),
        (lambda: b"[1,2,3]", "invalid_json"),
        (_without_webhook_id, "missing_webhook_id"),
    ],
    ids=["not-json", "not-an-object", "no-webhook-id"],
)
async def test_malformed_signed_bodies_rejected(
    stack: Stack, body: Callable[[], bytes], reason: str
) -> None:
    raw = body()
    before = await _count(stack)
    status, body = await _post(stack, raw, _signed(raw))
    assert status == 400
    assert body["error"]["code"] == reason
    assert await _count(stack) == before


async def test_oversized_delivery_is_413(stack: Stack) -> None:
    raw = event(stack.location_id, padding="x" * (1024 * 1024))
    status, _ = await _post(stack, raw, _signed(raw))
    assert status == 413


async def test_path_location_must_match_body(stack: Stack) -> None:
    raw = event(stack.location_id)
    status, body = await _post(
        stack, raw, _signed(raw), path=f"/webhooks/ghl/{stack.other_location_id}"
    )
    assert (status, body["error"]["code"]) == (400, "location_mismatch")
    status, _ = await _post(stack, raw, _signed(raw), path=f"/webhooks/ghl/{stack.location_id}")
    assert status == 200


async def test_store_failure_answers_429_so_ghl_redelivers(stack: Stack) -> None:
    writer = stack.runtime.receiver.writer
    original = writer.submit

    async def broken(*_: object) -> tuple[str, bool]:
        raise ConnectionError("database down")

    writer.submit = broken  # type: ignore[method-assign,assignment]
    try:
        raw = event(stack.location_id)
        status, body = await _post(stack, raw, _signed(raw))
    finally:
        writer.submit = original  # type: ignore[method-assign]
    assert (status, body["error"]["code"]) == (429, "store_unavailable")


async def test_uninstall_revokes_the_connection(stack: Stack) -> None:
    raw = event(stack.location_id, type_="UNINSTALL", appId="app")
    status, _ = await _post(stack, raw, _signed(raw))
    assert status == 200

    async def revoked() -> bool:
        conn = await stack.runtime.connections.get_by_resource(stack.location_id)
        return conn is not None and conn.status == "revoked"

    await eventually(revoked)


async def test_ip_allowlist_through_trusted_proxy(stack: Stack) -> None:
    from ghl_bridge.events.receiver import parse_networks

    receiver = stack.runtime.receiver
    receiver._allowlist = parse_networks("198.51.100.0/24")  # type: ignore[attr-defined]
    receiver.trusted_proxies = parse_networks("127.0.0.1/32")
    raw = event(stack.location_id)
    denied = await _post(stack, raw, {**_signed(raw), "X-Forwarded-For": "203.0.113.5"})
    assert (denied[0], denied[1]["error"]["code"]) == (403, "ip_not_allowed")
    allowed = await _post(stack, raw, {**_signed(raw), "X-Forwarded-For": "198.51.100.7"})
    assert allowed[0] == 200
