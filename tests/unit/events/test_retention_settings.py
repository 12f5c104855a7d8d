"""EVENT_RETENTION_DAYS and AUDIT_RETENTION_DAYS: their defaults and bounds."""

from __future__ import annotations

import pydantic
import pytest

from ghl_bridge.config import Settings


@pytest.mark.parametrize(("name", "default"), [("event", 30.0), ("audit", 90.0)])
def test_retention_defaults_and_refuses_negative_or_absurd_values(
    monkeypatch: pytest.MonkeyPatch, name: str, default: float
) -> None:
    field, env = f"{name}_retention_days", f"GHL_BRIDGE_{name.upper()}_RETENTION_DAYS"
    assert getattr(Settings(), field) == default
    monkeypatch.setenv(env, "0")
    assert getattr(Settings(), field) == 0.0
    for bad in ("-1", "100000", "soon"):
        monkeypatch.setenv(env, bad)
        with pytest.raises(pydantic.ValidationError, match=field):
            Settings()
