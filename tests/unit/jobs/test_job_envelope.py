"""The job row's `data` envelope: split as text when we wrote it, parsed otherwise."""

from __future__ import annotations

import json

import pytest

from ghl_bridge.store.jobs import _unwrap, _wrap


@pytest.mark.parametrize(
    "payload",
    [
        '{"eventId":"evt_1"}',
        '{"note":",\\"backoff_s\\":9}"}',  # our tail inside a string of the payload
        '{"a":{"backoff_s":3},"b":[1,2]}',
        '{"name":"Zoë","ids":[]}',
        "[]",
    ],
)
def test_what_we_wrapped_comes_back_as_written(payload: str) -> None:
    assert _unwrap(_wrap(payload, 2.5)) == (payload, 2.5)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ('{"eventId":"e"}', ('{"eventId":"e"}', 1.0)),  # a bare payload (rows from before)
        ('{"payload":1,"backoff_s":2,"x":3}', ('{"payload":1,"backoff_s":2,"x":3}', 1.0)),
        (
            '{"payload":{"a":1},"x":{"backoff_s":2}}',
            ('{"payload":{"a":1},"x":{"backoff_s":2}}', 1.0),
        ),
        ('{"payload": {"a": 1}, "backoff_s": 4}', ('{"a":1}', 4.0)),  # not our spacing: parsed
    ],
)
def test_anything_else_is_parsed(stored: str, expected: tuple[str, float]) -> None:
    assert _unwrap(stored) == expected
    json.loads(expected[0])
