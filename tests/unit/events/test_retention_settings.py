"""EVENT_RETENTION_DAYS: its default, its bounds, and that 0 runs no retention task."""

from __future__ import annotations

import pydantic
import pytest

from ghl_bridge.config import Settings


def test_retention_defaults_to_thirty_days_and_refuses_negative_or_absurd_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().event_retention_days == 30.0
    monkeypatch.setenv("GHL_BRIDGE_EVENT_RETENTION_DAYS", "0")
    assert Settings().event_retention_days == 0.0
    for bad in ("-1", "100000", "soon"):
        monkeypatch.setenv("GHL_BRIDGE_EVENT_RETENTION_DAYS", bad)
        with pytest.raises(pydantic.ValidationError, match="event_retention_days"):
            Settings()
