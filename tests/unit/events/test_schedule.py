"""The outbound retry schedule, its jitter, and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from ghl_bridge.config import Settings
from ghl_bridge.events.schedule import (
    DEFAULT_SCHEDULE,
    job_id,
    next_delay,
    parse_schedule,
    retry_after_s,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_default_schedule_spans_hours() -> None:
    steps = parse_schedule(DEFAULT_SCHEDULE)
    assert steps == (5, 300, 1800, 7200, 18000, 36000)
    assert sum(steps) / 3600 > 17  # about 17.5 hours before a delivery is dead


@pytest.mark.parametrize("text", ["", "5", "5x", "5s,,5m", "-1s", "25h", ",".join(["1s"] * 21)])
def test_malformed_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_settings_validate_the_schedule() -> None:
    assert Settings(outbound_retry_schedule="0s,100ms").outbound_retry_schedule == "0s,100ms"
    with pytest.raises(ValueError):
        Settings(outbound_retry_schedule="soon")


def test_jitter_is_bounded_and_injected() -> None:
    steps = parse_schedule("10s,1m")
    assert next_delay(steps, 1, lambda: 0.0) == pytest.approx(8.0)
    assert next_delay(steps, 1, lambda: 1.0) == pytest.approx(12.0)
    assert next_delay(steps, 2, lambda: 0.5) == pytest.approx(60.0)


def test_schedule_ends_in_none() -> None:
    steps = parse_schedule("1s,2s")
    assert next_delay(steps, 2, lambda: 0.5) == pytest.approx(2.0)
    assert next_delay(steps, 3, lambda: 0.5) is None  # 3 attempts in all, then dead
    assert next_delay(steps, 0, lambda: 0.5) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        ("999999", 86400.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after(header: str | None, expected: float | None) -> None:
    assert retry_after_s(header, NOW) == expected


def test_job_id_changes_with_the_generation() -> None:
    assert job_id("dlv_abc", 1) != job_id("dlv_abc", 2)
