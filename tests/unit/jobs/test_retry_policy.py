"""A job name's retry policy fills in what an enqueue leaves out, and a job knows when its
attempt is the last (what the webhook processor dead-letters on)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ghl_bridge.config import Settings
from ghl_bridge.jobs.port import DEFAULT_RETRY, Job, RetryPolicy


async def _ignore(_: Any) -> None:
    return None


def _job(attempt: int, max_attempts: int | None) -> Job:
    return Job(
        id="j", name="n", data={}, attempt=attempt, report=_ignore, max_attempts=max_attempts
    )


def test_policy_fills_only_what_the_caller_left_out() -> None:
    policy = RetryPolicy(attempts=10, backoff_s=2.0)
    assert policy.resolve(None, None) == (10, 2.0)
    assert policy.resolve(3, None) == (3, 2.0)
    assert policy.resolve(None, 0.0) == (10, 0.0)
    assert DEFAULT_RETRY.resolve(None, None) == (5, 1.0)  # the port's historical defaults


@pytest.mark.parametrize(
    ("attempt", "max_attempts", "last"),
    [(1, 3, False), (2, 3, False), (3, 3, True), (4, 3, True), (1, 1, True), (9, None, False)],
)
def test_is_last_attempt(attempt: int, max_attempts: int | None, last: bool) -> None:
    assert _job(attempt, max_attempts).is_last_attempt is last


def test_webhook_retry_settings_are_checked() -> None:
    assert Settings().webhook_retry() == (10, 2.0)
    assert Settings(webhook_attempts=1, webhook_backoff_s=0).webhook_retry() == (1, 0.0)
    with pytest.raises(ValidationError):
        Settings(webhook_attempts=0)
    with pytest.raises(ValidationError):
        Settings(webhook_backoff_s=-1)
