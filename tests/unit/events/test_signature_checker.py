"""SignatureChecker: the verdicts of `verify_signature`, reached on a worker thread in batches."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator

import pytest
from tests.support.signing import event, signer

from ghl_bridge.errors import WebhookRejected
from ghl_bridge.events.verify import SignatureChecker, WebhookKeys, verify_signature

RAW = event("loc1")


@pytest.fixture(scope="module")
def keys() -> WebhookKeys:
    s = signer()
    return WebhookKeys.parse(s.ed_pem, s.rsa_pem)


@pytest.fixture
async def checker(keys: WebhookKeys) -> AsyncIterator[SignatureChecker]:
    built = SignatureChecker(keys)
    yield built
    built.close()


def _verdict_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("webhook-verify")]


async def test_ed25519_accepted(checker: SignatureChecker) -> None:
    assert await checker.check(RAW, {"x-ghl-signature": signer().ed25519(RAW)}) == "ed25519"


async def test_rsa_accepted_when_no_ed25519_header(checker: SignatureChecker) -> None:
    assert await checker.check(RAW, {"x-wh-signature": signer().rsa(RAW)}) == "rsa"


async def test_bad_ed25519_is_rejected_without_falling_back_to_rsa(
    checker: SignatureChecker,
) -> None:
    headers = {"x-ghl-signature": signer().ed25519(b"other"), "x-wh-signature": signer().rsa(RAW)}
    with pytest.raises(WebhookRejected) as info:
        await checker.check(RAW, headers)
    assert (info.value.status, info.value.reason) == (401, "bad_signature")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ghl-signature": ""},
        {"x-ghl-signature": "not base64!!"},
        {"x-ghl-signature": base64.b64encode(b"short").decode()},
        {"x-ghl-signature": base64.b64encode(b"x" * 64).decode()},
        {"x-wh-signature": base64.b64encode(b"x" * 256).decode()},
        {"x-wh-signature": "not base64!!"},
        {"x-ghl-signature": "", "x-wh-signature": ""},
    ],
)
async def test_rejections_match_verify_signature(
    checker: SignatureChecker, keys: WebhookKeys, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookRejected) as expected:
        verify_signature(RAW, headers, keys)
    with pytest.raises(WebhookRejected) as info:
        await checker.check(RAW, headers)
    assert (info.value.status, info.value.reason) == (401, expected.value.reason)


async def test_a_signature_over_other_bytes_is_rejected(checker: SignatureChecker) -> None:
    other = event("loc2")
    for headers in (
        {"x-ghl-signature": signer().ed25519(other)},
        {"x-wh-signature": signer().rsa(other)},
    ):
        with pytest.raises(WebhookRejected) as info:
            await checker.check(RAW, headers)
        assert (info.value.status, info.value.reason) == (401, "bad_signature")


async def test_no_keys_configured_fails_closed() -> None:
    checker = SignatureChecker(WebhookKeys.parse("", ""))
    try:
        with pytest.raises(WebhookRejected) as info:
            await checker.check(RAW, {"x-ghl-signature": signer().ed25519(RAW)})
        assert (info.value.status, info.value.reason) == (401, "missing_signature")
    finally:
        checker.close()


async def test_concurrent_checks_each_get_their_own_verdict(checker: SignatureChecker) -> None:
    bodies = [event(f"loc{n}") for n in range(60)]
    cases: list[tuple[bytes, dict[str, str], str]] = []
    for n, raw in enumerate(bodies):
        kind = n % 4
        if kind == 0:
            cases.append((raw, {"x-ghl-signature": signer().ed25519(raw)}, "ed25519"))
        elif kind == 1:
            cases.append((raw, {"x-wh-signature": signer().rsa(raw)}, "rsa"))
        elif kind == 2:  # a good signature, but of the neighbour's body
            cases.append(
                (raw, {"x-ghl-signature": signer().ed25519(bodies[n - 1])}, "bad_signature")
            )
        else:
            cases.append((raw, {}, "missing_signature"))

    verdicts = await asyncio.gather(
        *(checker.check(raw, headers) for raw, headers, _ in cases), return_exceptions=True
    )

    for verdict, (_, _, expected) in zip(verdicts, cases, strict=True):
        if isinstance(verdict, WebhookRejected):
            assert (verdict.status, verdict.reason) == (401, expected)
        else:
            assert verdict == expected


async def test_checks_run_off_the_event_loop_and_close_stops_the_thread(
    keys: WebhookKeys,
) -> None:
    before = set(_verdict_threads())
    checker = SignatureChecker(keys)
    assert await checker.check(RAW, {"x-ghl-signature": signer().ed25519(RAW)}) == "ed25519"
    started = [t for t in _verdict_threads() if t not in before]
    assert len(started) == 1
    assert started[0] is not threading.current_thread()

    checker.close()
    started[0].join(timeout=5)
    assert not started[0].is_alive()
    with pytest.raises(RuntimeError):
        await checker.check(RAW, {"x-ghl-signature": signer().ed25519(RAW)})
