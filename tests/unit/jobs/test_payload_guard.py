"""The enqueue guard: payloads carry ids only, never secrets or records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ghl_bridge.jobs.payload import (
    MAX_PAYLOAD_BYTES,
    check_job_id,
    check_options,
    encode_payload,
)
from ghl_bridge.jobs.port import PayloadRejectedError


def test_a_contract_payload_is_encoded_compactly() -> None:
    data = {
        "tenant": "tnt_1",
        "locationId": "loc_1",
        "action": "contacts.create",
        "input": {"email": "a@example.com", "tags": ["x"]},
        "idempotencyKey": "k-1",
    }
    encoded = encode_payload(data)
    assert json.loads(encoded) == data
    assert ", " not in encoded


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"token": "t"}, "token"),
        ({"refresh_token": "t"}, "refresh_token"),
        ({"input": {"Authorization": "Bearer t"}}, "input.Authorization"),
        ({"input": {"deep": [{"ok": 1}, {"clientSecret": "s"}]}}, "input.deep[1].clientSecret"),
        ({"PassWord": "p"}, "PassWord"),
    ],
)
def test_secret_looking_keys_are_refused_wherever_they_are(data: dict[str, Any], path: str) -> None:
    with pytest.raises(PayloadRejectedError) as refused:
        encode_payload(data)
    assert f"{path!r}" in str(refused.value)


def test_secret_looking_values_under_plain_keys_are_not_inspected() -> None:
    # Only keys are checked: values are ids and free text (a note may say "password reset").
    assert encode_payload({"note": "password reset requested"})


def test_the_size_limit_is_on_the_encoded_bytes() -> None:
    overhead = len('{"b":""}')
    encode_payload({"b": "x" * (MAX_PAYLOAD_BYTES - overhead)})
    with pytest.raises(PayloadRejectedError, match="over the 16384-byte limit"):
        encode_payload({"b": "x" * (MAX_PAYLOAD_BYTES - overhead + 1)})
    with pytest.raises(PayloadRejectedError):
        encode_payload({"b": "é" * (MAX_PAYLOAD_BYTES // 2)})  # 2 bytes each in UTF-8


@pytest.mark.parametrize("data", [{"n": float("nan")}, {"when": object()}, ["not", "a", "mapping"]])
def test_non_json_payloads_are_refused(data: Any) -> None:
    with pytest.raises(PayloadRejectedError):
        encode_payload(data)


@pytest.mark.parametrize("job_id", ["", "12345", "x" * 65])
def test_bad_job_ids_are_refused(job_id: str) -> None:
    with pytest.raises(PayloadRejectedError):
        check_job_id(job_id)


def test_reasonable_job_ids_pass() -> None:
    assert check_job_id("wh:5f0c-evt") == "wh:5f0c-evt"


@pytest.mark.parametrize(
    "options",
    [
        {"delay_s": -1, "attempts": 1, "backoff_s": 1},
        {"delay_s": 0, "attempts": 0, "backoff_s": 1},
        {"delay_s": 0, "attempts": 1, "backoff_s": -0.5},
    ],
)
def test_nonsensical_options_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        check_options(**options)  # type: ignore[arg-type]
