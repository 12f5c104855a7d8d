"""Every way the receiver refuses a delivery, over HTTP against the running service: the status
GHL sees, the stable code, and that nothing was stored (no inbox row, no queued job).

The basics (a bad or missing signature, ±6 min timestamps, `{not json`, the size cap by
Content-Length, a store failure) live in test_webhooks_api.py; this file covers the rest.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from prometheus_client import REGISTRY
from sqlalchemy import text
from tests.support.signing import Signer, event, signer
from tests.support.stack import Stack, running_stack

from ghl_bridge.events.receiver import client_address, parse_networks
from ghl_bridge.store.db import make_engine, make_sessionmaker
from ghl_bridge.store.inbox_writer import InboxEntry, InboxSaturated, InboxWriter
from ghl_bridge.store.migrate import upgrade

MB = 1024 * 1024


async def _stored(stack: Stack) -> tuple[int, int]:
    """(inbox rows, queued webhook jobs) — what a refusal must leave unchanged."""
    async with stack.runtime.engine.connect() as conn:
        events = (await conn.execute(text("SELECT count(*) FROM webhook_events"))).scalar_one()
        jobs = (
            await conn.execute(text("SELECT count(*) FROM jobs WHERE name = 'webhook.process'"))
        ).scalar_one()
    return int(events), int(jobs)


async def _post(
    stack: Stack,
    raw: bytes,
    headers: dict[str, str],
    path: str = "/webhooks/ghl",
) -> tuple[int, dict]:  # type: ignore[type-arg]
    resp = await stack.http.post(
        stack.api_url + path, content=raw, headers={"Content-Type": "application/json", **headers}
    )
    return resp.status_code, resp.json()


def _ed(raw: bytes, key: Signer | None = None) -> dict[str, str]:
    return {"x-ghl-signature": (key or signer()).ed25519(raw)}


async def _refused(
    stack: Stack, raw: bytes, headers: dict[str, str], status: int, code: str, path: str = ""
) -> None:
    before = await _stored(stack)
    got = await _post(stack, raw, headers, "/webhooks/ghl" + path)
    assert (got[0], got[1]["error"]["code"]) == (status, code), got
    assert await _stored(stack) == before  # nothing stored, nothing queued


def _outcomes(outcome: str) -> float:
    return REGISTRY.get_sample_value("ghl_webhooks_received_total", {"outcome": outcome}) or 0.0


@pytest.fixture
async def held(stack: Stack) -> Stack:
    """The stack with its first location held by a tenant (events of it are stored)."""
    await stack.connected_tenant("acme")
    return stack


# --- size ---------------------------------------------------------------------------------------


async def test_oversized_chunked_body_is_413_without_content_length(held: Stack) -> None:
    raw = event(held.location_id, padding="x" * (MB + 10))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    before = await _stored(held)
    resp = await held.http.post(held.api_url + "/webhooks/ghl", content=chunks(), headers=_ed(raw))
    assert "content-length" not in resp.request.headers
    assert (resp.status_code, resp.json()["error"]["code"]) == (413, "too_large")
    assert await _stored(held) == before


# --- signatures: wrong key, bad encoding, no RSA fallback -----------------------------------------


def _stranger() -> Signer:
    return Signer(ed25519.Ed25519PrivateKey.generate(), rsa.generate_private_key(65537, 2048))


async def test_signature_by_a_key_we_do_not_trust_is_401(held: Stack) -> None:
    raw = event(held.location_id)
    stranger = _stranger()
    await _refused(held, raw, _ed(raw, stranger), 401, "bad_signature")
    await _refused(held, raw, {"x-wh-signature": stranger.rsa(raw)}, 401, "bad_signature")


@pytest.mark.parametrize(
    "signature",
    [
        "not base64 at all!",
        base64.b64encode(b"\0" * 63).decode(),  # Ed25519 signatures are 64 bytes
        base64.b64encode(b"\0" * 64).decode(),
        "",
    ],
)
async def test_malformed_ed25519_signature_is_401(held: Stack, signature: str) -> None:
    raw = event(held.location_id)
    code = "missing_signature" if not signature else "bad_signature"
    await _refused(held, raw, {"x-ghl-signature": signature}, 401, code)


async def test_bad_ed25519_is_not_rescued_by_a_good_rsa_signature(held: Stack) -> None:
    raw = event(held.location_id)
    headers = {"x-ghl-signature": _stranger().ed25519(raw), "x-wh-signature": signer().rsa(raw)}
    await _refused(held, raw, headers, 401, "bad_signature")


async def test_signature_over_other_bytes_of_the_same_json_is_401(held: Stack) -> None:
    """Verification is over the raw bytes: re-serialised JSON with the same meaning fails."""
    raw = event(held.location_id)
    respaced = json.dumps(json.loads(raw), indent=1).encode()
    await _refused(held, respaced, _ed(raw), 401, "bad_signature")


async def test_headers_named_in_another_case_still_count(held: Stack) -> None:
    raw = event(held.location_id)
    status, body = await _post(held, raw, {"X-GHL-Signature": signer().ed25519(raw)})
    assert (status, body["status"]) == (200, "accepted")


# --- timestamps ---------------------------------------------------------------------------------


def _body(location: str, **fields: object) -> bytes:
    base: dict[str, object] = {
        "type": "ContactCreate",
        "locationId": location,
        "id": "c1",
        "webhookId": str(uuid.uuid4()),
    }
    return json.dumps({**base, **fields}).encode()


def _in(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


# Stamps are made when the test runs, not when the suite is collected: a run longer than the
# ±5 minute window would otherwise bring "10 minutes ahead" inside it.
@pytest.mark.parametrize(
    ("stamp", "code"),
    [
        (lambda: int(_in(-10).timestamp() * 1000), "stale_timestamp"),
        (lambda: int(_in(10).timestamp()), "stale_timestamp"),
        (lambda: _in(60).isoformat(), "stale_timestamp"),
        (lambda: "2026-01-01T00:00:00", "bad_timestamp"),  # no timezone: ambiguous, refused
        (lambda: "yesterday", "bad_timestamp"),
        (lambda: None, "missing_timestamp"),
        (lambda: [1, 2], "missing_timestamp"),
    ],
    ids=[
        "millis-10min-ago",
        "seconds-10min-ahead",
        "iso-1h-ahead",
        "naive",
        "words",
        "none",
        "list",
    ],
)
async def test_stale_future_or_unreadable_timestamps_are_400(
    held: Stack, stamp: Callable[[], object], code: str
) -> None:
    value = stamp()
    fields = {} if value is None else {"timestamp": value}
    raw = _body(held.location_id, **fields)
    await _refused(held, raw, _ed(raw), 400, code)


async def test_epoch_millis_inside_the_window_is_accepted(held: Stack) -> None:
    raw = _body(held.location_id, timestamp=int(datetime.now(UTC).timestamp() * 1000))
    status, _ = await _post(held, raw, _ed(raw))
    assert status == 200


# --- malformed bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xff\xfe{}", "invalid_json"),  # not UTF-8
        (b'"just a string"', "invalid_json"),
        (b"", "invalid_json"),
        (b'{"a": NaN', "invalid_json"),
    ],
)
async def test_signed_bodies_that_are_not_a_json_object_are_400(
    held: Stack, raw: bytes, code: str
) -> None:
    await _refused(held, raw, _ed(raw), 400, code)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"webhookId": "w" * 129}, "missing_webhook_id"),
        ({"webhookId": 12345}, "missing_webhook_id"),
        ({"webhookId": ""}, "missing_webhook_id"),
        ({"locationId": "L" * 65}, "invalid_location_id"),
        ({"companyId": "C" * 65}, "invalid_location_id"),
    ],
)
async def test_ids_the_inbox_cannot_hold_are_400(
    held: Stack, fields: dict[str, object], code: str
) -> None:
    base = json.loads(event(held.location_id))
    raw = json.dumps({**base, **fields}).encode()
    await _refused(held, raw, _ed(raw), 400, code)


# --- unknown locations ----------------------------------------------------------------------------


async def test_event_of_a_location_no_tenant_holds_is_404_and_not_stored(held: Stack) -> None:
    """GHL-signed, but nobody connected the location: no tenant could ever see it, so we keep
    none of its data (404, which GHL does not redeliver)."""
    raw = event(held.other_location_id)
    await _refused(held, raw, _ed(raw), 404, "unknown_location")
    raw = _body("", timestamp=datetime.now(UTC).isoformat())  # no location at all
    await _refused(held, raw, _ed(raw), 404, "unknown_location")


async def test_unknown_location_in_the_path_is_404(held: Stack) -> None:
    raw = _body("", timestamp=datetime.now(UTC).isoformat())
    path = f"/{held.other_location_id}"
    await _refused(held, raw, _ed(raw), 404, "unknown_location", path)
    status, _ = await _post(held, raw, _ed(raw), f"/webhooks/ghl/{held.location_id}")
    assert status == 200  # the same body for a held location is stored


async def test_lifecycle_events_are_stored_before_any_connection(stack: Stack) -> None:
    """An INSTALL comes before the connection it starts: stored, for the processor to judge."""
    raw = event("notConnectedYet00001", type_="INSTALL", companyId="someCompany000000001")
    status, body = await _post(stack, raw, _ed(raw))
    assert (status, body["status"]) == (200, "accepted")


async def test_refused_unknown_location_does_not_fail_its_batch_neighbours(held: Stack) -> None:
    """Deliveries share a transaction: an unknown location in the same batch as held ones is
    refused alone."""
    bodies = [event(held.location_id) for _ in range(10)] + [event(held.other_location_id)] * 2
    results = await asyncio.gather(*(_post(held, raw, _ed(raw)) for raw in bodies))
    assert [status for status, _ in results] == [200] * 10 + [404] * 2
    assert len({body["eventId"] for _, body in results[:10]}) == 10


# --- duplicates -------------------------------------------------------------------------------


async def test_duplicates_answer_200_once_stored_and_are_counted(held: Stack) -> None:
    raw = event(held.location_id)
    before = _outcomes("duplicate"), _outcomes("accepted")
    first = await _post(held, raw, _ed(raw))
    stored = await _stored(held)
    again = await asyncio.gather(*(_post(held, raw, _ed(raw)) for _ in range(5)))
    assert first[0] == 200 and all(status == 200 for status, _ in again)
    assert {body["eventId"] for _, body in again} == {first[1]["eventId"]}
    assert {body["status"] for _, body in again} == {"duplicate"}
    assert await _stored(held) == stored  # no second row, no second job
    assert (_outcomes("duplicate"), _outcomes("accepted")) == (before[0] + 5, before[1] + 1)


async def test_concurrent_first_deliveries_of_one_webhook_store_one_row(held: Stack) -> None:
    raw = event(held.location_id)
    before = await _stored(held)
    results = await asyncio.gather(*(_post(held, raw, _ed(raw)) for _ in range(8)))
    assert sorted(body["status"] for _, body in results) == ["accepted"] + ["duplicate"] * 7
    assert await _stored(held) == (before[0] + 1, before[1] + 1)


async def test_rejections_are_counted_by_reason(held: Stack) -> None:
    before = _outcomes("bad_signature")
    raw = event(held.location_id)
    await _refused(held, raw, _ed(raw, _stranger()), 401, "bad_signature")
    assert _outcomes("bad_signature") == before + 1


# --- IP allowlist behind trusted proxies ---------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.9", None, "", "203.0.113.9"),
        ("203.0.113.9", "198.51.100.7", "", "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.2", "198.51.100.7", "10.0.0.0/8", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7, 10.0.0.5", "10.0.0.0/8", "198.51.100.7"),  # proxy chain
        ("10.0.0.2", "203.0.113.1, 198.51.100.7", "10.0.0.0/8", "198.51.100.7"),  # forged left
        ("10.0.0.2", "10.0.0.7", "10.0.0.0/8", "10.0.0.7"),  # only proxies: the first hop
        ("10.0.0.2", "", "10.0.0.0/8", "10.0.0.2"),
        ("::1", "2001:db8::5", "::1/128", "2001:db8::5"),
    ],
)
def test_client_address_reads_forwarded_for_only_through_trusted_proxies(
    peer: str, forwarded: str | None, trusted: str, client: str
) -> None:
    assert client_address(peer, forwarded, parse_networks(trusted)) == client


ALLOWLISTED = {"webhook_ip_allowlist": "198.51.100.0/24", "trusted_proxies": "127.0.0.1/32"}


async def test_ip_allowlist_direct_and_through_the_trusted_proxy(
    sqlite_url: str, tmp_path: Path
) -> None:
    keys = (signer().ed_pem, signer().rsa_pem)
    async with running_stack(
        sqlite_url, tmp_path, extra_webhook_keys=keys, overrides=ALLOWLISTED
    ) as s:
        await s.connected_tenant("acme")
        raw = event(s.location_id)
        await _refused(s, raw, _ed(raw), 403, "ip_not_allowed")  # the peer 127.0.0.1 itself
        forged = {**_ed(raw), "X-Forwarded-For": "198.51.100.7, 203.0.113.5"}
        await _refused(s, raw, forged, 403, "ip_not_allowed")  # rightmost untrusted hop wins
        ok = await _post(s, raw, {**_ed(raw), "X-Forwarded-For": "203.0.113.5, 198.51.100.7"})
        assert ok[0] == 200


async def test_ip_refusal_comes_before_signature_checks(sqlite_url: str, tmp_path: Path) -> None:
    keys = (signer().ed_pem, signer().rsa_pem)
    async with running_stack(
        sqlite_url, tmp_path, extra_webhook_keys=keys, overrides=ALLOWLISTED
    ) as s:
        await _refused(s, b"junk", {}, 403, "ip_not_allowed")


# --- the database is down, or the backlog is past its bound: 429 so GHL redelivers -----------


@pytest.mark.services
async def test_database_down_answers_429_and_recovers(pg_url: str, tmp_path: Path) -> None:
    keys = (signer().ed_pem, signer().rsa_pem)
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    name = urlsplit(dsn).path.lstrip("/")
    admin_dsn = urlsplit(dsn)._replace(path="/postgres").geturl()
    async with running_stack(pg_url, tmp_path, extra_webhook_keys=keys) as s:
        await s.connected_tenant("acme")
        before = await _stored(s)
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            raw = event(s.location_id)
            resp = await s.http.post(s.api_url + "/webhooks/ghl", content=raw, headers=_ed(raw))
            assert resp.status_code == 429
            assert resp.json()["error"]["code"] == "store_unavailable"
            assert resp.headers["Retry-After"] == "60"
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            await admin.close()
        assert await _stored(s) == before
        status, body = await _post(s, raw, _ed(raw))  # GHL's redelivery, once the DB is back
        assert (status, body["status"]) == (200, "accepted")


async def test_writer_refuses_past_its_backlog_bound(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        writer = InboxWriter(make_sessionmaker(engine), max_pending=1)

        def entry(n: int) -> InboxEntry:
            return InboxEntry(
                webhook_id=f"w{n}",
                event_type="INSTALL",
                location_id=None,
                company_id=None,
                payload="{}",
                signature_scheme="ed25519",
                received_at=datetime.now(UTC),
            )

        first = asyncio.ensure_future(writer.submit(entry(1)))
        await asyncio.sleep(0)  # the first is pending: its batch has not committed yet
        with pytest.raises(InboxSaturated):
            await writer.submit(entry(2))
        assert (await first).created
        assert (await writer.submit(entry(2))).created  # room again once the batch committed
    finally:
        await engine.dispose()
